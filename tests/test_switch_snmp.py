"""The SNMP switch driver (pysnmp 7) against a real snmpd on 127.0.0.1 serving a simulated switch.

snmpd answers with the ``bridge_fdb_passpersist`` script in state-file mode; the tests compare
what the driver reports and changes with that independent state file. Needs root (snmpd).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notaus.controller.locate import locate_mac
from notaus.drivers.base import AuthFailed, DriverError, NotFound, Unreachable
from notaus.drivers.snmp_switch import SnmpSwitchDriver
from tests.lab.switch_servers import (
    RW_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    LoopbackSnmpd,
    free_udp_port,
    snmpd_unavailable_reason,
)

WS1, WS2, ROUTER = "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "02:00:00:00:00:fe"
OTHER = "aa:bb:cc:00:00:99"  # a machine behind the uplink (each MAC sits on one port of a switch)
PORTS = {1: {"name": "ws1", "ifindex": 11, "macs": [WS1]},
         2: {"name": "ws2", "ifindex": 12, "pvid": 10, "macs": [WS2]},
         3: {"name": "uplink", "ifindex": 13, "macs": [ROUTER, OTHER]}}
CREDENTIALS = {"v2c": {"version": "2c", "community": RW_COMMUNITY},
               "v3": {"version": "3", "user": V3_USER, "auth_key": V3_AUTH, "priv_key": V3_PRIV}}

pytestmark = pytest.mark.skipif(snmpd_unavailable_reason() is not None,
                                reason=snmpd_unavailable_reason() or "")


@pytest.fixture(scope="module")
def snmpd() -> Iterator[LoopbackSnmpd]:
    server = LoopbackSnmpd(PORTS)
    yield server
    server.close()


@pytest.fixture(params=sorted(CREDENTIALS))
def driver(request: pytest.FixtureRequest, snmpd: LoopbackSnmpd) -> Iterator[SnmpSwitchDriver]:
    snmpd.write_state({"ports": {str(k): dict(v) for k, v in PORTS.items()}})
    d = SnmpSwitchDriver("sw", "127.0.0.1", port=snmpd.port, timeout=2,
                         options={"snmp": CREDENTIALS[request.param], "uplinks": ["uplink"]})
    d.open()
    yield d
    d.close()


def port(snmpd: LoopbackSnmpd, num: int) -> dict[str, Any]:
    return snmpd.read_state()["ports"][str(num)]


def test_open_maps_names_to_ifindex_and_bridge_ports(driver: SnmpSwitchDriver) -> None:
    assert driver.if_index == {"ws1": 11, "ws2": 12, "uplink": 13}
    assert driver.base_port == {11: 1, 12: 2, 13: 3}


def test_ports_and_mac_table(driver: SnmpSwitchDriver) -> None:
    ports = {p.name: p for p in driver.ports()}
    assert ports["ws2"].vlan == 10 and ports["ws1"].vlan == 1
    assert ports["ws1"].admin_up and ports["ws1"].macs == [WS1]
    table = {(e.mac, e.port) for e in driver.mac_table()}
    assert table == {(WS1, "ws1"), (WS2, "ws2"), (ROUTER, "uplink"), (OTHER, "uplink")}


def test_port_down_up_is_applied_and_read_back(driver: SnmpSwitchDriver, snmpd: LoopbackSnmpd) -> None:
    driver.port_down("ws1")
    assert port(snmpd, 1)["admin"] == 2 and port(snmpd, 2).get("admin", 1) == 1
    assert not driver.port_state("ws1").admin_up
    driver.port_up("ws1")
    assert port(snmpd, 1)["admin"] == 1


def test_quarantine_vlan_via_dot1qpvid(driver: SnmpSwitchDriver, snmpd: LoopbackSnmpd) -> None:
    driver.set_port_vlan("ws1", 999)
    assert port(snmpd, 1)["pvid"] == 999
    assert driver.port_state("ws1").vlan == 999


def test_unknown_port_is_not_found(driver: SnmpSwitchDriver) -> None:
    with pytest.raises(NotFound, match="no port 'ws9'"):
        driver.port_down("ws9")


def test_locate_uses_the_snmp_fdb(driver: SnmpSwitchDriver) -> None:
    loc = locate_mac(WS1, {"sw": driver}, {"sw": {"uplink"}}, {ROUTER}, None)
    assert (loc.switch, loc.port) == ("sw", "ws1")
    behind = locate_mac(OTHER, {"sw": driver}, {"sw": set()}, {ROUTER}, None)
    assert not behind.found and behind.code == "only_uplinks"


def test_agent_that_ignores_sets_is_an_error(snmpd: LoopbackSnmpd) -> None:
    snmpd.write_state({"ports": {str(k): dict(v) for k, v in PORTS.items()}, "ignore_sets": True})
    d = SnmpSwitchDriver("sw", "127.0.0.1", port=snmpd.port, timeout=1, options={"snmp": CREDENTIALS["v2c"]})
    try:
        d.open()
        with pytest.raises(DriverError, match="ignores this SNMP write"):
            d.port_down("ws1")
        assert port(snmpd, 1).get("admin", 1) == 1
    finally:
        d.close()
        snmpd.write_state({"ports": {str(k): dict(v) for k, v in PORTS.items()}})


def test_wrong_v3_key_is_auth_failed(snmpd: LoopbackSnmpd) -> None:
    d = SnmpSwitchDriver("sw", "127.0.0.1", port=snmpd.port, timeout=1,
                         options={"snmp": {"version": "3", "user": V3_USER, "auth_key": "wrong-key-123",
                                           "priv_key": V3_PRIV}})
    try:
        with pytest.raises(AuthFailed, match="rejected the credentials"):
            d.open()
    finally:
        d.close()


@pytest.mark.timeout(20)
def test_nothing_listening_is_a_bounded_unreachable() -> None:
    d = SnmpSwitchDriver("sw", "127.0.0.1", port=free_udp_port(), timeout=1,
                         options={"snmp": {"community": "x"}})
    try:
        with pytest.raises(Unreachable, match="check address, that SNMP is enabled and the community"):
            d.open()
    finally:
        d.close()
