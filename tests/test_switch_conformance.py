"""One conformance suite for every switch driver and every netmiko switch profile (NAPALM's shared getter
tests are the model): the same assertions run over all of them.

* signatures: each driver's public methods accept what :class:`drivers.base.SwitchDriver` promises;
* reads on recorded outputs: every one of the 8 profiles reads ports and the MAC table from outputs of
  real devices (ntc-templates recordings) or, where none exist, from vendor-reference layouts
  (``tests/fixtures/vendor_ref/README.md`` says which);
* error mapping: a rejected command is a ``DriverError``, an unknown port ``NotFound``, an answer that
  yields no port an error naming ``device_type`` (never an empty list), a MAC table we cannot read an
  error (never "no MACs here");
* changes: the profile's own commands reach the session, with the port name the switch's config mode wants;
* bounded time: a switch that stops answering ends the call with ``TimedOut`` after ``timeout`` and the
  abandoned call sends nothing more and does not reconnect;
* read-back semantics against the simulators (real netmiko + fake IOS/ProCurve CLI): a change reads back.

The SNMP driver runs against a real snmpd (read-back, a frozen agent); its full behaviour is in
``tests/test_switch_snmp.py``.
"""

from __future__ import annotations

import inspect
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notaus.drivers import netmiko_switch
from notaus.drivers.base import DriverError, NotFound, SwitchDriver, TimedOut
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts, SimPort
from notaus.drivers.snmp_switch import SnmpSwitchDriver
from notaus.drivers.switch_profiles import PROFILES

FIX = Path(__file__).parent / "fixtures"
NTC = FIX / "ntc"
REF = FIX / "vendor_ref"

#: per profile: command -> recorded (ntc) or vendor-reference output; one existing access port
RECORDED: dict[str, tuple[dict[str, Path], str]] = {
    "cisco_ios": ({
        "show interfaces status":
            NTC / "cisco_ios/show_interfaces_status/cisco_ios_show_interfaces_status_with_keywords_in_name.raw",
        "show mac address-table": NTC / "cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table.raw",
        "show interfaces Fa0/1 switchport":
            NTC / "cisco_ios/show_interfaces_switchport/cisco_ios_show_interfaces_switchport.raw",
    }, "Fa0/1"),
    "cisco_s300": ({
        "show interfaces configuration": REF / "cisco_s300/show_interfaces_configuration.txt",
        "show interfaces status": NTC / "cisco_s300/show_interfaces_status/cisco_s300_show_interfaces_status.raw",
        "show mac address-table":
            NTC / "cisco_s300/show_mac_address-table/cisco_s300_show_mac_address-table.raw",
        "show interfaces switchport gi1":
            NTC / "cisco_s300/show_interfaces_switchport/cisco_s300_show_interfaces_switchport.raw",
    }, "gi1"),
    "hp_procurve": ({
        "show interfaces brief": NTC / "hp_procurve/show_interfaces_brief/show_interfaces_brief_stack.raw",
        "show mac-address": NTC / "hp_procurve/show_mac-address/hp_procurve_show_mac-address2.raw",
        "show interfaces status": NTC / "hp_procurve/show_interfaces_status/show_interfaces_status3.raw",
    }, "1/1"),
    "aruba_aoscx": ({
        "show interface": NTC / "aruba_aoscx/show_interface/show_interface.raw",
        "show mac-address-table": NTC / "aruba_aoscx/show_mac-address-table/show_mac-address-table.raw",
    }, "1/1/3"),
    "netgear_prosafe": ({
        "show port all": REF / "netgear_prosafe/show_port_all.txt",
        "show vlan port all": REF / "netgear_prosafe/show_vlan_port_all.txt",
        "show mac-addr-table": REF / "netgear_prosafe/show_mac-addr-table.txt",
    }, "0/1"),
    "ubiquiti_edgeswitch": ({
        "show port all": REF / "ubiquiti_edgeswitch/show_port_all.txt",
        "show vlan port all": REF / "ubiquiti_edgeswitch/show_vlan_port_all.txt",
        "show mac-addr-table": REF / "ubiquiti_edgeswitch/show_mac-addr-table.txt",
    }, "0/1"),
    "tplink_jetstream": ({
        "show interface configuration": REF / "tplink_jetstream/show_interface_configuration.txt",
        "show interface status": REF / "tplink_jetstream/show_interface_status.txt",
        "show mac address-table all": REF / "tplink_jetstream/show_mac_address-table_all.txt",
    }, "Gi1/0/1"),
    "linux": ({
        "ip -j link show": REF / "linux/ip_-j_link_show.txt",
        "bridge -j vlan show": REF / "linux/bridge_-j_vlan_show.txt",
        "bridge -j fdb show": REF / "linux/bridge_-j_fdb_show.txt",
    }, "ws1"),
}


def test_every_profile_is_in_the_suite() -> None:
    assert set(RECORDED) == set(PROFILES)


# ------------------------------------------------------------------------------ a replaying session
class _Transport:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active

    def close(self) -> None:
        self.active = False


class _Channel:
    def __init__(self) -> None:
        self.transport = _Transport()

    @property
    def closed(self) -> bool:
        return not self.transport.active

    def get_transport(self) -> _Transport:
        return self.transport


class RecordedSession:
    """Stands in for netmiko's connection object: answers show commands with recorded outputs.

    Change commands are recorded; ``answer`` overrides outputs, ``block`` makes every call hang
    until released (a frozen switch).
    """

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = dict(outputs)
        self.sent: list[str] = []
        self.block = threading.Event()
        self.blocking = False
        self.remote_conn = _Channel()
        self.base_prompt = "switch"

    def _wait(self) -> None:
        if self.blocking:
            self.block.wait(30)
            if not self.remote_conn.transport.active:
                raise OSError("Socket is closed")

    def send_command(self, command: str, **_: Any) -> str:
        self._wait()
        self.sent.append(command)
        if command.endswith("echo __notaus_rc=$?"):
            return "__notaus_rc=0"
        return self.outputs.get(command, "% Invalid input detected at '^' marker.")

    def send_command_timing(self, command: str, **_: Any) -> str:
        return self.send_command(command)

    def send_config_set(self, commands: list[str], **_: Any) -> str:
        self._wait()
        self.sent.extend(commands)
        return "\n".join(self.outputs.get(c, "") for c in commands)

    def check_enable_mode(self) -> bool:
        return True

    def enable(self) -> str:
        return ""


@pytest.fixture(params=sorted(RECORDED))
def recorded(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[NetmikoSwitchDriver, list[RecordedSession], str]]:
    files, port = RECORDED[request.param]
    outputs = {cmd: path.read_text() for cmd, path in files.items()}
    sessions: list[RecordedSession] = []

    def connect(**params: Any) -> RecordedSession:
        assert params["device_type"] == PROFILES[request.param].device_type
        sessions.append(RecordedSession(outputs))
        return sessions[-1]

    monkeypatch.setattr(netmiko_switch, "ConnectHandler", connect)
    driver = NetmikoSwitchDriver("sw", "192.0.2.1", user="u", password="p", timeout=1.5,
                                 options={"device_type": request.param})
    yield driver, sessions, port
    driver.close()


def test_reads_ports_from_recorded_output(recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, _sessions, port = recorded
    driver.open()
    ports = {p.name: p for p in driver.ports(include_macs=False)}
    assert port in ports
    for p in ports.values():
        assert isinstance(p.admin_up, bool) and isinstance(p.oper_up, bool)
        assert p.vlan is None or 1 <= p.vlan <= 4094
        assert not p.oper_up or p.admin_up, f"{p.name}: link up on a shut port"
    assert any(not p.oper_up for p in ports.values()) or any(p.oper_up for p in ports.values())


def test_reads_mac_table_from_recorded_output(
        recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, _sessions, _port = recorded
    table = driver.mac_table()
    assert table, "every recording here holds MAC entries"
    for e in table:
        assert len(e.mac) == 17 and e.mac == e.mac.lower() and e.mac.count(":") == 5
        assert e.port
        assert e.vlan is None or 1 <= e.vlan <= 4094


def test_port_vlan_is_an_int_or_honestly_unknown(
        recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, _sessions, port = recorded
    vlan = driver.port_vlan(port)
    assert vlan is None or 1 <= vlan <= 4094
    if PROFILES[driver.profile.device_type].vlan_reader is not None or driver.profile.device_type in (
            "netgear_prosafe", "ubiquiti_edgeswitch", "linux", "aruba_aoscx"):
        assert vlan is not None, "this profile reads the VLAN; release depends on it"


def test_changes_send_the_profile_commands(recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, sessions, port = recorded
    driver.open()
    driver.port_down(port)
    sent = sessions[-1].sent
    cfg_port = driver.profile.config_port(port)
    down = [c.format(port=cfg_port) for c in driver.profile.port_down]
    assert all(any(s.startswith(c) for s in sent) for c in down), sent
    sessions[-1].sent.clear()
    driver.set_port_vlan(port, 999)
    assert any("999" in s for s in sessions[-1].sent)


def test_unknown_port_is_not_found_and_nothing_is_sent(
        recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, sessions, _port = recorded
    driver.open()
    with pytest.raises(NotFound):
        driver.port_down("Nope9/9/9")
    assert not any("Nope" in s for s in sessions[-1].sent)


def test_rejected_command_is_a_driver_error(recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, sessions, _port = recorded
    driver.open()
    reader = driver.profile.port_readers[0].command
    error = "RTNETLINK answers: Operation not permitted" if driver.profile.device_type == "linux" else \
        "% Invalid input detected at '^' marker."
    sessions[-1].outputs[reader] = error
    with pytest.raises(DriverError, match="rejected|understood|read|permitted"):
        driver.ports()


def test_no_ports_read_is_an_error_naming_device_type(
        recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, sessions, _port = recorded
    driver.open()
    sessions[-1].outputs[driver.profile.port_readers[0].command] = "[]" if driver.profile.device_type == "linux" \
        else "\n"
    with pytest.raises(DriverError, match="0 ports read.*device_type"):
        driver.ports()


@pytest.mark.timeout(30)
def test_frozen_switch_ends_the_call_and_nothing_runs_on(
        recorded: tuple[NetmikoSwitchDriver, list[RecordedSession], str]) -> None:
    driver, sessions, port = recorded
    driver.open()
    session = sessions[-1]
    session.blocking = True
    with pytest.raises(TimedOut, match=f"within {driver.timeout:g} s") as err:
        driver.port_down(port)
    assert err.value.kind == "timeout"
    assert "may or may not have been applied" in str(err.value)
    sent_at_verdict, connects = list(session.sent), len(sessions)
    session.block.set()                      # the frozen switch wakes up after the verdict
    time.sleep(0.3)
    assert session.sent == sent_at_verdict, "the abandoned call sent commands after the verdict"
    assert len(sessions) == connects, "the abandoned call reconnected in the background"


@pytest.mark.timeout(30)
def test_frozen_login_ends_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    made: list[RecordedSession] = []

    def hanging_connect(**_: Any) -> RecordedSession:
        release.wait(30)
        made.append(RecordedSession({}))
        return made[-1]

    monkeypatch.setattr(netmiko_switch, "ConnectHandler", hanging_connect)
    driver = NetmikoSwitchDriver("sw", "192.0.2.1", user="u", password="p", timeout=1,
                                 options={"device_type": "cisco_ios"})
    with pytest.raises(TimedOut, match=r"while connecting\); nothing was changed"):
        driver.port_down("Gi1/0/1")
    release.set()
    deadline = time.monotonic() + 5
    while not made and time.monotonic() < deadline:
        time.sleep(0.02)
    assert made and not made[0].remote_conn.transport.active, "a login finished late must be closed at once"
    assert driver._conn is None


# ------------------------------------------------------------------------------------- signatures
DRIVERS = [NetmikoSwitchDriver, SnmpSwitchDriver]
METHODS = [name for name, fn in inspect.getmembers(SwitchDriver, inspect.isfunction)
           if not name.startswith("_") and name not in ("supports",)]


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", METHODS)
def test_signature_accepts_what_the_base_promises(cls: type[SwitchDriver], method: str) -> None:
    base = inspect.signature(getattr(SwitchDriver, method))
    mine = inspect.signature(getattr(cls, method))
    base_params = list(base.parameters.values())
    my_params = list(mine.parameters.values())
    for i, p in enumerate(base_params):
        assert i < len(my_params) and my_params[i].name == p.name, f"{cls.__name__}.{method}{mine} vs {base}"
    for extra in my_params[len(base_params):]:
        assert extra.default is not inspect.Parameter.empty, f"{cls.__name__}.{method}: {extra.name} needs a default"
    assert base.return_annotation == mine.return_annotation or mine.return_annotation != inspect.Signature.empty


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda c: c.__name__)
def test_capabilities_match_implemented_methods(cls: type[SwitchDriver]) -> None:
    needs = {"port": ("port_down", "port_up", "ports"), "vlan": ("set_port_vlan",), "mac_table": ("mac_table",),
             "save": ("save",)}
    for cap in cls.capabilities:
        for method in needs.get(cap, ()):
            assert getattr(cls, method) is not getattr(SwitchDriver, method), f"{cls.__name__} claims {cap}"


# --------------------------------------------------------------------- read-back against the simulators
SIMULATED = {"cisco_ios": ("ios", ["Gi1/0/1", "Gi1/0/2"]), "hp_procurve": ("procurve", ["1", "2"])}


@pytest.fixture(params=sorted(SIMULATED))
def simulated(request: pytest.FixtureRequest) -> Iterator[tuple[NetmikoSwitchDriver, MemoryPorts, list[str]]]:
    dialect, names = SIMULATED[request.param]
    backend = MemoryPorts({names[0]: SimPort(macs=["aa:bb:cc:00:00:01"], description="PC connected Dose 3",
                                             vlan=20),
                           names[1]: SimPort(macs=["aa:bb:cc:00:00:02"], description="Reserve disabled 2019")})
    server = FakeSwitchServer(backend, dialect=dialect)
    driver = NetmikoSwitchDriver("sw", "127.0.0.1", port=server.port, user="admin", password="secret", timeout=3,
                                 options={"device_type": request.param})
    driver.open()
    yield driver, backend, names
    driver.close()
    server.close()


def test_changes_read_back_with_descriptions_holding_status_words(
        simulated: tuple[NetmikoSwitchDriver, MemoryPorts, list[str]]) -> None:
    driver, backend, names = simulated
    pc, other = names
    assert driver.port_vlan(pc) == 20
    driver.port_down(pc)
    states = {p.name: p for p in driver.ports(include_macs=False)}
    assert backend.ports[pc].admin_up is False
    assert states[pc].admin_up is False and states[pc].oper_up is False
    assert states[other].admin_up is True and states[other].oper_up is True
    driver.port_up(pc)
    assert driver.port_state(pc).admin_up is True
    driver.set_port_vlan(pc, 999)
    assert backend.ports[pc].vlan == 999 and driver.port_vlan(pc) == 999
    driver.set_port_vlan(pc, 20)
    assert driver.port_vlan(pc) == 20


# ------------------------------------------------------------------ the SNMP driver against a real snmpd
@pytest.fixture
def snmp_switch() -> Iterator[tuple[SnmpSwitchDriver, Any]]:
    from tests.lab.switch_servers import RW_COMMUNITY, LoopbackSnmpd, snmpd_unavailable_reason

    reason = snmpd_unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = LoopbackSnmpd({1: {"name": "ws1", "ifindex": 11, "pvid": 20, "macs": ["aa:bb:cc:00:00:01"]},
                            2: {"name": "ws2", "ifindex": 12, "macs": ["aa:bb:cc:00:00:02"]}})
    driver = SnmpSwitchDriver("sw", "127.0.0.1", port=server.port, timeout=2,
                              options={"snmp": {"version": "2c", "community": RW_COMMUNITY}})
    driver.open()
    yield driver, server
    driver.close()
    try:
        os.kill(server.proc.pid, signal.SIGCONT)
    finally:
        server.close()


def test_snmp_changes_read_back(snmp_switch: tuple[SnmpSwitchDriver, Any]) -> None:
    driver, server = snmp_switch
    assert driver.port_vlan("ws1") == 20
    driver.port_down("ws1")
    states = {p.name: p for p in driver.ports(include_macs=False)}
    assert states["ws1"].admin_up is False and states["ws2"].admin_up is True
    assert server.read_state()["ports"]["1"]["admin"] == 2          # the agent's own state: down
    driver.port_up("ws1")
    driver.set_port_vlan("ws1", 999)
    assert driver.port_vlan("ws1") == 999


@pytest.mark.timeout(60)
def test_snmp_frozen_agent_is_a_timeout_not_retried(snmp_switch: tuple[SnmpSwitchDriver, Any]) -> None:
    driver, server = snmp_switch
    os.kill(server.proc.pid, signal.SIGSTOP)
    with pytest.raises(TimedOut, match=f"within {driver.timeout:g} s") as err:
        driver.port_down("ws1")
    assert err.value.kind == "timeout"
