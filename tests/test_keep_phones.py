"""keep-phones holds: the enforcement pass blocks who is on the router *now*, matched by MAC."""

from __future__ import annotations

from collections.abc import Callable

from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.conftest import HOSTS
from tests.waiting import wait_until

PHONE = next(h for h in HOSTS if h["role"] == "phone")


def _blocked(sim: Tr064Simulator, ip: str) -> bool:
    return sim.state.wan_access(ip)[1] == "denied"


def test_a_device_joining_after_the_panic_is_blocked_by_the_next_enforcement_pass(
        fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port)
    result = engine.panic("keep-phones", actor="test")
    assert result.outcome == "done", result.to_dict()
    assert not _blocked(fritz_sim, PHONE["ip"])
    fritz_sim.state.join_host("192.168.178.77", "02:11:22:33:44:77", "besucher-laptop")
    drifts = engine.enforce()
    assert any(d["what"] == "host_block" and "192.168.178.77" in d["expected"] for d in drifts)
    assert wait_until(lambda: _blocked(fritz_sim, "192.168.178.77"))
    assert engine.status()["contained"] is True
    refresh = [e for e in engine.journal.entries() if e.kind == "keep_phones.refresh"]
    assert refresh and refresh[-1].data["added"][0]["mac"] == "02:11:22:33:44:77"
    assert not _blocked(fritz_sim, PHONE["ip"])


def test_a_pc_with_a_new_lease_is_blocked_at_its_new_address(fritz_sim: Tr064Simulator,
                                                             make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port)
    assert engine.panic("keep-phones", actor="test").outcome == "done"
    pc = HOSTS[0]
    fritz_sim.state.join_host("192.168.178.120", pc["mac"], pc["name"])     # back from sleep, new lease
    engine.enforce()
    assert wait_until(lambda: _blocked(fritz_sim, "192.168.178.120"))
    entry = engine.state.desired()["router_blocks"]["192.168.178.120"]
    assert entry["host"] == pc["name"] and entry["mac"] == pc["mac"]


def test_a_kept_phone_is_never_blocked_even_on_an_address_that_was_blocked(
        fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port)
    assert engine.panic("keep-phones", actor="test").outcome == "done"
    blocked_ip = HOSTS[1]["ip"]
    assert wait_until(lambda: _blocked(fritz_sim, blocked_ip))
    # the workstation left; the phone got its address from DHCP
    fritz_sim.state.hosts = [h for h in fritz_sim.state.hosts if h.ip != blocked_ip]
    fritz_sim.state.join_host(blocked_ip, PHONE["mac"], PHONE["name"])
    engine.enforce()
    assert wait_until(lambda: not _blocked(fritz_sim, blocked_ip))
    assert blocked_ip not in engine.state.desired()["router_blocks"]
    engine.enforce()                                     # and a later pass does not block it again
    assert not _blocked(fritz_sim, blocked_ip)


def test_twenty_clients_are_all_blocked_and_verified(make_engine: Callable[..., Engine]) -> None:
    hosts = [{"ip": f"192.168.178.{100 + i}", "mac": f"02:00:00:00:01:{i:02X}", "name": f"pc-{i}"}
             for i in range(20)] + [{k: h[k] for k in ("ip", "mac", "name")} for h in HOSTS]
    sim = Tr064Simulator(user="notaus", password="geheim", hosts=hosts, latency=0.01, hostfilter_delay=0.1).start()
    try:
        engine = make_engine(sim.port)
        result = engine.panic("keep-phones", actor="test")
        blocks = [d for d in result.devices if d.action == "block_host"]
        assert result.outcome == "done"
        assert {d.target for d in blocks} >= {h["ip"] for h in hosts[:20]}
        assert all(d.outcome == "done" for d in blocks)
        assert not _blocked(sim, PHONE["ip"])
    finally:
        sim.stop()


def test_full_panic_switches_wan_and_every_wlan_side_by_side(make_engine: Callable[..., Engine]) -> None:
    """Not a timing: the box sees the WLAN calls arrive together (three WLANs, 20 ms per call)."""
    sim = Tr064Simulator(user="notaus", password="geheim", hosts=[{k: h[k] for k in ("ip", "mac", "name")}
                                                                   for h in HOSTS], latency=0.02).start()
    try:
        engine = make_engine(sim.port)
        sim.max_inflight = 0
        result = engine.panic("full", actor="test")
        assert result.outcome == "done"
        assert [n.enabled for n in sim.state.wlans] == [False, False, False]
        assert sim.max_inflight >= 3
    finally:
        sim.stop()
