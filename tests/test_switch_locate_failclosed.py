"""Locate and port guards fail closed: an empty or unreadable MAC table never counts as "no MACs here",
a search where no switch answered never says "MAC in no table", and texts follow ``language``."""

from __future__ import annotations

from notaus.controller.locate import guard_from_driver, locate_mac, port_guard
from tests.test_switch_locate import ROUTER, WS, TableSwitch


def test_empty_table_is_not_searched_and_guard_refuses() -> None:
    empty = TableSwitch("sw1", [])
    loc = locate_mac(WS, {"sw1": empty}, {}, {ROUTER}, None)
    assert loc.code == "not_searched" and not loc.found
    assert "Kein Switch konnte durchsucht werden" in (loc.reason or "") and "leer" in loc.not_searched["sw1"]
    why = guard_from_driver(empty, "Gi1/0/5", router_macs=[ROUTER])
    assert why is not None and "leer oder wurde nicht verstanden" in why


def test_one_empty_switch_does_not_hide_the_port_on_another() -> None:
    loc = locate_mac(WS, {"a": TableSwitch("a", []), "b": TableSwitch("b", [(WS, "7"), (ROUTER, "24")])},
                     {"b": {"24"}}, {ROUTER}, None)
    assert (loc.switch, loc.port, loc.code) == ("b", "7", "found")
    assert "a" in loc.not_searched


def test_no_switch_answered_is_not_reported_as_mac_not_found() -> None:
    loc = locate_mac(WS, {"a": TableSwitch("a", None), "b": TableSwitch("b", None)}, {}, {ROUTER}, None, lang="en")
    assert loc.code == "not_searched"
    assert loc.reason is not None and loc.reason.startswith("No switch could be searched")
    assert "is in no MAC address table" not in loc.reason


def test_texts_follow_language() -> None:
    assert port_guard("sw", "24", uplinks=["24"], lang="en") == \
        "Port 24 on sw is configured as an uplink and is never shut."
    assert port_guard("sw", "24", uplinks=["24"]) == \
        "Port 24 an sw ist als Uplink eingetragen und wird nie abgeschaltet."
    macs = [f"02:00:00:00:00:{i:02x}" for i in range(6)]
    assert "probably another switch" in (port_guard("sw", "3", macs_on_port=macs, lang="en") or "")
    loc = locate_mac(WS, {"a": TableSwitch("a", [(ROUTER, "1")])}, {}, {ROUTER}, None, lang="en")
    assert loc.code == "not_found" and (loc.reason or "").startswith(f"The MAC {WS} is in no MAC address table")
