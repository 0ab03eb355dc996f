"""Isolating a workstation at the lab switch: located by MAC, port shut, traffic really stops.

The drivers run inside the controller's namespace (``ctrl``), as notaus would on the practice
network, and talk to servers in the switch namespace: the fake IOS CLI (real netmiko) mapped to the
bridge ports, and a real snmpd with the bridge FDB pass_persist script. Probes show that the
isolated machine loses both WAN and LAN-neighbour traffic while others keep theirs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .netlab import Lab
from .probe import Probe
from .switch_servers import IOS_PORT_MAP, RW_COMMUNITY, start_lab_fake_cli, start_lab_snmpd, start_lab_sshd

pytestmark = pytest.mark.lab
SETTLE = 0.3

DRIVERS = {
    "ios": "NetmikoSwitchDriver('sw', '{ip}', port=2201, user='admin', password='secret', timeout=5, "
           "options={{'device_type': 'cisco_ios', 'uplinks': ['Gi1/0/24'], 'controller_port': 'Gi1/0/1'}})",
    "linux": "NetmikoSwitchDriver('sw', '{ip}', user='root', timeout=5, options={{'device_type': 'linux', "
             "'uplinks': ['uplink'], 'controller_port': 'ctrl', 'key_file': '{key}'}})",
    "snmp": "SnmpSwitchDriver('sw', '{ip}', timeout=2, options={{'snmp': {{'community': '" + RW_COMMUNITY
            + "'}}, 'uplinks': ['uplink'], 'controller_port': 'ctrl'}})",
}
IMPORTS = ("import json\nfrom notaus.controller.locate import locate_mac, guard_from_driver\n"
           "from notaus.drivers.netmiko_switch import NetmikoSwitchDriver\n"
           "from notaus.drivers.snmp_switch import SnmpSwitchDriver\n")


KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def switch_servers(lab: Lab) -> Iterator[None]:
    sshd, key = start_lab_sshd(lab)
    KEY["file"] = str(key)
    procs = [start_lab_fake_cli(lab, "ios"), start_lab_snmpd(lab), sshd]
    yield
    for proc in procs:
        lab.stop(proc)


def in_ctrl(lab: Lab, method: str, body: str) -> Any:
    """Run driver code in the controller namespace; ``body`` sets ``out`` (JSON-printed)."""
    ctor = DRIVERS[method].format(ip=lab.switch_ip, key=KEY.get("file", ""))
    code = IMPORTS + f"d = {ctor}\nd.open()\nout = None\n{body}\nd.close()\n" \
                     "print(json.dumps(out))\n"
    proc = lab.run_python("ctrl", code, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def echo(lab: Lab, host: str) -> subprocess.Popen[bytes]:
    proc = lab.popen(host, sys.executable, "-m", "tests.lab.servers", "--bind", lab.host_ip(host),
                     "--udp-echo", str(lab.udp_echo_port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def port_of(method: str, host: str) -> str:
    if method in ("snmp", "linux"):
        return host
    return next(v for v, linux in IOS_PORT_MAP.items() if linux == host)


@pytest.mark.parametrize("method", ["linux", "ios", "snmp"])
def test_isolate_located_workstation_stops_wan_and_lan(clean_lab: Lab, switch_servers: None, method: str) -> None:
    lab = clean_lab
    phone_echo = echo(lab, "phone")
    try:
        with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as wan1, \
                Probe(lab, "ws1", (lab.host_ip("phone"), lab.udp_echo_port)) as lan1, \
                Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as wan2:
            assert wan1.wait_replies(3) and lan1.wait_replies(3) and wan2.wait_replies(3)
            body = (f"loc = locate_mac('{lab.host_mac('ws1')}', {{'sw': d}}, {{'sw': set(d.options['uplinks'])}}, "
                    f"{{'{lab.router_lan_mac}'}}, '{lab.host_mac('ctrl')}', "
                    "controller_ports={'sw': d.options['controller_port']})\n"
                    f"guard = guard_from_driver(d, loc.port, router_macs=['{lab.router_lan_mac}'], "
                    f"controller_mac='{lab.host_mac('ctrl')}') if loc.found else 'not found'\n"
                    "if loc.found and guard is None:\n    d.port_down(loc.port)\n"
                    "out = {'port': loc.port, 'reason': loc.reason, 'guard': guard, "
                    "'admin_up': d.port_state(loc.port).admin_up if loc.found else None}")
            t = time.monotonic()
            out = in_ctrl(lab, method, body)
            assert out["port"] == port_of(method, "ws1"), out
            assert out["guard"] is None and out["admin_up"] is False
            assert not lab.link_up(Lab.SWITCH, "ws1")
            for probe in (wan1, lan1):
                assert probe.wait_silent(SETTLE)
            after = time.monotonic()
            assert wan2.wait_replies(3, since=after), "ws2 lost internet although only ws1 was isolated"
            assert t < after

            # release restores
            in_ctrl(lab, method, f"d.port_up('{port_of(method, 'ws1')}')\nout = True")
            assert lab.link_up(Lab.SWITCH, "ws1")
            restored = time.monotonic()
            assert wan1.wait_replies(3, since=restored, timeout=10) and lan1.wait_replies(3, since=restored)
    finally:
        lab.stop(phone_echo)


@pytest.mark.parametrize("method", ["linux", "ios", "snmp"])
def test_uplink_and_controller_port_are_refused(clean_lab: Lab, switch_servers: None, method: str) -> None:
    lab = clean_lab
    uplink = "Gi1/0/24" if method == "ios" else "uplink"
    body = (f"out = [guard_from_driver(d, '{uplink}', router_macs=['{lab.router_lan_mac}']), "
            f"guard_from_driver(d, '{port_of(method, 'ctrl')}', controller_mac='{lab.host_mac('ctrl')}')]")
    out = in_ctrl(lab, method, body)
    assert "Uplink" in out[0] and "notaus selbst" in out[1]
    assert lab.link_up(Lab.SWITCH, "uplink") and lab.link_up(Lab.SWITCH, "ctrl")


@pytest.mark.parametrize("method", ["linux", "ios", "snmp"])
def test_quarantine_vlan_move_on_the_bridge(clean_lab: Lab, switch_servers: None, method: str) -> None:
    lab = clean_lab
    if not lab.vlan_filtering:
        pytest.skip("this kernel's bridge has no VLAN filtering")
    port = port_of(method, "ws2")
    try:
        out = in_ctrl(lab, method, f"d.set_port_vlan('{port}', 666)\nout = d.port_state('{port}').vlan")
        assert out == 666
        vlans = json.loads(lab.run(Lab.SWITCH, "bridge", "-j", "vlan", "show", "dev", "ws2").stdout)
        pvids = [v["vlan"] for e in vlans for v in e.get("vlans", []) if "PVID" in v.get("flags", [])]
        assert pvids == [666]
        with Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as wan2:
            assert wan2.wait_silent(SETTLE) and wan2.replies == []
    finally:
        lab.run(Lab.SWITCH, "bridge", "vlan", "add", "dev", "ws2", "vid", "1", "pvid", "untagged", check=False)
        lab.run(Lab.SWITCH, "bridge", "vlan", "del", "dev", "ws2", "vid", "666", check=False)
