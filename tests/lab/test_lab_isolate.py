"""End to end: ``notaus isolate HOST`` with no port configured locates the machine by MAC on the lab
switch (real snmpd, or real OpenSSH driving the Linux bridge), shuts its port and blocks it at the
router (TR-064 simulator with nftables). Probes show its WAN *and* LAN traffic stop while its
neighbour keeps both; release brings it back; guards refuse protected hosts and the controller.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netlab import Lab
from .probe import Probe
from .switch_servers import RW_COMMUNITY, snmpd_unavailable_reason, start_lab_snmpd, start_lab_sshd
from .test_lab_panic import SIM_PORT, notaus, stopped_after, write_policy

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def servers(lab: Lab) -> Iterator[Path]:
    reason = snmpd_unavailable_reason()
    if reason:
        pytest.skip(reason)
    sshd, key = start_lab_sshd(lab)
    snmpd = start_lab_snmpd(lab)
    yield key
    lab.stop(snmpd)
    lab.stop(sshd)


@pytest.fixture(params=["snmp", "linux"])
def practice(request: pytest.FixtureRequest, clean_lab: Lab, servers: Path) -> Iterator[tuple[Lab, Path]]:
    lab = clean_lab
    policy = write_policy(lab)
    if request.param == "snmp":
        switch = (f"  - {{name: switch, driver: snmp, address: {lab.switch_ip}, timeout: 2, uplinks: [uplink],"
                  f" controller_port: ctrl, snmp: {{version: '2c', community: {RW_COMMUNITY}}}}}")
    else:
        switch = (f"  - {{name: switch, driver: netmiko, device_type: linux, address: {lab.switch_ip}, user: root,"
                  f" timeout: 5, uplinks: [uplink], controller_port: ctrl, options: {{key_file: '{servers}'}}}}")
    text = policy.read_text().replace("hosts:\n", switch + "\nhosts:\n", 1)
    policy.write_text(text)
    sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64",
                    "--listen", f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                    "--effects", "nft", "--hosts-from", str(policy), "--hostfilter-delay", "0.2",
                    env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None and "TR-064 simulator" in sim.stdout.readline()
    # the switch learns MACs from traffic: let every host speak once
    for host in ("ws1", "ws2", "phone", "ti", "ctrl"):
        lab.run_python(host, "import socket\n"
                             f"socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'x',('{lab.router_lan_ip}',9))")
    yield lab, policy
    lab.stop(sim)
    subprocess.run(["rm", "-rf", f"{lab.workdir}/state"], check=False)


def echo(lab: Lab, host: str) -> subprocess.Popen[bytes]:
    proc = lab.popen(host, sys.executable, "-m", "tests.lab.servers", "--bind", lab.host_ip(host),
                     "--udp-echo", str(lab.udp_echo_port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def test_isolate_by_name_stops_wan_and_lan_release_restores(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    neighbour = echo(lab, "ws2")
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as wan1, \
            Probe(lab, "ws1", (lab.host_ip("ws2"), lab.udp_echo_port)) as lan1, \
            Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as wan2:
        assert wan1.wait_replies(3) and lan1.wait_replies(3) and wan2.wait_replies(3)
        code, doc = notaus(lab, policy, "isolate", "ws1", "--reason", "lab: AV alarm")
        done = time.monotonic()
        assert code == 0 and doc["outcome"] == "done", doc
        actions = {(d["device"], d["action"], d["target"]) for d in doc["devices"]}
        assert ("switch", "port_down", "ws1") in actions           # located by MAC, no port configured
        assert ("fritzbox", "block_host", lab.host_ip("ws1")) in actions
        assert stopped_after(wan1, done) and stopped_after(lan1, done)
        assert wan2.wait_replies(3, since=done, timeout=5)          # the neighbour is unaffected

        code, status = notaus(lab, policy, "status")
        assert status["isolations"][0]["host"] == "ws1" and status["isolations"][0]["verified"] is True
        sw = next(d for d in status["devices"] if d["name"] == "switch")
        assert sw["ports_down"] == ["ws1"]

        code, doc = notaus(lab, policy, "release", "ws1")
        assert code == 0 and doc["outcome"] == "done", doc
        back = time.monotonic()
        assert wan1.wait_replies(3, since=back, timeout=10) and lan1.wait_replies(3, since=back, timeout=10)
    lab.stop(neighbour)


@pytest.mark.parametrize("host", ["ti", "ctrl", "10.77.0.1"])
def test_guards_refuse_and_change_nothing(practice: tuple[Lab, Path], host: str) -> None:
    lab, policy = practice
    code, doc = notaus(lab, policy, "isolate", host)
    assert code == 1 and doc["outcome"] == "refused", doc
    code, status = notaus(lab, policy, "status")
    sw = next(d for d in status["devices"] if d["name"] == "switch")
    assert sw["ports_down"] == [] and status["isolations"] == []
