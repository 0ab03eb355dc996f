"""The TR-064 simulator against the real fritzconnection client: API, auth, faults, box behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fritzconnection import FritzConnection
from fritzconnection.core.exceptions import (
    FritzActionError,
    FritzArgumentError,
    FritzAuthorizationError,
    FritzInternalError,
    FritzLookUpError,
    FritzSecurityError,
)
from fritzconnection.core.processor import Scpd
from fritzconnection.core.utils import get_xml_root
from fritzconnection.lib.fritzhosts import FritzHosts
from fritzconnection.lib.fritzstatus import FritzStatus
from fritzconnection.lib.fritzwlan import FritzGuestWLAN, FritzWLAN

from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.drivers.sim.tr64_description import find_description_json
from tests.waiting import wait_until

USER, PASSWORD = "notaus", "geheim-123"
REPO = Path(__file__).resolve().parents[1]


class RecordingEffects:
    """A RouterEffects that remembers what the simulator applied."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def apply_wan(self, up: bool) -> None:
        self.events.append(("wan", up))

    def apply_host_block(self, ip: str, blocked: bool) -> None:
        self.events.append(("host", (ip, blocked)))

    def apply_wlan(self, enabled: bool) -> None:
        self.events.append(("wlan", enabled))




@pytest.fixture
def effects() -> RecordingEffects:
    return RecordingEffects()


@pytest.fixture
def sim(effects: RecordingEffects) -> Iterator[Tr064Simulator]:
    box = Tr064Simulator(user=USER, password=PASSWORD, effects=effects, restricted_users={"nurlesen": "lesen-123"},
                         reconnect_delay=0.2, hostfilter_delay=0.15, reboot_delay=0.2)
    box.start()
    yield box
    box.stop()


@pytest.fixture
def fc(sim: Tr064Simulator) -> FritzConnection:
    return FritzConnection(address="127.0.0.1", port=sim.port, user=USER, password=PASSWORD, timeout=3)


def status(fc: FritzConnection, service: str = "WANPPPConnection1") -> str:
    return str(fc.call_action(service, "GetStatusInfo")["NewConnectionStatus"])


# ---------------------------------------------------------------------------------- the API
def test_fritzconnection_sees_exactly_the_recorded_box_api(fc: FritzConnection) -> None:
    recorded = json.loads(find_description_json().read_text(encoding="utf-8"))
    assert fc.device_manager.serialize() == recorded
    assert fc.modelname == "FRITZ!Box 7590"
    assert fc.system_version == "7.29"
    assert "X_AVM-DE_HostFilter1" in fc.services  # missing in the old shared tr64desc.xml
    assert {"WLANConfiguration1", "WLANConfiguration2", "WLANConfiguration3", "Hosts1", "X_VoIP1"} <= set(fc.services)


def test_every_service_scpd_is_served_and_parses(sim: Tr064Simulator, fc: FritzConnection) -> None:
    assert len(fc.services) == 40
    for name, service in fc.services.items():
        scpd = Scpd(get_xml_root(f"{sim.url}{service.SCPDURL}"))
        assert set(scpd.actions) == set(service.actions), name
        for action_name, action in scpd.actions.items():
            assert list(action.arguments) == list(service.actions[action_name].arguments), (name, action_name)


def test_device_info_and_boxinfo_document(sim: Tr064Simulator, fc: FritzConnection) -> None:
    info = fc.call_action("DeviceInfo1", "GetInfo")
    assert info["NewModelName"] == "FRITZ!Box 7590"
    assert info["NewSoftwareVersion"] == "154.07.29"
    assert isinstance(info["NewUpTime"], int)
    # fritzconnection reads jason_boxinfo.xml from the web port (80) to verify its cache; the sim serves it too
    boxinfo = {el.tag.split("}")[-1]: el.text for el in get_xml_root(f"{sim.url}/jason_boxinfo.xml")}
    assert (boxinfo["Name"], boxinfo["Version"]) == (fc.modelname, fc.device_manager.system_info[-1])


def test_fritzconnection_cache_skips_discovery(sim: Tr064Simulator, tmp_path: Path) -> None:
    FritzConnection(address="127.0.0.1", port=sim.port, user=USER, password=PASSWORD, use_cache=True,
                    cache_directory=tmp_path, verify_cache=False, timeout=3)
    served = sim.documents_served
    assert served == 40 + 2   # 38 distinct SCPDs (three WLANs share one, fetched thrice) + 2 descriptions
    again = FritzConnection(address="127.0.0.1", port=sim.port, user=USER, password=PASSWORD, use_cache=True,
                            cache_directory=tmp_path, verify_cache=False, timeout=3)
    assert sim.documents_served == served
    assert "X_AVM-DE_HostFilter1" in again.services


# ------------------------------------------------------------------------------ auth & faults
def test_control_urls_require_digest_auth(sim: Tr064Simulator) -> None:
    response = requests.post(f"{sim.url}/upnp/control/deviceinfo", data=b"<x/>", timeout=3,
                             headers={"SOAPACTION": "urn:dslforum-org:service:DeviceInfo:1#GetInfo"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Digest realm="F!Box SOAP-Auth"')


def test_igd_status_answers_without_auth_like_the_box(sim: Tr064Simulator) -> None:
    anonymous = FritzConnection(address="127.0.0.1", port=sim.port, timeout=3)
    assert anonymous.call_action("WANIPConn1", "GetStatusInfo")["NewConnectionStatus"] == "Connected"


def test_wrong_password_is_http_401(sim: Tr064Simulator) -> None:
    wrong = FritzConnection(address="127.0.0.1", port=sim.port, user=USER, password="falsch", timeout=3)
    with pytest.raises(FritzAuthorizationError):
        wrong.call_action("DeviceInfo1", "GetInfo")


def test_unknown_action_is_fault_401(fc: FritzConnection) -> None:
    with pytest.raises(FritzActionError, match="401"):
        fc.call_action("DeviceInfo1", "SelfDestruct")


def test_wrong_arguments_are_fault_402(fc: FritzConnection) -> None:
    with pytest.raises(FritzArgumentError, match="402"):
        fc.call_action("WANPPPConnection1", "SetConnectionTrigger")            # missing
    with pytest.raises(FritzArgumentError, match="402"):
        fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Sometimes")
    with pytest.raises(FritzArgumentError, match="402"):
        fc.call_action("X_AVM-DE_HostFilter1", "DisallowWANAccessByIP", NewIPv4Address="192.168.178.20",
                       NewDisallow="vielleicht")
    assert fc.call_action("WANPPPConnection1", "GetInfo")["NewConnectionTrigger"] == "AlwaysOn"


def test_restricted_user_reads_but_gets_606_on_writes(sim: Tr064Simulator) -> None:
    reader = FritzConnection(address="127.0.0.1", port=sim.port, user="nurlesen", password="lesen-123", timeout=3)
    assert status(reader) == "Connected"
    with pytest.raises(FritzSecurityError, match="606"):
        reader.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    with pytest.raises(FritzSecurityError):
        reader.call_action("WANPPPConnection1", "ForceTermination")
    assert sim.state.wan.trigger == "AlwaysOn" and sim.state.wan.status == "Connected"
    rights = reader.call_action("LANConfigSecurity1", "X_AVM-DE_GetCurrentUser")["NewX_AVM-DE_CurrentUserRights"]
    assert "<path>BoxAdmin</path><access>read</access>" in rights


def test_unknown_host_is_714_and_bad_host_index_713(fc: FritzConnection) -> None:
    with pytest.raises(FritzLookUpError, match="714"):
        fc.call_action("X_AVM-DE_HostFilter1", "GetWANAccessByIP", NewIPv4Address="192.168.178.199")
    with pytest.raises(FritzLookUpError, match="714"):
        fc.call_action("Hosts1", "GetSpecificHostEntry", NewMACAddress="00:11:22:33:44:55")
    with pytest.raises(IndexError):
        fc.call_action("Hosts1", "GetGenericHostEntry", NewIndex=99)


def test_injected_internal_error_820_once(sim: Tr064Simulator, fc: FritzConnection) -> None:
    sim.inject_fault("WANPPPConnection1", "ForceTermination", 820)
    with pytest.raises(FritzInternalError, match="820"):
        fc.call_action("WANPPPConnection1", "ForceTermination")
    assert status(fc) == "Connected"
    fc.call_action("WANPPPConnection1", "ForceTermination")
    assert status(fc) == "Disconnected"


def test_unmodelled_setters_are_stored_and_read_back(fc: FritzConnection) -> None:
    fc.call_action("WANPPPConnection1", "SetIdleDisconnectTime", NewIdleDisconnectTime=300)
    assert fc.call_action("WANPPPConnection1", "GetInfo")["NewIdleDisconnectTime"] == 300


# ----------------------------------------------------------------------------- box behaviour
def test_box_reconnects_by_itself_after_force_termination(fc: FritzConnection, effects: RecordingEffects) -> None:
    fc.call_action("WANPPPConnection1", "ForceTermination")
    assert status(fc) == "Disconnected"
    assert wait_until(lambda: status(fc) == "Connected")
    assert effects.events.count(("wan", False)) == 1 and effects.events[-1] == ("wan", True)


def test_trigger_manual_keeps_the_wan_down(sim: Tr064Simulator, fc: FritzConnection) -> None:
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    fc.call_action("WANPPPConnection1", "ForceTermination")
    time.sleep(sim.state.reconnect_delay * 3)   # well past the moment the box would have dialled
    assert status(fc) == "Disconnected"
    assert fc.call_action("WANIPConn1", "GetStatusInfo")["NewConnectionStatus"] == "Disconnected"
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="AlwaysOn")
    fc.call_action("WANPPPConnection1", "RequestConnection")
    assert wait_until(lambda: status(fc) == "Connected")


def test_trigger_set_to_manual_after_termination_still_prevents_redial(sim: Tr064Simulator,
                                                                       fc: FritzConnection) -> None:
    fc.call_action("WANPPPConnection1", "ForceTermination")
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    time.sleep(sim.state.reconnect_delay * 3)
    assert status(fc) == "Disconnected"


def test_non_default_connection_service_is_unconfigured(fc: FritzConnection) -> None:
    assert fc.call_action("Layer3Forwarding1", "GetDefaultConnectionService")["NewDefaultConnectionService"] == \
        "1.WANPPPConnection.1"
    assert status(fc, "WANIPConnection1") == "Unconfigured"


def test_host_filter_applies_asynchronously(fc: FritzConnection, effects: RecordingEffects) -> None:
    ip = "192.168.178.20"
    fc.call_action("X_AVM-DE_HostFilter1", "DisallowWANAccessByIP", NewIPv4Address=ip, NewDisallow=True)
    first = fc.call_action("X_AVM-DE_HostFilter1", "GetWANAccessByIP", NewIPv4Address=ip)
    assert first == {"NewDisallow": True, "NewWANAccess": "granted"}   # requested, not yet effective
    assert wait_until(lambda: fc.call_action("X_AVM-DE_HostFilter1", "GetWANAccessByIP",
                                             NewIPv4Address=ip)["NewWANAccess"] == "denied")
    assert ("host", (ip, True)) in effects.events
    hosts = {h["IPAddress"]: h for h in FritzHosts(fc).get_hosts_attributes()}
    assert hosts[ip]["X_AVM-DE_WANAccess"] == "denied" and hosts[ip]["X_AVM-DE_Disallow"] is True


def test_reboot_brings_wan_back_with_always_on(sim: Tr064Simulator, fc: FritzConnection) -> None:
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    fc.call_action("WANPPPConnection1", "ForceTermination")
    sim.reboot()
    assert wait_until(lambda: status(fc) == "Connected")   # re-authenticates after the reboot
    assert fc.call_action("WANPPPConnection1", "GetInfo")["NewConnectionTrigger"] == "AlwaysOn"


def test_user_reconnect_in_the_ui_undoes_manual(sim: Tr064Simulator, fc: FritzConnection) -> None:
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    fc.call_action("WANPPPConnection1", "ForceTermination")
    sim.simulate_user_reconnect()
    assert wait_until(lambda: status(fc) == "Connected")
    assert fc.call_action("WANPPPConnection1", "GetInfo")["NewConnectionTrigger"] == "AlwaysOn"


def test_wlan_guest_and_effects(fc: FritzConnection, effects: RecordingEffects) -> None:
    for n in (1, 2, 3):
        fc.call_action(f"WLANConfiguration{n}", "SetEnable", NewEnable=False)
    assert [fc.call_action(f"WLANConfiguration{n}", "GetInfo")["NewEnable"] for n in (1, 2, 3)] == [False] * 3
    assert fc.call_action("WLANConfiguration3", "X_AVM-DE_GetWLANExtInfo")["NewX_AVM-DE_APType"] == "guest"
    assert effects.events == [("wlan", False)]


def test_voip_numbers_and_phones(fc: FritzConnection) -> None:
    numbers = fc.call_action("X_VoIP1", "X_AVM-DE_GetNumbers")["NewNumberList"]
    assert "<Number>0301234567</Number>" in numbers
    assert fc.call_action("X_VoIP1", "X_AVM-DE_GetNumberOfClients")["NewX_AVM-DE_NumberOfClients"] == 2
    client = fc.call_action("X_VoIP1", "X_AVM-DE_GetClient2", arguments={"NewX_AVM-DE_ClientIndex": 1})
    assert client["NewX_AVM-DE_PhoneName"] == "Sprechzimmer 1"


# ------------------------------------------------------------------ fritzconnection's own lib
def test_fritzconnection_library_classes_work(sim: Tr064Simulator, fc: FritzConnection) -> None:
    fs = FritzStatus(fc)
    assert fs.is_connected is True
    assert fs.connection_service == "WANPPPConnection"
    assert fs.has_wan_enabled is True
    hosts = FritzHosts(fc)
    assert hosts.host_numbers == 4
    assert [h["name"] for h in hosts.get_hosts_info()][:2] == ["empfang-pc", "sprechzimmer-1"]
    assert hosts.get_host_status("AA:BB:CC:DD:EE:01") is True
    assert hosts.get_host_status("00:00:00:00:00:99") is None
    wlan = FritzWLAN(fc)
    assert wlan.ssid == "Praxis" and wlan.is_enabled is True
    wlan.disable()
    assert wlan.is_enabled is False
    guest = FritzGuestWLAN(fc)
    assert guest.service == 3 and guest.ssid == "Praxis-Gast"
    fs.reconnect()   # the library's reconnect: IGD ForceTermination; the box dials again
    assert wait_until(lambda: fs.is_connected is True)


# ------------------------------------------------------------------- control endpoint & hang
def test_sim_control_endpoint(sim: Tr064Simulator, fc: FritzConnection) -> None:
    state = requests.get(f"{sim.url}/_sim/state", timeout=3).json()
    assert state["wan"] == {**state["wan"], "status": "Connected", "trigger": "AlwaysOn",
                            "service": "WANPPPConnection1"}
    fc.call_action("WANPPPConnection1", "SetConnectionTrigger", NewConnectionTrigger="Manual")
    requests.post(f"{sim.url}/_sim/reboot", timeout=3).raise_for_status()
    assert wait_until(lambda: requests.get(f"{sim.url}/_sim/state", timeout=3).json()["wan"]["status"] == "Connected")
    assert sim.state.wan.trigger == "AlwaysOn" and sim.state.reboots == 1
    requests.post(f"{sim.url}/_sim/mode", json={"hang": True}, timeout=3).raise_for_status()
    with pytest.raises(requests.Timeout):
        requests.post(f"{sim.url}/upnp/control/deviceinfo", data=b"", timeout=0.3)
    requests.post(f"{sim.url}/_sim/mode", json={"hang": False}, timeout=3).raise_for_status()
    assert status(fc) == "Connected"


def test_cli_serves_hosts_from_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("hosts:\n  - {name: empfang-pc, ip: 10.9.0.20, mac: 'aa:bb:cc:00:00:20'}\n"
                      "  - {name: drucker, ip: 10.9.0.30}\n  - {name: ohne-ip, mac: 'aa:bb:cc:00:00:40'}\n")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "notaus.drivers.sim.tr64", "--listen", f"127.0.0.1:{port}",
                             "--user", USER,
                             "--password", PASSWORD, "--hosts-from", str(policy), "--reconnect-delay", "0.1"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "TR-064 simulator" in proc.stdout.readline()
        remote = FritzConnection(address="127.0.0.1", port=port, user=USER, password=PASSWORD, timeout=3)
        names = [h["name"] for h in FritzHosts(remote).get_hosts_info()]
        assert names == ["empfang-pc", "drucker"]
        assert remote.call_action("Hosts1", "GetSpecificHostEntry",
                                  NewMACAddress="AA:BB:CC:00:00:20")["NewIPAddress"] == "10.9.0.20"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
