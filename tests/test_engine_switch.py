"""Engine isolation through a switch: real netmiko (cisco_ios) against the fake IOS CLI, plus the
FRITZ!Box simulator; located by MAC, guarded, verified, saved where policy asks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notaus.controller.engine import Engine
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts, SimPort
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import Device, HostEntry
from tests.conftest import practice_policy

ROUTER_MAC = "aa:bb:cc:dd:ee:fe"


@pytest.fixture
def switch() -> Iterator[FakeSwitchServer]:
    backend = MemoryPorts({
        "Gi1/0/1": SimPort(macs=["aa:bb:cc:dd:ee:01"]),                     # empfang-pc
        "Gi1/0/2": SimPort(macs=["aa:bb:cc:dd:ee:02"]),                     # sprechzimmer-1
        "Gi1/0/3": SimPort(macs=["aa:bb:cc:dd:ee:50"]),                     # ti-konnektor
        "Gi1/0/23": SimPort(macs=[ROUTER_MAC]),                             # router, not declared uplink
        "Gi1/0/24": SimPort(macs=["aa:bb:cc:dd:ee:60", "aa:bb:cc:dd:ee:99"]),  # declared uplink
    })
    server = FakeSwitchServer(backend, dialect="ios")
    yield server
    server.close()


@pytest.fixture
def engine(fritz_sim: Tr064Simulator, switch: FakeSwitchServer, tmp_path: Path) -> Iterator[Engine]:
    policy = practice_policy(tmp_path, fritz_sim.port)
    policy.devices.append(Device(name="sw1", driver="netmiko", device_type="cisco_ios", address="127.0.0.1",
                                 port=switch.port, user="admin", password="secret", timeout=3,
                                 uplinks=["Gi1/0/24"], save_config=True))
    policy.hosts.append(HostEntry(name="router-lan", ip="192.168.178.1", mac=ROUTER_MAC, role="router"))
    eng = Engine.from_policy(policy, base_dir=tmp_path)
    yield eng
    eng.close()


def test_isolate_locates_port_by_mac_and_blocks_at_router(engine: Engine, switch: FakeSwitchServer,
                                                        fritz_sim: Tr064Simulator) -> None:
    result = engine.isolate("empfang-pc", actor="test", reason="AV")
    assert result.outcome == "done", result.to_dict()
    steps = {(d.device, d.action, d.target, d.outcome) for d in result.devices}
    assert ("sw1", "port_down", "Gi1/0/1", "done") in steps
    assert ("fritzbox", "block_host", "192.168.178.20", "done") in steps
    assert switch.backend.state("Gi1/0/1").admin_up is False
    assert switch.saves == 1                                     # save_config: true in the policy
    st = engine.status()
    sw = next(d for d in st["devices"] if d["name"] == "sw1")
    assert sw["ports_down"] == ["Gi1/0/1"]

    assert engine.release("empfang-pc", actor="test").outcome == "done"
    assert switch.backend.state("Gi1/0/1").admin_up is True
    assert fritz_sim.snapshot()["host_filter"]["192.168.178.20"]["wan_access"] == "granted"


def test_port_with_router_mac_is_never_shut(engine: Engine, switch: FakeSwitchServer) -> None:
    # a host configured on the router's port (a wrong policy) must not take the practice down
    engine.policy.hosts[0].switch, engine.policy.hosts[0].port = "sw1", "Gi1/0/23"
    result = engine.isolate("empfang-pc", actor="test", method="port")
    assert result.outcome == "refused"
    assert switch.backend.state("Gi1/0/23").admin_up is True


def test_declared_uplink_is_never_shut(engine: Engine, switch: FakeSwitchServer) -> None:
    engine.policy.hosts[1].switch, engine.policy.hosts[1].port = "sw1", "Gi1/0/24"
    result = engine.isolate("sprechzimmer-1", actor="test", method="port")
    assert result.outcome == "refused" and "Uplink" in result.message
    assert switch.backend.state("Gi1/0/24").admin_up is True


def test_mac_seen_only_on_uplink_falls_back_to_router(engine: Engine, switch: FakeSwitchServer,
                                                     fritz_sim: Tr064Simulator) -> None:
    # the phone's MAC is only seen on the uplink: no access port; the router block still isolates it
    engine.policy.hosts[3].role = "workstation"
    result = engine.isolate("telefon-empfang", actor="test")
    assert result.outcome == "done", result.to_dict()
    assert {d.action for d in result.devices} == {"block_host"}
    assert all(p.admin_up for p in (switch.backend.state(n) for n in switch.backend.names()))
    isolate_plan = engine.journal.entries(kind="isolate.plan")[-1].data
    assert any("Uplink" in n or "uplink" in n for n in isolate_plan["notes"]), isolate_plan


def test_enforce_reshuts_a_reenabled_port(engine: Engine, switch: FakeSwitchServer) -> None:
    assert engine.isolate("empfang-pc", actor="test").outcome == "done"
    switch.backend.set_admin("Gi1/0/1", True)                 # someone plugged it back in at the switch
    drifts = engine.enforce()
    assert [(d["what"], d["reapplied"]) for d in drifts] == [("port", "done")]
    assert switch.backend.state("Gi1/0/1").admin_up is False


def test_quarantine_vlan_move_and_back(engine: Engine, switch: FakeSwitchServer, tmp_path: Path) -> None:
    engine.policy.devices[1].quarantine_vlan = 666
    result = engine.isolate("empfang-pc", actor="test", method="vlan")
    assert result.outcome == "done", result.to_dict()
    assert switch.backend.state("Gi1/0/1").vlan == 666
    assert switch.backend.state("Gi1/0/1").admin_up is True
    assert engine.release("empfang-pc", actor="test").outcome == "done"
    assert switch.backend.state("Gi1/0/1").vlan == 1
