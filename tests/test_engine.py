"""The engine against the TR-064 simulator through the real fritzconnection client."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from notaus.controller.engine import Engine
from notaus.controller.journal import Journal
from notaus.drivers.base import WanState
from notaus.drivers.sim.tr64 import Tr064Simulator


def kinds(engine: Engine) -> list[str]:
    return [e.kind for e in engine.journal.entries(limit=1000)]


def test_panic_full_cuts_wan_and_wlan_verified(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    result = engine.panic("full", actor="test")
    assert result.outcome == "done", result.to_dict()
    assert {(d.action, d.outcome) for d in result.devices} == {("cut_wan", "done"), ("wlan_off", "done")}
    # the box stays down: its own reconnect (0.3 s after ForceTermination) must not happen with trigger Manual
    time.sleep(0.6)
    snap = fritz_sim.snapshot()
    assert snap["wan"]["status"] == "Disconnected", snap["wan"]
    assert all(not w["enabled"] for w in snap["wlan"]), snap["wlan"]
    status = engine.status()
    assert status["contained"] is True
    assert status["devices"][0]["wan"] == "down"
    k = kinds(engine)
    assert k.index("panic.request") < k.index("panic.plan") < k.index("device.result") < k.index("panic.result")
    assert engine.journal.verify().ok


def test_panic_warns_about_phones_and_ti(engine: Engine) -> None:
    plan = engine.plan_panic("full")
    codes = {w.code for w in plan.warnings}
    assert {"phones", "ti", "remote", "email", "wlan"} <= codes
    phones = next(w for w in plan.warnings if w.code == "phones")
    assert "2 Rufnummer" in phones.de and "0301234567" in phones.de


def test_restore_brings_back_previous_trigger(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    before = fritz_sim.snapshot()["wan"]["trigger"]
    assert engine.panic("full", actor="test").outcome == "done"
    # panic twice must not make "Manual" the trigger to restore
    assert engine.panic("full", actor="test").outcome == "done"
    result = engine.restore(actor="provider", reason="cleaned up")
    assert result.outcome == "done", result.to_dict()
    snap = fritz_sim.snapshot()
    assert snap["wan"]["status"] == "Connected"
    assert snap["wan"]["trigger"] == before
    assert all(w["enabled"] for w in snap["wlan"])
    assert engine.status()["contained"] is False


def test_restore_requires_reason(engine: Engine) -> None:
    assert engine.restore(actor="x", reason=" ").outcome == "refused"


def test_keep_phones_blocks_clients_but_not_phones(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    result = engine.panic("keep-phones", actor="test")
    assert result.outcome == "done", result.to_dict()
    blocked = {d.target for d in result.devices if d.action == "block_host"}
    assert "192.168.178.20" in blocked and "192.168.178.21" in blocked
    assert "192.168.178.60" not in blocked           # the phone keeps its line
    snap = fritz_sim.snapshot()
    assert snap["wan"]["status"] == "Connected"      # the router's own VoIP keeps working
    denied = {ip for ip, d in snap["host_filter"].items() if d["wan_access"] == "denied"}
    assert {"192.168.178.20", "192.168.178.21"} <= denied
    assert "192.168.178.60" not in denied
    assert engine.status()["contained"] is True
    assert engine.restore(actor="p", reason="done").outcome == "done"
    assert all(d["wan_access"] == "granted" for d in fritz_sim.snapshot()["host_filter"].values())


def test_isolate_and_release_at_router(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    result = engine.isolate("aa-bb-cc-dd-ee-01", actor="test", reason="AV alarm")
    assert result.outcome == "done", result.to_dict()
    assert fritz_sim.snapshot()["host_filter"]["192.168.178.20"]["wan_access"] == "denied"
    st = engine.status()
    assert st["isolations"][0]["host"] == "empfang-pc" and st["isolations"][0]["verified"]
    assert st["contained"] is False                   # an isolation is not a practice-wide cut
    assert engine.release("empfang-pc", actor="test").outcome == "done"
    assert fritz_sim.snapshot()["host_filter"]["192.168.178.20"]["wan_access"] == "granted"


def test_protected_host_refused_and_nothing_changes(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    calls_before = sum(fritz_sim.calls.values())
    result = engine.isolate("ti-konnektor", actor="agent:wazuh", source="agent")
    assert result.outcome == "refused" and "protected" in result.message
    assert result.exit_code == 1
    assert sum(fritz_sim.calls.values()) == calls_before
    assert engine.journal.entries(kind="guard.refused")


def test_controller_itself_refused(engine: Engine) -> None:
    result = engine.isolate("192.168.178.2", actor="test")
    assert result.outcome == "refused" and "controller" in result.message


def test_unknown_host_refused(engine: Engine) -> None:
    assert engine.isolate("no-such-pc", actor="t").outcome == "refused"


def test_enforce_recuts_after_reconnect(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    assert engine.panic("full", actor="test").outcome == "done"
    fritz_sim.simulate_user_reconnect()
    deadline = time.monotonic() + 3
    while fritz_sim.snapshot()["wan"]["status"] != "Connected" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.status()["contained"] is False
    drifts = engine.enforce()
    assert drifts and drifts[0]["what"] == "wan" and drifts[0]["reapplied"] == "done"
    assert engine.status()["contained"] is True
    assert engine.journal.entries(kind="drift")


def test_wrong_password_is_a_clear_failure(fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port, password="falsch")
    result = engine.panic("full", actor="test")
    assert result.outcome == "failed"
    assert result.exit_code == 1
    assert all(d.error_kind == "auth_failed" for d in result.devices), result.to_dict()
    assert "password" in result.devices[0].message.lower()
    health = engine.health()
    assert health[0]["ok"] is False and health[0]["kind"] == "auth_failed"


def test_unreachable_router_bounded(tmp_path: Path, make_engine: Callable[..., Engine]) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                       # nothing listens there
    engine = make_engine(port, timeout=0.5)
    t0 = time.monotonic()
    result = engine.panic("full", actor="test")
    assert time.monotonic() - t0 < engine.settings.parallel_timeout + 2
    assert result.outcome == "failed"
    assert result.devices and all(d.outcome == "failed" for d in result.devices)
    assert engine.status()["devices"][0]["reachable"] is False


def test_hanging_router_reported_within_bound(fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port, timeout=0.5)
    fritz_sim.hang = True
    try:
        t0 = time.monotonic()
        result = engine.panic("full", actor="test")
        elapsed = time.monotonic() - t0
    finally:
        fritz_sim.hang = False
    assert result.outcome == "failed"
    assert elapsed < engine.settings.parallel_timeout + 2


def test_missing_rights_reported(fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    fritz_sim.set_restricted("notaus", True)
    engine = make_engine(fritz_sim.port)
    result = engine.panic("full", actor="test")
    assert result.outcome == "failed"
    assert any(d.error_kind == "not_permitted" for d in result.devices)
    assert any("FRITZ!Box Einstellungen" in d.message for d in result.devices)


def test_state_survives_restart_and_is_reasserted(fritz_sim: Tr064Simulator, tmp_path: Path,
                                                 make_engine: Callable[..., Engine]) -> None:
    first = make_engine(fritz_sim.port)
    assert first.panic("full", actor="test").outcome == "done"
    first.close()
    fritz_sim.reboot()                              # box comes back online while notaus is down
    deadline = time.monotonic() + 5
    while fritz_sim.snapshot()["wan"]["status"] != "Connected" and time.monotonic() < deadline:
        time.sleep(0.05)
    second = make_engine(fritz_sim.port)
    drifts = second.reassert()
    assert any(d["what"] == "wan" for d in drifts)
    assert second.status()["contained"] is True
    assert Journal(tmp_path / "state" / "journal.sqlite").verify().ok


def test_speedport_cuts_but_cannot_block_one_host(tmp_path: Path) -> None:
    """A router that cannot block single machines says so; nothing is silently skipped."""
    from notaus.drivers.sim.speedport import SpeedportSimulator
    from notaus.policies.loader import load_policy_text

    with SpeedportSimulator(password="geheim") as sim:
        policy = load_policy_text(f"""
controller: {{state_dir: {tmp_path}/state, verify_timeout: 3}}
devices: [{{name: speedport, driver: speedport, address: 127.0.0.1, port: {sim.port}, password: geheim}}]
hosts: [{{name: pc, ip: 192.168.2.20, mac: "aa:bb:cc:dd:ee:20", role: workstation}}]
""")
        engine = Engine.from_policy(policy)
        try:
            refused = engine.isolate("pc", actor="test")
            assert refused.outcome == "refused" and "cannot block a single machine" in refused.message
            keep = engine.panic("keep-phones", actor="test")
            assert keep.outcome == "refused" and "full" in keep.message
            full = engine.panic("full", actor="test")
            assert full.outcome == "done", full.to_dict()
            assert engine.status()["devices"][0]["wan"] == "down"
        finally:
            engine.close()


def test_enforce_in_the_service_never_undoes_a_cli_restore(fritz_sim: Tr064Simulator,
                                                          make_engine: Callable[..., Engine]) -> None:
    """Two processes' engines on one state dir: the service's slow enforcement pass overlaps a restore
    from the CLI. The operations lock orders them; the practice must end up online, as restore said."""
    import threading

    service, cli = make_engine(fritz_sim.port), make_engine(fritz_sim.port)
    assert cli.panic("full", actor="cli").outcome == "done"
    drv = service.routers()["fritzbox"]
    read_wan = drv.wan_status

    def busy_box_read() -> WanState:     # a busy box answers slowly (retry, re-authentication)
        time.sleep(1.0)
        return read_wan()
    drv.wan_status = busy_box_read        # type: ignore[method-assign]
    out: dict[str, list[dict[str, object]]] = {}
    t = threading.Thread(target=lambda: out.setdefault("drifts", service.enforce()))
    t.start()
    time.sleep(0.2)
    assert cli.restore(actor="cli", reason="clean").outcome == "done"
    t.join()
    drv.wan_status = read_wan             # type: ignore[method-assign]
    time.sleep(0.5)
    assert fritz_sim.snapshot()["wan"]["status"] == "Connected"
    assert not service.state.is_active() and service.enforce() == []
    # and no drift was journaled for the panic the CLI had in flight
    assert not cli.journal.entries(kind="drift")


def test_reboot_seen_before_the_box_dials_again(engine: Engine, fritz_sim: Tr064Simulator) -> None:
    """While down after a reboot the trigger is AlwaysOn again: that is drift already."""
    assert engine.panic("full", actor="test").outcome == "done"
    fritz_sim.state.wan.trigger = "AlwaysOn"       # what a reboot resets; the line is still down
    drifts = engine.enforce()
    assert drifts and drifts[0]["expected"] == "down (trigger Manual)" and drifts[0]["reapplied"] == "done"
    assert fritz_sim.snapshot()["wan"]["trigger"] == "Manual"
