"""FritzBoxDriver (real fritzconnection) against the TR-064 simulator: every method, box behaviour, faults."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fritzconnection import FritzConnection

from notaus.drivers.base import AuthFailed, DriverError, Host, NotFound, NotPermitted, Telephony, Unreachable, WlanNet
from notaus.drivers.fritzbox import FritzBoxDriver
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.waiting import wait_until

USER, PASSWORD = "notaus", "geheim-123"
HOSTS = [{"ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01", "name": "empfang-pc"},
         {"ip": "192.168.178.31", "mac": "aa:bb:cc:dd:ee:31", "name": "labor-laptop", "interface": "802.11",
          "active": False}]




def make_sim(**kwargs: object) -> Tr064Simulator:
    params: dict[str, object] = dict(user=USER, password=PASSWORD, hosts=HOSTS, numbers=["0301111", "0302222",
                                     "0303333"], phones=["Empfang"], restricted_users={"nurlesen": "lesen-123"},
                                     reconnect_delay=0.2, hostfilter_delay=0.15, reboot_delay=0.2)
    params.update(kwargs)
    return Tr064Simulator(**params).start()  # type: ignore[arg-type]


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    box = make_sim()
    yield box
    box.stop()


def make_driver(sim: Tr064Simulator, tmp_path: Path, *, user: str = USER, password: str = PASSWORD,
                timeout: float = 2.0, **options: object) -> FritzBoxDriver:
    return FritzBoxDriver("fritzbox", "127.0.0.1", port=sim.port, user=user, password=password, timeout=timeout,
                          options={"cache_dir": str(tmp_path / "cache"), **options})


@pytest.fixture
def driver(sim: Tr064Simulator, tmp_path: Path) -> Iterator[FritzBoxDriver]:
    drv = make_driver(sim, tmp_path)
    drv.open()
    yield drv
    drv.close()


# ------------------------------------------------------------------------------------ WAN
def test_cut_wan_stays_down_and_restore_brings_it_back(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    assert driver.wan_status() == "up"
    memo = driver.cut_wan()
    assert memo == {"trigger": "AlwaysOn", "service": "WANPPPConnection1"}
    assert driver.wan_status() == "down"
    time.sleep(sim.state.reconnect_delay * 3)        # past the moment the box would redial by itself
    assert driver.wan_status() == "down"
    assert driver.wan_trigger() == "Manual"
    driver.restore_wan(memo)
    assert driver.wan_status() in ("connecting", "up")
    assert wait_until(lambda: driver.wan_status() == "up")
    assert driver.wan_trigger() == "AlwaysOn"


def test_force_termination_alone_is_not_enough(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    """Why cut_wan sets the trigger: the naive call lets the box come back by itself."""
    fc = FritzConnection(address="127.0.0.1", port=sim.port, user=USER, password=PASSWORD, timeout=2)
    fc.call_action("WANPPPConnection1", "ForceTermination")
    assert driver.wan_status() == "down"
    assert wait_until(lambda: driver.wan_status() == "up")


def test_restore_uses_the_remembered_trigger(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    sim.state.set_trigger("OnDemand")
    memo = driver.cut_wan()
    assert memo["trigger"] == "OnDemand"
    driver.restore_wan(memo)
    assert wait_until(lambda: driver.wan_status() == "up")
    assert driver.wan_trigger() == "OnDemand"


@pytest.mark.parametrize("memo", [None, {}, {"trigger": "Manual", "service": "WANPPPConnection1"}])
def test_restore_without_usable_memo_means_always_on(driver: FritzBoxDriver, memo: dict[str, str] | None) -> None:
    driver.cut_wan()
    driver.cut_wan()   # a second cut remembers "Manual"; restoring that would keep the practice offline
    driver.restore_wan(memo)
    assert wait_until(lambda: driver.wan_status() == "up")
    assert driver.wan_trigger() == "AlwaysOn"


def test_wan_over_ip_connection_service(tmp_path: Path) -> None:
    box = make_sim(wan_service="WANIPConnection1")
    try:
        drv = make_driver(box, tmp_path)
        drv.open()
        assert drv.cut_wan()["service"] == "WANIPConnection1"
        assert drv.wan_status() == "down" and box.state.wan.trigger == "Manual"
        drv.close()
    finally:
        box.stop()


def test_panic_path_does_no_discovery_and_stays_authenticated(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    served = sim.documents_served
    before = sim.calls.copy()
    driver.cut_wan()
    driver.wan_status()
    assert sim.documents_served == served
    assert sim.calls - before == {"WANPPPConnection1.GetInfo": 1, "WANPPPConnection1.SetConnectionTrigger": 1,
                                  "WANPPPConnection1.ForceTermination": 1, "WANPPPConnection1.GetStatusInfo": 1}


def test_second_open_uses_the_description_cache(sim: Tr064Simulator, driver: FritzBoxDriver,
                                                tmp_path: Path) -> None:
    served = sim.documents_served
    again = make_driver(sim, tmp_path)
    again.open()
    try:
        assert sim.documents_served == served
        assert again.wan_status() == "up"
    finally:
        again.close()


def test_stale_cache_from_other_firmware_is_reloaded(sim: Tr064Simulator, tmp_path: Path) -> None:
    first = make_driver(sim, tmp_path)
    first.open()
    first.close()
    served = sim.documents_served
    sim.actions.firmware = "154.07.57"    # the box got a firmware update since the cache was written
    again = make_driver(sim, tmp_path)
    again.open()
    try:
        assert sim.documents_served > served
    finally:
        again.close()


def test_reboot_drift_is_visible_and_driver_recovers(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    driver.cut_wan()
    sim.reboot()                             # invalidates the digest nonce the driver holds
    assert wait_until(lambda: driver.wan_status() == "up")
    assert driver.wan_trigger() == "AlwaysOn"
    driver.cut_wan()
    assert driver.wan_status() == "down"


def test_user_reconnect_during_containment_is_reported(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    driver.cut_wan()
    sim.simulate_user_reconnect()
    assert wait_until(lambda: driver.wan_status() == "up")
    assert driver.cut_wan()["trigger"] == "AlwaysOn"
    assert driver.wan_status() == "down"


# ----------------------------------------------------------------------------- host filter
def test_block_and_unblock_host_asynchronously(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    ip = "192.168.178.20"
    assert driver.host_blocked(ip) is False
    driver.block_host(ip)
    assert driver.host_blocked(ip) is False          # the box has not applied it yet
    assert wait_until(lambda: driver.host_blocked(ip))
    driver.unblock_host(ip)
    assert wait_until(lambda: not driver.host_blocked(ip))
    assert driver.host_blocked("192.168.178.31") is False


def test_unknown_host_is_not_found(driver: FritzBoxDriver) -> None:
    with pytest.raises(NotFound, match="714"):
        driver.block_host("192.168.178.199")
    with pytest.raises(NotFound):
        driver.host_blocked("192.168.178.199")


# ------------------------------------------------------------------------ WLAN, hosts, phones
def test_wlan_off_and_on_everywhere_including_guest(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    assert driver.wlan_status() == [WlanNet(1, "Praxis", True), WlanNet(2, "Praxis", True),
                                    WlanNet(3, "Praxis-Gast", True, guest=True)]
    driver.set_wlan(False)
    assert [w.enabled for w in driver.wlan_status()] == [False, False, False]
    assert [w.enabled for w in sim.state.wlans] == [False, False, False]
    driver.set_wlan(True)
    assert all(w.enabled for w in driver.wlan_status())


def test_hosts_from_the_host_list(driver: FritzBoxDriver) -> None:
    assert driver.hosts() == [
        Host(ip="192.168.178.20", mac="aa:bb:cc:dd:ee:01", name="empfang-pc", active=True, interface="Ethernet"),
        Host(ip="192.168.178.31", mac="aa:bb:cc:dd:ee:31", name="labor-laptop", active=False, interface="802.11"),
    ]


def test_telephony_numbers_and_phones(driver: FritzBoxDriver) -> None:
    assert driver.telephony() == Telephony(numbers=["0301111", "0302222", "0303333"], phones=["Empfang"])


def test_check_is_read_only_and_reports_facts(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    before = sim.state.snapshot()
    facts = driver.check()
    assert facts["model"] == "FRITZ!Box 7590" and facts["firmware"] == "154.07.29"
    assert facts["rights"]["BoxAdmin"] == "readwrite"
    assert facts["wan"] == "up" and facts["trigger"] == "AlwaysOn"
    assert sim.state.snapshot()["wan"]["trigger"] == before["wan"]["trigger"]
    assert all(not name.split(".")[1].startswith("Set") for name in sim.calls)


# ---------------------------------------------------------------------------------- faults
def test_wrong_password_says_so(sim: Tr064Simulator, tmp_path: Path) -> None:
    drv = make_driver(sim, tmp_path, password="falsch")
    with pytest.raises(AuthFailed, match=f"rejected user '{USER}'.*password"):
        drv.open()


def test_missing_rights_is_606_with_what_to_do(sim: Tr064Simulator, tmp_path: Path) -> None:
    drv = make_driver(sim, tmp_path, user="nurlesen", password="lesen-123")
    drv.open()
    try:
        with pytest.raises(NotPermitted, match="FRITZ!Box Einstellungen"):
            drv.check()
        with pytest.raises(NotPermitted, match="606.*Zugriff für Anwendungen zulassen.*8.25"):
            drv.cut_wan()
        assert sim.state.wan.trigger == "AlwaysOn" and drv.wan_status() == "up"
    finally:
        drv.close()


def test_hanging_box_is_unreachable_within_the_timeout(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    driver.timeout = 0.5
    sim.hang = True
    with pytest.raises(Unreachable, match=f"127.0.0.1:{sim.port}.*did not answer"):
        driver.cut_wan()
    sim.hang = False


def test_hanging_box_at_open(sim: Tr064Simulator, tmp_path: Path) -> None:
    sim.hang = True
    drv = make_driver(sim, tmp_path, timeout=0.3, open_timeout=1.0)
    with pytest.raises(Unreachable, match="Zugriff für Anwendungen zulassen"):
        drv.open()
    sim.hang = False


def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    drv = FritzBoxDriver("fritzbox", "127.0.0.1", port=port, user=USER, password=PASSWORD, timeout=1.0,
                         options={"cache_dir": str(tmp_path)})
    with pytest.raises(Unreachable, match=f"127.0.0.1:{port}"):
        drv.open()


def test_internal_error_is_a_plain_driver_error(sim: Tr064Simulator, driver: FritzBoxDriver) -> None:
    sim.inject_fault("WANPPPConnection1", "SetConnectionTrigger", 820)
    with pytest.raises(DriverError, match="internal error") as info:
        driver.cut_wan()
    assert type(info.value) is DriverError
    assert driver.wan_status() == "up"


def test_capabilities() -> None:
    assert FritzBoxDriver.capabilities == {"wan", "block_host", "wlan", "hosts", "telephony"}
    assert FritzBoxDriver("f", "192.168.178.1").port == 49000
    assert FritzBoxDriver("f", "192.168.178.1", options={"tls": True}).port == 49443
