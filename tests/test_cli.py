"""The ``notaus`` command line contract: config resolution, --json, --yes, exit codes, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.conftest import HOSTS

ROOT = Path(__file__).resolve().parents[1]


def write_policy(tmp_path: Path, port: int, *, password_line: str = "password_file: fritz.pass") -> Path:
    (tmp_path / "fritz.pass").write_text("geheim\n")
    hosts = "\n".join(f"  - {{name: {h['name']}, ip: {h['ip']}, mac: \"{h['mac']}\", role: {h['role']}"
                      + (", protected: true" if h.get("protected") else "") + "}" for h in HOSTS)
    path = tmp_path / "policy.yaml"
    path.write_text(f"""controller: {{state_dir: state}}
devices:
  - name: fritzbox
    driver: fritzbox
    address: 127.0.0.1
    port: {port}
    user: notaus
    {password_line}
hosts:
{hosts}
""")
    return path


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("NOTAUS_CONFIG", None) if env is None or "NOTAUS_CONFIG" not in env else None
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", *args], capture_output=True, text=True,
                          env=full_env, input=stdin, timeout=60, cwd=ROOT)


def test_panic_status_restore_json_and_exit_codes(fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    p = run("--config", str(policy), "panic", "--yes", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["outcome"] == "done" and doc["exit_code"] == 0
    # the state dir is relative to the policy file, not to the working directory
    assert (tmp_path / "state" / "journal.sqlite").exists()

    s = run("status", "--json", env={"NOTAUS_CONFIG": str(policy)})
    status = json.loads(s.stdout)
    assert status["contained"] is True
    dev = status["devices"][0]
    assert set(dev) >= {"name", "driver", "reachable", "wan", "wlan", "blocked_hosts", "ports_down"}
    assert dev["wan"] == "down" and dev["wlan"] == "off"
    assert isinstance(status["isolations"], list)

    r = run("--config", str(policy), "restore", "--reason", "clean", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["outcome"] == "done"
    v = run("--config", str(policy), "journal", "verify", "--json")
    assert v.returncode == 0 and json.loads(v.stdout)["ok"] is True


def test_panic_without_yes_and_without_terminal_does_nothing(fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    p = run("--config", str(policy), "panic", "--json", stdin="")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["error"] == "confirmation required"
    assert any(w["code"] == "phones" for w in doc["plan"]["warnings"])
    assert fritz_sim.snapshot()["wan"]["status"] == "Connected"


def test_refused_isolation_exits_1(fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    p = run("--config", str(policy), "isolate", "ti-konnektor", "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["outcome"] == "refused"


def test_partial_exits_2(fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    fritz_sim.inject_fault("WLANConfiguration1", "SetEnable", 501, times=100)
    p = run("--config", str(policy), "panic", "--yes", "--json")
    doc = json.loads(p.stdout)
    assert doc["outcome"] == "partial", doc
    assert p.returncode == 2


def test_bad_config_names_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("devices:\n  - name: fritzbox\n    driver: fritzbox\n    address: 192.0.2.1\n    prot: 49000\n")
    p = run("--config", str(policy), "status")
    assert p.returncode == 1
    assert f"{policy}:5: devices[0] (fritzbox).prot: unknown key" in p.stderr


def test_missing_password_file_is_clear(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, 1, password_line="password_file: /nonexistent/fritz.pass")
    p = run("--config", str(policy), "status", "--json")
    assert p.returncode == 1
    assert "cannot read password_file" in json.loads(p.stdout)["detail"]


def test_password_env(fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port, password_line="password_env: FRITZ_PW")
    p = run("--config", str(policy), "status", "--json", env={"FRITZ_PW": "geheim"})
    assert json.loads(p.stdout)["devices"][0]["reachable"] is True


def test_no_config_is_clear() -> None:
    p = run("status")
    assert p.returncode == 1 and "--config" in p.stderr


@pytest.mark.parametrize("cmd", ["panic", "restore", "isolate", "release", "status", "analyze", "serve", "journal"])
def test_documented_commands_exist(cmd: str) -> None:
    p = run(cmd, "--help")
    assert p.returncode == 0, p.stderr
