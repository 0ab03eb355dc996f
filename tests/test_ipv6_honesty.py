"""IPv6: per-host blocks are IPv4 by signature (``DisallowWANAccessByIP(NewIPv4Address, ...)``);
where the LAN has IPv6 the plan, the result, status and doctor say the block is verified for IPv4 only."""

from __future__ import annotations

from collections.abc import Callable

from notaus.controller.doctor import ipv6_lines
from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.conftest import HOSTS


def _sim(ipv6_prefix: str = "") -> Tr064Simulator:
    return Tr064Simulator(user="notaus", password="geheim", ipv6_prefix=ipv6_prefix,
                          hosts=[{k: h[k] for k in ("ip", "mac", "name")} for h in HOSTS]).start()


def test_ipv6_active_is_read_from_the_box_and_said_everywhere(make_engine: Callable[..., Engine]) -> None:
    sim = _sim(ipv6_prefix="2001:db8:1200:3400::")
    try:
        engine = make_engine(sim.port)
        drv = engine.routers()["fritzbox"]
        assert drv.ipv6_lan()["active"] is True  # type: ignore[attr-defined]
        plan = engine.plan_panic("keep-phones")
        assert any("IPv6" in n and "2001:db8:1200:3400::/56" in n for n in plan.notes)
        result = engine.panic("keep-phones", actor="test")
        assert result.outcome == "done"             # every IPv4 block read back
        assert "IPv6 nicht geprüft" in result.message
        status = engine.status()
        assert status["contained"] is False and status["state"] == "teilweise"
        assert any("nur für IPv4" in w for w in status["warnings"])
        [line] = ipv6_lines("fritzbox", drv)
        assert line.status == "warning" and "nicht prüfen" in line.de
    finally:
        sim.stop()


def test_without_ipv6_keep_phones_is_contained_and_doctor_says_ok(make_engine: Callable[..., Engine]) -> None:
    sim = _sim()
    try:
        engine = make_engine(sim.port)
        plan = engine.plan_panic("keep-phones")
        assert not any("IPv6" in n for n in plan.notes)
        assert engine.panic("keep-phones", actor="test").outcome == "done"
        assert engine.status()["contained"] is True
        [line] = ipv6_lines("fritzbox", engine.routers()["fritzbox"])
        assert line.status == "ok"
    finally:
        sim.stop()


def test_full_panic_is_not_hedged_by_ipv6(make_engine: Callable[..., Engine]) -> None:
    """The whole line goes down, IPv6 with it: nothing per-host to be unsure about."""
    sim = _sim(ipv6_prefix="2001:db8:1200:3400::")
    try:
        engine = make_engine(sim.port)
        result = engine.panic("full", actor="test")
        assert result.outcome == "done" and "IPv6" not in result.message
        assert engine.status()["contained"] is True
    finally:
        sim.stop()
