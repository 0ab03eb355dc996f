"""``notaus sniff`` outside the lab: FRITZ!Box credentials from the policy device, and a full run of
the real CLI against a local HTTP server speaking the FRITZ!Box login and capture protocol."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from notaus.controller.detection.cli import fritz_source
from notaus.policies.schema import Policy

from .test_sources import PASSWORD, FakeFritz

ROOT = Path(__file__).resolve().parents[2]


def _args(url: str | None = "", user: str = "") -> argparse.Namespace:
    return argparse.Namespace(fritzbox=url, fritz_user=user)


def _policy(**box: object) -> Policy:
    device = {"name": "fritzbox", "driver": "fritzbox", "address": "192.168.178.1", "user": "notaus", **box}
    return Policy.model_validate({"devices": [device]})


def test_fritz_source_takes_address_user_and_secret_from_the_policy(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTAUS_FRITZ_PASSWORD", raising=False)
    (tmp_path / "fritz.secret").write_text("aus-datei\n")
    assert fritz_source(_args(), _policy(password_file="fritz.secret"), tmp_path) == \
        ("http://192.168.178.1", "notaus", "aus-datei")
    monkeypatch.setenv("FRITZ_PW", "aus-env")
    assert fritz_source(_args("http://192.168.178.1:8080"), _policy(password_env="FRITZ_PW"), tmp_path) == \
        ("http://192.168.178.1:8080", "notaus", "aus-env")
    # explicit flag and variable win over the policy
    monkeypatch.setenv("NOTAUS_FRITZ_PASSWORD", "vom-aufruf")
    assert fritz_source(_args("http://fritz.box", "admin"), _policy(password="p"), None) == \
        ("http://fritz.box", "admin", "vom-aufruf")


def test_fritz_source_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTAUS_FRITZ_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="--fritzbox http://"):
        fritz_source(_args(), None, None)
    with pytest.raises(ValueError, match="password_file"):
        fritz_source(_args(), _policy(password_file="fehlt.secret"), tmp_path)


@pytest.fixture()
def box() -> Iterator[str]:
    FakeFritz.md5 = False
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeFritz)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _run_sniff(tmp_path: Path, box: str, secret: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "fritz.secret").write_text(secret)
    cfg = tmp_path / "notaus.yaml"
    # port 9 (discard, closed): the engine's TR-064 open fails fast; the capture uses the web port in the URL
    cfg.write_text(json.dumps({
        "controller": {"state_dir": "state"},
        "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": 9,
                     "user": "notaus", "password_file": "fritz.secret", "timeout": 1}],
        "detection": {"response": "ask"}}))
    env = {k: v for k, v in os.environ.items() if k != "NOTAUS_FRITZ_PASSWORD"}
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", "--config", str(cfg), "sniff",
                           "--fritzbox", box,
                           "--seconds", "60", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=90,
                          env=env)


def test_sniff_from_fritzbox_with_policy_secret_detects_and_journals(tmp_path: Path, box: str) -> None:
    res = _run_sniff(tmp_path, box, PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    findings = [json.loads(line) for line in res.stdout.splitlines()]
    top = max(findings, key=lambda f: f["score"])
    assert (top["src"], top["dst"], top["dst_port"], top["kind"]) == ("192.168.178.50", "45.83.10.66", 443, "beacon")
    assert top["score"] >= 0.9 and top["decision"] == "ask"
    assert "Mitschnitt läuft auf FRITZ!Box" in res.stderr and "Mitschnitt beendet" in res.stderr
    assert "80 Pakete" in res.stderr
    from notaus.controller.journal import Journal

    journal = Journal(tmp_path / "state" / "journal.sqlite")
    kinds = [e.kind for e in journal.entries(limit=1000)]
    journal.close()
    assert "detection" in kinds and "detection.decision" in kinds and "isolate.request" not in kinds


def test_sniff_from_fritzbox_with_wrong_policy_secret_fails_with_hint(tmp_path: Path, box: str) -> None:
    res = _run_sniff(tmp_path, box, "falsch")
    assert res.returncode == 1, res.stderr
    error = json.loads(res.stdout.splitlines()[-1])       # --json: the error is a JSON document too
    assert error["error"] == "capture" and "Benutzername/Kennwort prüfen" in error["detail"]
