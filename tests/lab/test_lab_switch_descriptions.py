"""Lab: isolate and release at a vendor CLI whose port descriptions hold status words, both methods.

On a real Catalyst the description is a column of ``show interfaces status`` and may read "PC connected
Dose 3"; a parser that takes the first status word reads a shut port as up. Here the fake IOS and ProCurve
CLIs (real netmiko) show such descriptions in their columns, drive the real bridge ports of the lab switch,
and ``notaus isolate``/``release`` run end to end in the controller namespace: ports are located by MAC,
shut or moved to the quarantine VLAN, read back, and the probes show the traffic stop and come back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netlab import Lab
from .probe import Probe
from .switch_servers import IOS_PORT_MAP, start_lab_fake_cli
from .test_lab_panic import SIM_PORT, notaus, stopped_after, write_policy

pytestmark = pytest.mark.lab

DESCRIPTIONS = {"ws1": "PC connected Dose 3", "ws2": "Reserve disabled 2019"}
CLI_PORTS = {"ios": 2211, "procurve": 2212}
PROFILE = {"ios": "cisco_ios", "procurve": "hp_procurve"}


def vendor_name(dialect: str, linux: str) -> str:
    names = list(IOS_PORT_MAP) if dialect == "ios" else [str(i + 1) for i in range(len(IOS_PORT_MAP))]
    return names[list(IOS_PORT_MAP.values()).index(linux)]


@pytest.fixture(scope="module")
def clis(lab: Lab) -> Iterator[None]:
    procs = [start_lab_fake_cli(lab, d, descriptions=DESCRIPTIONS, listen_port=p) for d, p in CLI_PORTS.items()]
    yield
    for proc in procs:
        lab.stop(proc)


@pytest.fixture(params=sorted(CLI_PORTS))
def practice(request: pytest.FixtureRequest, clean_lab: Lab, clis: None) -> Iterator[tuple[Lab, Path, str]]:
    lab, dialect = clean_lab, request.param
    policy = write_policy(lab)
    switch = (f"  - {{name: switch, driver: netmiko, device_type: {PROFILE[dialect]}, address: {lab.switch_ip}, "
              f"port: {CLI_PORTS[dialect]}, user: admin, password: secret, timeout: 5, quarantine_vlan: 666, "
              f"uplinks: ['{vendor_name(dialect, 'uplink')}'], controller_port: '{vendor_name(dialect, 'ctrl')}'}}")
    policy.write_text(policy.read_text().replace("hosts:\n", switch + "\nhosts:\n", 1))
    sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64",
                    "--listen", f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                    "--effects", "nft", "--hosts-from", str(policy), "--hostfilter-delay", "0.2",
                    env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None and "TR-064 simulator" in sim.stdout.readline()
    for host in ("ws1", "ws2", "phone", "ti", "ctrl"):   # the bridge learns every MAC
        lab.run_python(host, "import socket\n"
                             f"socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'x',('{lab.router_lan_ip}',9))")
    yield lab, policy, dialect
    lab.stop(sim)
    subprocess.run(["rm", "-rf", f"{lab.workdir}/state"], check=False)


def pvid(lab: Lab, dev: str) -> list[int]:
    vlans = json.loads(lab.run(Lab.SWITCH, "bridge", "-j", "vlan", "show", "dev", dev).stdout)
    return [v["vlan"] for e in vlans for v in e.get("vlans", []) if "PVID" in v.get("flags", [])]


@pytest.mark.parametrize("method", ["port", "vlan"])
def test_isolate_and_release_with_status_words_in_descriptions(practice: tuple[Lab, Path, str], method: str) -> None:
    lab, policy, dialect = practice
    if method == "vlan" and not lab.vlan_filtering:
        pytest.skip("this kernel's bridge has no VLAN filtering")
    ws1, ws2 = vendor_name(dialect, "ws1"), vendor_name(dialect, "ws2")
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as wan1, \
            Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as wan2:
        assert wan1.wait_replies(3) and wan2.wait_replies(3)
        code, status = notaus(lab, policy, "status")
        sw = next(d for d in status["devices"] if d["name"] == "switch")
        assert sw["ports_down"] == [], sw     # "Reserve disabled 2019" on an up port is not a down port

        code, doc = notaus(lab, policy, "isolate", "ws1", "--method", method, "--reason", "lab: descriptions")
        done = time.monotonic()
        assert code == 0 and doc["outcome"] == "done", doc
        step = doc["devices"][0]
        assert (step["device"], step["action"]) == ("switch", "port_down" if method == "port" else "set_vlan")
        assert step["target"].partition("@")[0] == ws1      # located by MAC, read back as done
        if method == "port":
            assert not lab.link_up(Lab.SWITCH, "ws1")    # "PC connected Dose 3" did not hide the shutdown
        else:
            assert pvid(lab, "ws1") == [666]
        assert stopped_after(wan1, done)
        assert wan2.wait_replies(3, since=done, timeout=5)

        code, status = notaus(lab, policy, "status")
        assert status["isolations"][0]["verified"] is True, status
        sw = next(d for d in status["devices"] if d["name"] == "switch")
        assert sw["ports_down"] == ([ws1] if method == "port" else []), sw

        code, doc = notaus(lab, policy, "release", "ws1")
        assert code == 0 and doc["outcome"] == "done", doc
        back = time.monotonic()
        assert lab.link_up(Lab.SWITCH, "ws1")
        assert not lab.vlan_filtering or pvid(lab, "ws1") == [1]
        assert wan1.wait_replies(3, since=back, timeout=10)
        code, status = notaus(lab, policy, "status")
        assert status["isolations"] == [] and ws2 not in next(
            d for d in status["devices"] if d["name"] == "switch")["ports_down"]
