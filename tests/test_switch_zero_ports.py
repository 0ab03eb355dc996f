"""A switch that lets notaus log in but yields no port (wrong device_type, restricted user) is an error
everywhere - doctor, health, status - never "healthy with 0 ports"; real netmiko against the fake IOS CLI
with no ports at all (its status table is only the header)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notaus.controller.doctor import ERR, check_switch
from notaus.controller.engine import Engine
from notaus.drivers.base import DriverError
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import Device
from tests.conftest import practice_policy


@pytest.fixture
def empty_switch() -> Iterator[FakeSwitchServer]:
    server = FakeSwitchServer(MemoryPorts({}), dialect="ios")
    yield server
    server.close()


def _device(server: FakeSwitchServer) -> Device:
    return Device(name="sw1", driver="netmiko", device_type="cisco_ios", address="127.0.0.1", port=server.port,
                  user="admin", password="secret", timeout=3)


def test_driver_refuses_to_report_an_empty_port_list(empty_switch: FakeSwitchServer) -> None:
    drv = NetmikoSwitchDriver("sw1", "127.0.0.1", port=empty_switch.port, user="admin", password="secret",
                              timeout=3, options={"device_type": "cisco_ios"})
    with pytest.raises(DriverError, match="0 ports read from 'show interfaces status'.*device_type 'cisco_ios'"):
        drv.open()
    drv.close()


def test_doctor_rates_zero_ports_as_error_with_advice(empty_switch: FakeSwitchServer) -> None:
    dev = _device(empty_switch)
    drv = NetmikoSwitchDriver("sw1", "127.0.0.1", port=empty_switch.port, user="admin", password="secret",
                              timeout=3, options={"device_type": "cisco_ios"})
    lines = {line.id: line for line in check_switch(dev, drv)}
    drv.close()
    assert lines["sw1.ports"].status == ERR
    assert "0 ports read" in lines["sw1.ports"].en and "device_type (cisco_ios)" in lines["sw1.ports"].advice_en
    assert "sw1.login" not in lines


def test_status_and_health_report_the_switch_as_broken(fritz_sim: Tr064Simulator, empty_switch: FakeSwitchServer,
                                                       tmp_path: Path) -> None:
    policy = practice_policy(tmp_path, fritz_sim.port)
    policy.devices.append(_device(empty_switch))
    eng = Engine.from_policy(policy, base_dir=tmp_path)
    try:
        health = {h["device"]: h for h in eng.health()}
        assert health["sw1"]["ok"] is False and "0 ports read" in health["sw1"]["message"]
        sw = next(d for d in eng.status()["devices"] if d["name"] == "sw1")
        assert sw["reachable"] is False and "0 ports read" in sw["error"]
    finally:
        eng.close()
