"""Issue 11.7: the smaller holes, each tried as an attacker (or a hurried person) would."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notaus.api.app import create_app
from notaus.api.serve import redact, start_server
from notaus.controller.engine import Engine
from notaus.controller.file_modes import private_umask, tighten
from notaus.controller.incident import IncidentManager
from tests.api.api_practice import practice_policy

ROOT = Path(__file__).resolve().parents[2]


def _login(app: Flask, token: str) -> FlaskClient:
    browser = app.test_client()
    browser.get("/login")
    csrf = browser.get_cookie("notaus_csrf")
    assert csrf is not None
    assert browser.post("/login", data={"token": token, "csrf": csrf.value, "next": "/"}).status_code == 303
    return browser


def _csrf(browser: FlaskClient) -> str:
    c = browser.get_cookie("notaus_csrf")
    assert c is not None
    return c.value


def test_form_body_with_cookie_login_is_refused_not_dropped(app: Flask, tokens: dict[str, str], engine: Any) -> None:
    browser = _login(app, tokens["staff"])
    resp = browser.post("/api/v1/checklist/calm", data={"done": "false", "note": "x"},
                        headers={"X-CSRF-Token": _csrf(browser)})
    assert resp.status_code == 415, resp.get_json()
    assert engine.journal.entries(kind="checklist.tick") == []      # never journaled as "done: true"
    ok = browser.post("/api/v1/checklist/calm", json={"done": False}, headers={"X-CSRF-Token": _csrf(browser)})
    assert ok.status_code == 200 and engine.journal.entries(kind="checklist.tick")[-1].data["done"] is False


def test_logout_ends_the_session_on_the_server(app: Flask, tokens: dict[str, str]) -> None:
    browser = _login(app, tokens["staff"])
    session = browser.get_cookie("notaus_session")
    assert session is not None and session.value != tokens["staff"]   # the cookie never carries the token
    assert browser.get("/api/v1/whoami").status_code == 200
    assert browser.post("/logout", data={"csrf": _csrf(browser)}).status_code == 303
    thief = app.test_client()                                        # a copy of the cookie taken before logout
    thief.set_cookie("notaus_session", session.value)
    assert thief.get("/api/v1/whoami").status_code == 401
    # revoking the token ends its sessions as well
    other = _login(app, tokens["provider"])
    assert app.extensions["notaus"].tokens.revoke("test-provider")
    assert other.get("/api/v1/whoami").status_code == 401


def test_kiosk_code_is_neither_stored_nor_logged(app: Flask, auth: Any, tmp_path: Path, engine: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    made = client.post("/api/v1/kiosk/enrollments", json={"name": "tablet"},
                       headers={**auth("provider"), "Idempotency-Key": "k1"})
    assert made.status_code == 201
    code = made.get_json()["url"].split("token=")[1]
    replay = client.post("/api/v1/kiosk/enrollments", json={"name": "tablet"},
                         headers={**auth("provider"), "Idempotency-Key": "k1"})
    assert replay.status_code == 201 and code not in replay.get_data(as_text=True)
    for db in (tmp_path / "api").glob("*.sqlite*"):
        assert code.encode() not in db.read_bytes(), db
    # the access log of the real server
    server, thread = start_server(engine, app=app)
    try:
        url = f"http://127.0.0.1:{server.server_port}/kiosk/enroll?token={code}"
        with caplog.at_level(logging.INFO, logger="werkzeug"), urllib.request.urlopen(url) as r:
            assert r.status == 200
        logged = "\n".join(rec.getMessage() for rec in caplog.records)
        assert "/kiosk/enroll?token=<redacted>" in logged and code not in logged
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert redact('"GET /kiosk/enroll?token=abc&lang=de HTTP/1.1"') == \
        '"GET /kiosk/enroll?token=<redacted>&lang=de HTTP/1.1"'


def test_service_sets_its_own_umask(tmp_path: Path) -> None:
    """Started by hand with umask 022, the files notaus creates are still private."""
    db = tmp_path / "state" / "tokens.sqlite"
    code = ("import sys; from notaus.controller.cli import main; "
            f"sys.exit(main(['token', 'create', '--role', 'staff', '--name', 'x', '--tokens', {str(db)!r}]))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         preexec_fn=lambda: os.umask(0o022))
    assert res.returncode == 0, res.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    # photos under the service's umask
    previous = private_umask()
    try:
        policy = practice_policy(1, tmp_path / "var")
        engine = Engine.from_policy(policy, base_dir=tmp_path, open_devices=False)
        mgr = IncidentManager.for_engine(engine)
        inc = mgr.open(actor="test")
        mgr.add_file(inc.id, "bild.jpg", b"\xff\xd8\xff photo", actor="test")
        files = [p for p in (tmp_path / "var").rglob("*") if p.is_file()]
        assert files and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in files), \
            [(str(p), oct(p.stat().st_mode)) for p in files]
        engine.close()
    finally:
        os.umask(previous)
    # what an earlier run left world-readable is tightened when serve starts
    old = tmp_path / "old"
    (old / "photos").mkdir(parents=True)
    (old / "photos" / "a.jpg").write_bytes(b"x")
    os.chmod(old / "photos" / "a.jpg", 0o644)
    os.chmod(old / "photos", 0o755)
    changed = tighten(old)
    assert "photos/a.jpg" in changed and "photos" in changed
    assert tighten(old) == []                                       # nothing left to tighten
    assert stat.S_IMODE((old / "photos" / "a.jpg").stat().st_mode) == 0o600
    assert stat.S_IMODE((old / "photos").stat().st_mode) == 0o700


@pytest.mark.parametrize("reason", ["\x00", "\x00\x00\x00", " \x00 ", "\x1b[2J", "\u200b", "\t\n"])
def test_restore_reason_must_be_readable_text(client: FlaskClient, auth: Any, engine: Any, reason: str) -> None:
    resp = client.post("/api/v1/restore", json={"reason": reason}, headers=auth("provider"))
    assert 400 <= resp.status_code < 500, resp.get_json()
    assert engine.journal.entries(kind="restore.request") == []
    assert engine.restore(actor="cli:test", reason=reason).outcome == "refused"


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "1999-12-31T23:59+00:00", "9999-01-01T00:00",
                                  "2999-01-01T00:00+14:00"])
def test_knowledge_at_is_bounded(client: FlaskClient, auth: Any, engine: Any, when: str) -> None:
    opened = client.post("/api/v1/incidents", json={"knowledge_at": when}, headers=auth("staff"))
    assert opened.status_code == 400 and "knowledge_at" in opened.get_json()["detail"], opened.get_json()
    ok = client.post("/api/v1/incidents", json={}, headers=auth("staff"))
    assert ok.status_code in (200, 201), ok.get_json()
    inc = ok.get_json()["id"]
    moved = client.post(f"/api/v1/incidents/{inc}/knowledge", json={"knowledge_at": when}, headers=auth("provider"))
    assert moved.status_code == 400, moved.get_json()
    with pytest.raises(ValueError):
        IncidentManager.for_engine(engine).set_knowledge(inc, when, actor="cli:test")


def test_long_incident_note_is_refused_as_a_long_note(app: Flask, tokens: dict[str, str]) -> None:
    browser = _login(app, tokens["staff"])
    inc = browser.post("/api/v1/incidents", json={}, headers={"X-CSRF-Token": _csrf(browser)}).get_json()["id"]
    for text in ("n" * 6000, "n" * 70_000):
        resp = browser.post(f"/incidents/{inc}/note", data={"text": text, "csrf": _csrf(browser)})
        assert resp.status_code == 303
        where = resp.headers["Location"]
        assert "error=" in where and "note" in where and "photo" not in where.lower() and "MB" not in where, where


def test_status_is_unknown_not_connected_while_the_router_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = Engine.from_policy(practice_policy(port, tmp_path / "var"), base_dir=tmp_path)
    app = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0})
    try:
        assert engine.status()["state"] == "unbekannt"
        token = app.extensions["notaus"].tokens.create("staff", "s")
        doc = app.test_client().get("/api/v1/status", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert doc["state"] == "unbekannt" and doc["state_code"] == "unknown"
        cli = subprocess.run([sys.executable, "-c", "import sys; from notaus.controller.cli import main; "
                              "sys.exit(main(sys.argv[1:]))", "status", "--json"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env={**os.environ, "NOTAUS_CONFIG": _write_policy(tmp_path, port)})
        assert '"verbunden"' not in cli.stdout and '"unbekannt"' in cli.stdout, (cli.stdout, cli.stderr)
    finally:
        app.extensions["notaus"].close()
        engine.close()


def _write_policy(tmp_path: Path, port: int) -> str:
    import yaml

    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(practice_policy(port, tmp_path / "cli-var").model_dump(mode="json")))
    return str(path)


def test_no_plaintext_enrolment_code_in_tokens_db(app: Flask) -> None:
    store = app.extensions["notaus"].tokens
    code = store.create_enrollment("tablet", created_by="t")
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT * FROM enrollments").fetchall()
    assert rows and all(code not in str(r) for r in rows)
