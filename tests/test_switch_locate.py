"""Locating a MAC's access port and the port guards (pure logic, plus one run through real netmiko)."""

from __future__ import annotations

from typing import Any

import pytest

from notaus.controller.locate import guard_from_driver, locate_mac, port_guard
from notaus.drivers.base import MacEntry, SwitchDriver, Unreachable
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts, SimPort

WS = "aa:bb:cc:00:00:01"
ROUTER = "02:00:00:00:00:fe"
CTRL = "02:00:00:00:00:c0"


class TableSwitch(SwitchDriver):
    """A switch whose MAC table is given (test helper); ``None`` means it does not answer."""

    def __init__(self, name: str, table: list[tuple[str, str]] | None, **kw: Any) -> None:
        super().__init__(name, "192.0.2.1", **kw)
        self.table = table

    def open(self) -> None:
        pass

    def check(self) -> dict[str, Any]:
        return {}

    def mac_table(self) -> list[MacEntry]:
        if self.table is None:
            raise Unreachable(f"{self.name}: keine Antwort")
        return [MacEntry(mac=m, port=p, vlan=1) for m, p in self.table]


def test_access_port_found_behind_uplinks() -> None:
    core = TableSwitch("core", [(WS, "24"), (ROUTER, "1"), ("02:00:00:00:00:11", "5")])
    edge = TableSwitch("edge", [(WS, "Gi1/0/7"), (ROUTER, "Gi1/0/24"), (WS.upper(), "Gi1/0/7")])
    loc = locate_mac(WS.replace(":", "-"), {"core": core, "edge": edge}, {"core": {"24"}, "edge": set()},
                     {ROUTER}, CTRL)
    assert loc.found and (loc.switch, loc.port) == ("edge", "Gi1/0/7")
    assert any(s.switch == "core" and s.refused and "Uplink" in s.refused for s in loc.sightings)


def test_port_with_router_mac_is_not_an_access_port_even_if_undeclared() -> None:
    sw = TableSwitch("sw", [(WS, "1"), (ROUTER, "1")])
    loc = locate_mac(WS, {"sw": sw}, {"sw": set()}, {ROUTER}, None)
    assert not loc.found and loc.code == "only_uplinks"
    assert "Routers" in (loc.reason or "")


def test_port_with_many_macs_is_refused() -> None:
    many = [(f"aa:bb:cc:00:01:{i:02x}", "3") for i in range(5)] + [(WS, "3")]
    loc = locate_mac(WS, {"sw": TableSwitch("sw", many)}, {}, set(), None, max_macs_access_port=4)
    assert loc.code == "only_uplinks" and "6 Geräte" in (loc.reason or "")
    loc = locate_mac(WS, {"sw": TableSwitch("sw", many)}, {}, set(), None, max_macs_access_port=6)
    assert loc.found and loc.port == "3"


def test_unreachable_switch_does_not_stop_the_search() -> None:
    loc = locate_mac(WS, {"a": TableSwitch("a", None), "b": TableSwitch("b", [(WS, "4")])}, {}, set(), None)
    assert loc.found and (loc.switch, loc.port) == ("b", "4")
    assert set(loc.not_searched) == {"a"}


def test_mac_not_found_anywhere_says_which_switches_were_not_searched() -> None:
    loc = locate_mac(WS, {"a": TableSwitch("a", None), "b": TableSwitch("b", [(ROUTER, "1")])}, {}, set(), None)
    assert not loc.found and loc.code == "not_found"
    assert "keiner MAC-Tabelle" in (loc.reason or "") and "a" in (loc.reason or "").split("durchsucht")[-1]
    assert loc.to_dict()["not_searched"] == {"a": "a: keine Antwort"}


def test_two_access_ports_is_ambiguous() -> None:
    loc = locate_mac(WS, {"a": TableSwitch("a", [(WS, "1")]), "b": TableSwitch("b", [(WS, "2")])}, {}, set(), None)
    assert loc.code == "ambiguous" and not loc.found


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"uplinks": ["9"]}, "Uplink"),
    ({"controller_port": "9"}, "notaus selbst"),
    ({"macs_on_port": [CTRL.upper()], "controller_mac": CTRL}, "notaus selbst"),
    ({"macs_on_port": [ROUTER], "router_macs": [ROUTER]}, "Routers"),
    ({"macs_on_port": [f"aa:00:00:00:00:{i:02x}" for i in range(5)]}, "5 Geräte"),
])
def test_port_guard_reasons(kwargs: dict[str, Any], word: str) -> None:
    reason = port_guard("sw", "9", **kwargs)
    assert reason is not None and word in reason


def test_port_guard_allows_a_plain_access_port() -> None:
    assert port_guard("sw", "9", uplinks=["24"], macs_on_port=[WS], router_macs=[ROUTER], controller_mac=CTRL,
                      controller_port="23") is None


def test_guard_fails_closed_when_the_table_is_unreadable() -> None:
    reason = guard_from_driver(TableSwitch("sw", None), "5")
    assert reason is not None and "nicht lesbar" in reason


def test_locate_through_real_netmiko_and_fake_ios() -> None:
    backend = MemoryPorts({"Gi1/0/1": SimPort(macs=[WS]), "Gi1/0/2": SimPort(macs=[ROUTER, CTRL]),
                           "Gi1/0/3": SimPort(macs=[CTRL])})
    server = FakeSwitchServer(backend, dialect="ios")
    driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=server.port, user="admin", password="secret",
                                 timeout=3, options={"device_type": "cisco_ios", "uplinks": ["Gi1/0/2"],
                                                     "controller_port": "Gi1/0/3"})
    try:
        driver.open()
        loc = locate_mac(WS, {"sw1": driver}, {"sw1": set(driver.uplinks)}, {ROUTER}, CTRL)
        assert (loc.switch, loc.port, loc.vlan) == ("sw1", "Gi1/0/1", 1)
        assert guard_from_driver(driver, "Gi1/0/1", router_macs=[ROUTER], controller_mac=CTRL) is None
        assert "Uplink" in (guard_from_driver(driver, "Gi1/0/2") or "")
        assert "notaus selbst" in (guard_from_driver(driver, "Gi1/0/3", controller_mac=CTRL) or "")
    finally:
        driver.close()
        server.close()
