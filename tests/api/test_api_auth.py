"""Token store, kiosk enrolment, cookie sessions with CSRF, the token CLI, and TLS serving."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from notaus.api.auth import TokenStore, add_token_parser, hash_token
from notaus.api.serve import start_server
from notaus.api.tls import ensure_self_signed, fingerprint


def _csrf(client: Any) -> str:
    cookie = client.get_cookie("notaus_csrf")
    assert cookie is not None, "every page view sets the CSRF cookie"
    return str(cookie.value)


def test_only_the_hash_is_stored_and_revoke_works(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    token = store.create("staff", "empfang")
    assert store.verify(token) == ("empfang", "staff")
    assert store.verify(token + "x") is None and store.verify("") is None
    raw = (tmp_path / "tokens.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("tokens.sqlite-*"))
    assert token.encode() not in raw
    rows = sqlite3.connect(tmp_path / "tokens.sqlite").execute("SELECT hash FROM tokens").fetchall()
    assert rows == [(hash_token(token),)]
    with pytest.raises(ValueError, match="exists already"):
        store.create("admin", "empfang")
    with pytest.raises(ValueError, match="unknown role"):
        store.create("root", "x")
    assert [t.name for t in store.list()] == ["empfang"]
    assert store.revoke("empfang") and store.verify(token) is None
    store.close()


def test_token_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="notaus")
    add_token_parser(parser.add_subparsers(dest="cmd"))
    db = str(tmp_path / "t.sqlite")

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        return code, capsys.readouterr().out

    code, out = run("token", "create", "--role", "agent", "--name", "wazuh", "--tokens", db)
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert TokenStore(db).verify(token) == ("wazuh", "agent")
    code, out = run("token", "list", "--tokens", db)
    assert "wazuh\tagent" in out and token not in out
    assert run("token", "revoke", "--name", "wazuh", "--tokens", db)[0] == 0
    assert run("token", "revoke", "--name", "wazuh", "--tokens", db)[0] == 1
    code, out = run("token", "kiosk", "--name", "tablet", "--tokens", db)
    assert code == 0 and "/kiosk/enroll?token=" in out


def test_kiosk_enrolment_sets_a_strict_httponly_cookie_once(app: Flask, auth: Any) -> None:
    client = app.test_client()
    made = client.post("/api/v1/kiosk/enrollments", json={"name": "empfang-tablet"}, headers=auth("provider"))
    assert made.status_code == 201
    url = made.get_json()["url"]
    code = url.split("token=")[1]

    tablet = app.test_client()
    page = tablet.get(url)
    assert page.status_code == 200 and b"empfang-tablet" in page.data
    csrf = tablet.get_cookie("notaus_csrf")
    assert csrf is not None
    # link previews only GET: the code is still unused; the POST needs the CSRF value
    assert tablet.post("/kiosk/enroll", data={"token": code}).status_code == 403
    done = tablet.post("/kiosk/enroll", data={"token": code, "csrf": csrf.value})
    assert done.status_code == 303
    set_cookie = [h for h in done.headers.getlist("Set-Cookie") if h.startswith("notaus_session=")][0]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert "Secure" not in set_cookie          # plain HTTP in this test; Secure is set under TLS
    assert tablet.get("/").status_code == 200 and b"panic-button" in tablet.get("/").data
    # one-time: a second tablet cannot reuse the link
    other = app.test_client()
    other.get(url)
    assert other.post("/kiosk/enroll", data={"token": code,
                                             "csrf": _csrf(other)}).status_code == 404


def test_cookie_posts_need_csrf_and_same_origin_but_bearer_does_not(app: Flask, tokens: dict[str, str]) -> None:
    browser = app.test_client()
    browser.get("/login")
    csrf = _csrf(browser)
    login = browser.post("/login", data={"token": tokens["staff"], "csrf": csrf, "next": "/"})
    assert login.status_code == 303
    body = {"done": True}
    assert browser.post("/api/v1/checklist/calm", json=body).status_code == 403
    assert browser.post("/api/v1/checklist/calm", json=body,
                        headers={"X-CSRF-Token": "wrong"}).status_code == 403
    evil = browser.post("/api/v1/checklist/calm", json=body,
                        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.get_json()["error"] == "csrf"
    ok = browser.post("/api/v1/checklist/calm", json=body,
                      headers={"X-CSRF-Token": csrf, "Origin": "http://localhost"})
    assert ok.status_code == 200
    assert browser.get("/api/v1/status").status_code == 200      # reads need no CSRF token
    bearer = app.test_client().post("/api/v1/checklist/calm", json=body,
                                    headers={"Authorization": f"Bearer {tokens['staff']}"})
    assert bearer.status_code == 200


def test_wrong_login_is_rejected_and_rate_limited(app: Flask) -> None:
    app.extensions["notaus"].auth_fail_limiter.limit = 2
    browser = app.test_client()
    browser.get("/login")
    csrf = _csrf(browser)
    codes = [browser.post("/login", data={"token": "guess", "csrf": csrf}).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_tls_self_signed_and_served(tmp_path: Path, engine: Any, tokens: dict[str, str], app: Flask) -> None:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert ensure_self_signed(cert, key, ["localhost", "127.0.0.1"]) is True
    assert ensure_self_signed(cert, key, ["other"]) is False           # never overwrites
    assert key.stat().st_mode & 0o077 == 0
    assert len(fingerprint(cert).split(":")) == 32
    server, thread = start_server(engine, "127.0.0.1:0", cert=cert, key=key, app=app)
    try:
        url = f"https://127.0.0.1:{server.server_port}"
        resp = requests.get(f"{url}/api/v1/status", headers={"Authorization": f"Bearer {tokens['staff']}"},
                            verify=str(cert), timeout=10)
        assert resp.status_code == 200 and resp.json()["state"] == "verbunden"
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{url}/healthz", timeout=10)                 # not trusted without the pinned cert
        page = requests.get(f"{url}/login", verify=str(cert), timeout=10)
        assert "Secure" in page.headers["Set-Cookie"]
    finally:
        server.shutdown()
        thread.join(timeout=5)
