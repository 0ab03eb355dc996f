"""keep-phones with ``keep_voip_clients``, the health job's coverage warnings and ``doctor``'s, on the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from notaus.api.tls import ensure_self_signed
from notaus.controller.cli import main as notaus
from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.conftest import HOSTS

#: a handset registered at the box yesterday, not (yet) in the policy
NEW_PHONE = {"name": "telefon-labor", "ip": "192.168.178.61", "mac": "aa:bb:cc:dd:ee:61"}
KEEP_VOIP = """profiles:
  keep-phones: {cut_wan: false, wlan_off: false, block_clients: true, keep_roles: [phone],
                keep_voip_clients: %s}
"""


@pytest.fixture
def box() -> Iterator[Tr064Simulator]:
    sim = Tr064Simulator(user="notaus", password="geheim",
                         hosts=[{k: h[k] for k in ("name", "ip", "mac")} for h in HOSTS] + [NEW_PHONE],
                         phones=["telefon-empfang", "Telefon Labor"]).start()
    yield sim
    sim.stop()


def blocked_ips(engine: Engine) -> set[str]:
    return {s.target for s in engine.plan_panic("keep-phones").steps if s.action == "block_host"}


def test_keep_voip_clients_keeps_a_handset_the_policy_does_not_name(
        box: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    kept = blocked_ips(make_engine(box.port, extra=KEEP_VOIP % "true"))
    assert "192.168.178.61" not in kept            # registered at the box: kept from day one
    assert "192.168.178.60" not in kept            # phone in the policy
    assert {"192.168.178.20", "192.168.178.21"} <= kept
    without = blocked_ips(make_engine(box.port, extra=KEEP_VOIP % "false"))
    assert "192.168.178.61" in without             # the option is what keeps it


def test_health_journals_coverage_warnings(box: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(box.port)
    engine.health()
    engine.health()   # unchanged: journaled once
    entries = engine.journal.entries(kind="health.coverage")
    assert len(entries) == 1
    warnings = entries[0].data["warnings"]
    assert any("knows telefon-labor" in w for w in warnings)
    assert any("telefon-labor is a VoIP client registered at the router but not a phone" in w for w in warnings)


def test_doctor_warns_about_unclassified_devices_and_missing_konnektor(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sim = Tr064Simulator(user="notaus", password="geheim", phones=["telefon-empfang"], hosts=[
        {"name": "empfang-pc", "ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01"},
        {"name": "telefon-empfang", "ip": "192.168.178.30", "mac": "aa:bb:cc:dd:ee:30"},
        {"name": "box-5", "ip": "192.168.178.5", "mac": "00:1c:19:00:00:05"}]).start()
    ensure_self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", ["notaus.praxis.lan"])
    doc = {"controller": {"state_dir": "./var", "ip": "192.168.178.2"},
           "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": sim.port,
                        "user": "notaus", "password": "geheim", "timeout": 2}],
           "hosts": [{"name": "empfang-pc", "ip": "192.168.178.20"},
                     {"name": "telefon-empfang", "ip": "192.168.178.30", "role": "workstation"}]}
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        notaus(["--config", str(policy), "doctor", "--json", "--cert", str(tmp_path / "cert.pem"),
                "--sniff-seconds", "0.1"])
    finally:
        sim.stop()
    lines = {line["id"]: line for line in json.loads(capsys.readouterr().out)["lines"]}
    assert lines["fritzbox.coverage.voip_not_phone.telefon-empfang"]["status"] == "warning"
    assert lines["fritzbox.coverage.unknown.box-5"]["status"] == "warning"
    konn = lines["fritzbox.coverage.protected_missing.box-5"]
    assert konn["status"] == "warning" and "secunet" in konn["message"]
    assert "policy diff --discover" in konn["advice"]
    assert not any(i.startswith("fritzbox.coverage.unknown.empfang") for i in lines)
