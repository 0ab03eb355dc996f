"""Release that really releases, guards that fail closed, bounded time - engine + real netmiko + fake IOS CLI.

The fake switch keeps its own port state; every assertion compares with that independent state, never
with what notaus believes.
"""

# ruff: noqa: F811 - pytest fixtures imported from tests/test_engine_switch.py are parameters here

from __future__ import annotations

from pathlib import Path

import pytest

from notaus.controller.engine import Engine
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts
from tests.test_engine_switch import engine, switch  # noqa: F401 - shared fixtures

PC = "Gi1/0/1"


def _backend(server: FakeSwitchServer) -> MemoryPorts:
    assert isinstance(server.backend, MemoryPorts)
    return server.backend


def test_vlan_isolation_reads_the_vlan_before_and_restores_it(engine: Engine, switch: FakeSwitchServer) -> None:
    _backend(switch).ports[PC].vlan = 20
    engine.policy.devices[1].quarantine_vlan = 999
    iso = engine.isolate("empfang-pc", actor="t", method="vlan")
    assert iso.outcome == "done", iso.to_dict()
    assert engine.state.desired()["isolations"]["empfang-pc"]["methods"][0]["previous_vlan"] == 20
    rel = engine.release("empfang-pc", actor="t")
    assert rel.outcome == "done", rel.to_dict()
    assert _backend(switch).ports[PC].vlan == 20
    assert "empfang-pc" not in engine.state.desired()["isolations"]


def test_vlan_method_refused_when_the_vlan_cannot_be_known(engine: Engine, switch: FakeSwitchServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    engine.policy.devices[1].quarantine_vlan = 999
    monkeypatch.setattr(engine.switches()["sw1"], "port_vlan", lambda port: None)
    result = engine.isolate("empfang-pc", actor="t", method="vlan")
    assert result.outcome == "refused"
    assert "cannot be known" in result.message and "options.access_vlan" in result.message
    assert _backend(switch).ports[PC].vlan == 1                       # nothing was moved


def test_policy_access_vlan_is_the_way_back_when_the_switch_does_not_say(
        engine: Engine, switch: FakeSwitchServer, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = engine.policy.devices[1]
    dev.quarantine_vlan = 999
    dev.options["access_vlan"] = 30
    drv = engine.switches()["sw1"]
    real = drv.port_vlan
    # the switch cannot say the VLAN before the move (read-back of the quarantine VLAN still works)
    monkeypatch.setattr(drv, "port_vlan", lambda port: real(port) if _backend(switch).ports[PC].vlan == 999 else None)
    result = engine.isolate("empfang-pc", actor="t", method="vlan")
    assert result.outcome == "done", result.to_dict()
    assert engine.state.desired()["isolations"]["empfang-pc"]["methods"][0]["previous_vlan"] == 30
    monkeypatch.setattr(drv, "port_vlan", real)
    assert engine.release("empfang-pc", actor="t").outcome == "done"
    assert _backend(switch).ports[PC].vlan == 30


def test_release_without_a_known_way_back_keeps_the_isolation(engine: Engine, switch: FakeSwitchServer) -> None:
    engine.policy.devices[1].quarantine_vlan = 999
    assert engine.isolate("empfang-pc", actor="t", method="vlan").outcome == "done"

    def forget_vlan(d: dict) -> None:   # state written by an older notaus that stored no previous VLAN
        d["isolations"]["empfang-pc"]["methods"][0]["previous_vlan"] = None
    engine.state.update(forget_vlan)
    rel = engine.release("empfang-pc", actor="t")
    assert rel.outcome == "failed"
    assert "still in place" in rel.message and "options.access_vlan" in rel.message
    assert _backend(switch).ports[PC].vlan == 999
    assert "empfang-pc" in engine.state.desired()["isolations"]        # never forgotten while in place


@pytest.mark.timeout(60)
def test_release_against_a_hanging_switch_is_not_done_and_not_forgotten(engine: Engine,
                                                                        switch: FakeSwitchServer) -> None:
    engine.policy.hosts[0].switch, engine.policy.hosts[0].port = "sw1", PC
    assert engine.isolate("empfang-pc", actor="t", method="port").outcome == "done"
    switch.hang = True
    rel = engine.release("empfang-pc", actor="t")
    assert rel.outcome == "failed", rel.to_dict()
    assert _backend(switch).ports[PC].admin_up is False
    assert [m["action"] for m in engine.state.desired()["isolations"]["empfang-pc"]["methods"]] == ["port_down"]
    switch.hang = False
    for _ in range(3):   # the switch is back; on a loaded machine a fresh SSH login may need a second try
        rel = engine.release("empfang-pc", actor="t")
        if rel.outcome == "done":
            break
    assert rel.outcome == "done", rel.to_dict()
    assert _backend(switch).ports[PC].admin_up is True
    assert "empfang-pc" not in engine.state.desired()["isolations"]


def test_partial_release_forgets_only_what_was_undone(engine: Engine, switch: FakeSwitchServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine.isolate("empfang-pc", actor="t").outcome == "done"   # port + router block
    fritz = engine.routers()["fritzbox"]

    def broken(ip: str) -> None:
        from notaus.drivers.base import DriverError
        raise DriverError("fritzbox: simulated failure")
    monkeypatch.setattr(fritz, "unblock_host", broken)
    rel = engine.release("empfang-pc", actor="t")
    assert rel.outcome == "partial"
    assert _backend(switch).ports[PC].admin_up is True
    left = engine.state.desired()["isolations"]["empfang-pc"]["methods"]
    assert [m["action"] for m in left] == ["block_host"]                # the port is no longer claimed
    engine.enforce()
    assert _backend(switch).ports[PC].admin_up is True                  # enforce does not re-shut the port


def test_empty_mac_table_refuses_to_shut_blind(engine: Engine, switch: FakeSwitchServer) -> None:
    for p in _backend(switch).ports.values():
        p.macs = []
    engine.policy.hosts[0].switch, engine.policy.hosts[0].port = "sw1", PC
    result = engine.isolate("empfang-pc", actor="t", method="port")
    assert result.outcome == "refused"
    assert "MAC-Tabelle von sw1 ist leer" in result.message
    assert _backend(switch).ports[PC].admin_up is True


def test_guard_messages_follow_language_en(engine: Engine, switch: FakeSwitchServer) -> None:
    engine.settings.language = "en"
    engine.policy.hosts[1].switch, engine.policy.hosts[1].port = "sw1", "Gi1/0/24"
    result = engine.isolate("sprechzimmer-1", actor="t", method="port")
    assert result.outcome == "refused"
    assert "is configured as an uplink and is never shut" in result.message


@pytest.mark.timeout(60)
def test_frozen_switch_isolate_says_nothing_was_searched(engine: Engine, switch: FakeSwitchServer) -> None:
    drv = engine.switches()["sw1"]
    drv.close()
    switch.hang = True
    result = engine.isolate("empfang-pc", actor="t", method="port")
    assert result.outcome == "refused"
    assert "Kein Switch konnte durchsucht werden" in result.message
    assert f"no answer from 127.0.0.1 within {drv.timeout:g} s" in result.message
    assert "steht in keiner MAC-Tabelle" not in result.message    # it was never searched
    # how long it took is a bench figure (bench/bench_switch_frozen.py), not an assertion here


def test_release_of_unknown_host_is_refused(engine: Engine, tmp_path: Path) -> None:
    assert engine.release("nobody", actor="t").outcome == "refused"


@pytest.mark.timeout(60)
def test_status_with_a_frozen_switch_says_the_truth_once(engine: Engine, switch: FakeSwitchServer) -> None:
    engine.status()                       # warm session
    switch.hang = True
    sw = next(d for d in engine.status()["devices"] if d["name"] == "sw1")
    assert sw["reachable"] is False
    assert sw["error"].startswith("sw1: no answer from 127.0.0.1 within 3 s (gave up after")
