"""``notaus doctor`` against the TR-064 simulator with each failure injected: the right line turns red."""

from __future__ import annotations

import json
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from notaus.api.tls import ensure_self_signed  # noqa: E402
from notaus.controller.cli import main as notaus  # noqa: E402
from notaus.controller.doctor import check_certificate, check_disk  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402

HOSTS = [{"ip": "192.168.178.20", "mac": "AA:BB:CC:DD:EE:01", "name": "empfang-pc"}]


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    s = Tr064Simulator(hosts=HOSTS, restricted_users={"nurlesen": "lesen"}).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    ensure_self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", ["notaus.praxis.lan"])
    return tmp_path / "cert.pem"


def write_policy(tmp_path: Path, port: int, user: str = "notaus", password: str = "notaus") -> Path:
    doc = {"practice": "Praxis Doktor", "controller": {"state_dir": "./var", "ip": "192.168.178.2"},
           "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": port,
                        "user": user, "password": password, "timeout": 2}],
           "hosts": [{"name": "empfang-pc", "ip": "192.168.178.20"}]}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def doctor(capsys: pytest.CaptureFixture[str], policy: Path, cert: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = notaus(["--config", str(policy), "doctor", "--json", "--cert", str(cert), "--sniff-seconds", "0.1",
                   *extra])
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == code
    return code, {line["id"]: line for line in doc["lines"]}


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthy_router_all_device_lines_ok(sim: Tr064Simulator, tmp_path: Path, cert: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(capsys, write_policy(tmp_path, sim.port), cert)
    for key in ("fritzbox.reachable", "fritzbox.login", "fritzbox.rights", "fritzbox.host_filter", "certificate",
                "disk", "journal", "capture"):
        assert lines[key]["status"] == "ok", lines[key]
    assert code in (0, 2)          # 2 only if this machine's clock sync cannot be confirmed
    assert all(v["status"] != "error" for v in lines.values())
    calls = sim.snapshot()["calls"]
    assert "X_AVM-DE_HostFilter1.GetWANAccessByIP" in calls            # the rights-bearing read was made
    writes = [c for c in calls if not re.search(r"\.(X_AVM-DE_|X_AVM_DE_|X_)?Get", c)]  # IGD: X_AVM_DE_
    assert writes == [], f"doctor must only read, but called {writes}"


def test_wrong_password_turns_the_login_line_red(sim: Tr064Simulator, tmp_path: Path, cert: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(capsys, write_policy(tmp_path, sim.port, password="falsch"), cert)
    assert code == 1
    assert lines["fritzbox.reachable"]["status"] == "ok"
    assert lines["fritzbox.login"]["status"] == "error"
    assert "Passwort" in lines["fritzbox.login"]["advice"] and "FRITZ!Box-Benutzer" in lines["fritzbox.login"]["advice"]
    assert "fritzbox.rights" not in lines


def test_unreachable_router_turns_the_reachable_line_red(tmp_path: Path, cert: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(capsys, write_policy(tmp_path, free_closed_port()), cert, "--lang", "en")
    assert code == 1
    assert lines["fritzbox.reachable"]["status"] == "error"
    assert "Allow access for applications" in lines["fritzbox.reachable"]["advice"]
    assert "fritzbox.login" not in lines


def test_user_without_rights_turns_the_rights_line_red(sim: Tr064Simulator, tmp_path: Path, cert: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(capsys, write_policy(tmp_path, sim.port, user="nurlesen", password="lesen"), cert)
    assert code == 1
    assert lines["fritzbox.rights"]["status"] == "error"
    assert "FRITZ!Box Einstellungen" in lines["fritzbox.rights"]["advice"]
    assert lines["fritzbox.reachable"]["status"] == "ok"


def test_missing_certificate_is_a_warning_and_expiry_counts_days(tmp_path: Path, cert: Path) -> None:
    assert check_certificate(tmp_path / "none.pem").status == "warning"
    line = check_certificate(cert)
    assert line.status == "ok" and "Tage" in line.de
    assert check_disk(tmp_path).status in ("ok", "warning")


def test_human_output_names_the_failure_and_the_fix(sim: Tr064Simulator, tmp_path: Path, cert: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    policy = write_policy(tmp_path, sim.port, password="falsch")
    code = notaus(["--config", str(policy), "doctor", "--cert", str(cert), "--sniff-seconds", "0.1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FEHLER] fritzbox: Anmeldung fehlgeschlagen" in out and "→ Benutzer „notaus“ und Passwort prüfen" in out
