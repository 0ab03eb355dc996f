"""The Wazuh integration script, run as Wazuh runs it, against a real server and the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from notaus.api.serve import start_server
from notaus.drivers.sim.tr64 import Tr064Simulator

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "wazuh" / "custom-notaus"


@pytest.fixture
def base_url(app: Flask, engine: Any) -> Iterator[str]:
    server, thread = start_server(engine, "127.0.0.1:0", app=app)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _alert(tmp_path: Path, agent_ip: str, level: int = 12, alert_id: str = "1700000000.4711") -> Path:
    alert = {"id": alert_id, "timestamp": "2026-11-28T10:00:00.000+0000",
             "rule": {"id": "87105", "level": level, "description": "VirusTotal: Alert - malicious file",
                      "groups": ["virustotal"]},
             "agent": {"id": "003", "name": "empfang-pc", "ip": agent_ip},
             "location": "virustotal", "full_log": "C:\\Users\\empfang\\invoice.exe flagged by 54 engines"}
    path = tmp_path / f"alert-{alert_id}.json"
    path.write_text(json.dumps(alert))
    return path


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_wazuh_alert_isolates_the_agent_machine_once(tmp_path: Path, base_url: str, tokens: dict[str, str],
                                                      sim: Tr064Simulator, engine: Any) -> None:
    alert = _alert(tmp_path, "192.168.178.20")
    code, out = _run(str(alert), tokens["agent"], base_url)
    assert code == 0 and out["decision"] == "isolated", out
    assert sim.state.wan_access("192.168.178.20")[0] is True
    req = engine.journal.entries(kind="agent.request")[0]
    assert req.data["source"] == "wazuh" and req.data["evidence"]["rule_id"] == "87105"
    # Wazuh retrying the same alert replays the stored answer (same Idempotency-Key)
    code, out = _run(str(alert), tokens["agent"], base_url)
    assert code == 0 and out["decision"] == "isolated"
    assert len(engine.journal.entries(kind="agent.request")) == 1


def test_wazuh_low_level_ignored_protected_refused_bad_token(tmp_path: Path, base_url: str,
                                                             tokens: dict[str, str], sim: Tr064Simulator) -> None:
    assert _run(str(_alert(tmp_path, "192.168.178.21", level=3)), tokens["agent"], base_url) == (0, {})
    code, out = _run(str(_alert(tmp_path, "192.168.178.50", alert_id="2")), tokens["agent"], base_url)
    assert code == 1 and out["status"] == 409 and out["error"] == "refused"
    code, out = _run(str(_alert(tmp_path, "192.168.178.21", alert_id="3")), "wrong", base_url)
    assert code == 1 and out["status"] == 401
    assert not any(sim.state.disallow.values())
