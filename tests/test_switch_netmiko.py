"""The netmiko switch driver through real netmiko against the fake IOS/ProCurve SSH CLI on loopback.

The fake server keeps its own port state (``MemoryPorts``); the tests compare what the driver
reports and changes with that independent state.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notaus.drivers.base import AuthFailed, NotFound, Unreachable
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts, SimPort

DIALECTS = {
    "cisco_ios": ("ios", ["Gi1/0/1", "Gi1/0/2", "Gi1/0/3"]),
    "hp_procurve": ("procurve", ["1", "2", "3"]),
}
WS1 = "aa:bb:cc:00:00:01"
WS2 = "aa:bb:cc:00:00:02"


@pytest.fixture(params=sorted(DIALECTS))
def rig(request: pytest.FixtureRequest) -> Iterator[tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]]:
    dialect, names = DIALECTS[request.param]
    backend = MemoryPorts({names[0]: SimPort(macs=[WS1]), names[1]: SimPort(macs=[WS2], vlan=10),
                           names[2]: SimPort(oper_up=False)})
    server = FakeSwitchServer(backend, dialect=dialect)
    driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=server.port, user="admin", password="secret",
                                 timeout=2, options={"device_type": request.param, "uplinks": [names[2]]})
    driver.open()
    yield driver, server, names
    driver.close()
    server.close()


def test_ports_report_the_device_state(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, _server, names = rig
    ports = {p.name: p for p in driver.ports()}
    assert set(ports) == set(names)
    assert ports[names[0]].admin_up and ports[names[0]].oper_up and ports[names[0]].macs == [WS1]
    assert ports[names[2]].admin_up and not ports[names[2]].oper_up
    if driver.profile.device_type == "cisco_ios":
        assert ports[names[1]].vlan == 10


def test_port_down_and_up_change_the_device(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, names = rig
    backend = server.backend
    assert isinstance(backend, MemoryPorts)
    driver.port_down(names[0])
    assert backend.ports[names[0]].admin_up is False
    assert backend.ports[names[1]].admin_up is True
    state = driver.port_state(names[0])
    assert not state.admin_up and not state.oper_up
    driver.port_up(names[0])
    assert backend.ports[names[0]].admin_up is True
    assert driver.port_state(names[0]).admin_up
    assert server.connections == 1  # warm session reused for every command


def test_set_port_vlan(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, names = rig
    backend = server.backend
    assert isinstance(backend, MemoryPorts)
    driver.set_port_vlan(names[0], 999)
    assert backend.ports[names[0]].vlan == 999
    if driver.profile.device_type == "cisco_ios":
        assert driver.port_state(names[0]).vlan == 999


def test_mac_table_normalises_vendor_spelling(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, _server, names = rig
    table = {(e.mac, e.port, e.vlan) for e in driver.mac_table()}
    assert table == {(WS1, names[0], 1), (WS2, names[1], 10)}


def test_save_runs_the_profile_save_command(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, _names = rig
    driver.save()
    assert server.saves == 1


def test_unknown_port_is_not_found_and_nothing_changes(
        rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, names = rig
    backend = server.backend
    assert isinstance(backend, MemoryPorts)
    with pytest.raises(NotFound, match="no port"):
        driver.port_down("Gi9/9/9")
    assert all(p.admin_up for p in backend.ports.values())


def test_session_that_died_is_reopened_once(rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, names = rig
    for transport in list(server._transports):
        transport.close()
    client = driver._conn.remote_conn.get_transport()
    deadline = time.monotonic() + 5
    while client.is_active() and time.monotonic() < deadline:  # the switch's close reaches us
        time.sleep(0.02)
    driver.port_down(names[1])
    backend = server.backend
    assert isinstance(backend, MemoryPorts)
    assert backend.ports[names[1]].admin_up is False
    assert server.connections == 2


@pytest.mark.timeout(30)
def test_switch_that_hangs_mid_session_gives_bounded_unreachable(
        rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]]) -> None:
    driver, server, names = rig
    server.hang = True
    with pytest.raises(Unreachable, match="no answer from 127.0.0.1 within 2 s") as err:
        driver.port_down(names[0])
    assert err.value.kind == "timeout"
    assert "may or may not have been applied" in str(err.value)
    server.hang = False
    driver.port_down(names[0])  # next call opens a fresh session
    assert server.connections == 2


def test_wrong_password_is_auth_failed() -> None:
    server = FakeSwitchServer(MemoryPorts({"Gi1/0/1": SimPort()}), dialect="ios")
    try:
        driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=server.port, user="admin", password="wrong",
                                     timeout=3, options={"device_type": "cisco_ios"})
        with pytest.raises(AuthFailed, match="refused user 'admin'"):
            driver.open()
        assert server.auth_failures >= 1
    finally:
        server.close()


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=free_port, user="admin", password="x", timeout=2,
                                 options={"device_type": "cisco_ios"})
    with pytest.raises(Unreachable, match="SSH"):
        driver.open()


def test_enable_with_secret_when_login_is_unprivileged() -> None:
    backend = MemoryPorts({"Gi1/0/1": SimPort()})
    server = FakeSwitchServer(backend, dialect="ios", start_privileged=False, enable_secret="en4ble")
    try:
        driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=server.port, user="admin", password="secret",
                                     timeout=3, options={"device_type": "cisco_ios",
                                                         "options": {"secret": "en4ble"}})
        driver.open()
        driver.port_down("Gi1/0/1")
        assert backend.ports["Gi1/0/1"].admin_up is False
        driver.close()
    finally:
        server.close()


def test_session_log_records_commands_with_secrets_masked(tmp_path: Path) -> None:
    backend = MemoryPorts({"Gi1/0/1": SimPort(), "Gi1/0/2": SimPort()})
    server = FakeSwitchServer(backend, dialect="ios", start_privileged=False, enable_secret="en4ble-S3cret")
    try:
        driver = NetmikoSwitchDriver("sw1", "127.0.0.1", port=server.port, user="admin", password="secret",
                                     timeout=3, options={"device_type": "cisco_ios", "options": {
                                         "secret": "en4ble-S3cret", "session_log": str(tmp_path / "{name}.log")}})
        driver.open()
        driver.port_down("Gi1/0/2")
        driver.close()
        log = (tmp_path / "sw1.log").read_text()
        assert "show interfaces status" in log and "interface Gi1/0/2" in log and "shutdown" in log
        assert "en4ble-S3cret" not in log                # the enable secret went over the session, masked
        assert backend.ports["Gi1/0/2"].admin_up is False
    finally:
        server.close()


def test_exit_config_mode_failure_after_an_applied_change_is_left_to_read_back(
        rig: tuple[NetmikoSwitchDriver, FakeSwitchServer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    driver, server, names = rig
    if driver.profile.device_type != "cisco_ios":
        pytest.skip("config-mode exit is an IOS-style session detail")
    conn = driver._conn
    real_exit = conn.exit_config_mode

    def failing_exit(*args: Any, **kwargs: Any) -> str:
        real_exit(*args, **kwargs)
        raise ValueError("Failed to exit configuration mode")
    monkeypatch.setattr(conn, "exit_config_mode", failing_exit)
    driver.port_down(names[0])                          # no internal error: the change went out
    backend = server.backend
    assert isinstance(backend, MemoryPorts)
    assert backend.ports[names[0]].admin_up is False
    assert driver.port_state(names[0]).admin_up is False   # what the engine's read-back sees
