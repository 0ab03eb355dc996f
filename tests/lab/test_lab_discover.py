"""``notaus discover`` in the lab: from the controller's namespace, ask the simulated FRITZ!Box in the
router namespace and the real snmpd on the lab switch, and find the hosts, the phone, the
TI-Konnektor (by its maker's MAC prefix) and the bridge port of every machine.

The ``ti`` machine gets a secunet MAC (00:1c:19, IEEE registry) on its own interface for this
module, so the switch learns the same address the router lists; the policy given to discover names
only the router and the switch, no host.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .netlab import Lab
from .switch_servers import RW_COMMUNITY, start_lab_snmpd

pytestmark = pytest.mark.lab

SIM_PORT = 49000
SECUNET_MAC = "00:1c:19:00:00:50"
NAMES = {"ws1": "empfang-pc", "ws2": "labor-pc", "phone": "telefon-empfang", "ti": "box-50", "ctrl": "notaus"}


@pytest.fixture(scope="module")
def practice(lab: Lab) -> Iterator[tuple[Lab, Path]]:
    work = Path(str(lab.workdir))
    original_ti_mac = lab.host_mac("ti")
    lab.run("ti", "ip", "link", "set", "dev", "eth0", "address", SECUNET_MAC)
    # the switch forgets the old address, as it would after its ageing time
    lab.run(Lab.SWITCH, "bridge", "fdb", "del", original_ti_mac, "dev", "ti", "master", check=False)
    # the box's host list (what the simulator serves): every machine under the name the box gave it
    macs = {h: (SECUNET_MAC if h == "ti" else lab.host_mac(h)) for h in NAMES}
    box = work / "box-hosts.yaml"
    box.write_text("hosts:\n" + "".join(f"  - {{name: {NAMES[h]}, ip: {lab.host_ip(h)}, mac: \"{macs[h]}\"}}\n"
                                        for h in NAMES), encoding="utf-8")
    sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64",
                    "--listen", f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                    "--effects", "null", "--hosts-from", str(box), "--phone", "Telefon Empfang",
                    env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None and "TR-064 simulator" in sim.stdout.readline()
    snmpd = start_lab_snmpd(lab)
    # each machine speaks once, so the switch learns its MAC on its port (ARP for the router)
    for host in NAMES:
        lab.run(host, sys.executable, "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                f"s.sendto(b'hello', ('{lab.router_lan_ip}', 9))")
    policy = work / "discover-policy.yaml"
    policy.write_text(
        f"controller: {{state_dir: {work}/state-discover, ip: {lab.host_ip('ctrl')}}}\n"
        "devices:\n"
        f"  - {{name: fritzbox, driver: fritzbox, address: {lab.router_lan_ip}, port: {SIM_PORT}, user: notaus,"
        " password: lab-secret, timeout: 3}\n"
        f"  - {{name: switch, driver: snmp, address: {lab.switch_ip}, timeout: 2, uplinks: [uplink],"
        f" controller_port: ctrl, snmp: {{version: '2c', community: {RW_COMMUNITY}}}}}\n", encoding="utf-8")
    try:
        yield lab, policy
    finally:
        lab.stop(sim)
        lab.stop(snmpd)
        lab.run("ti", "ip", "link", "set", "dev", "eth0", "address", original_ti_mac, check=False)


def discover(lab: Lab, policy: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = lab.run("ctrl", sys.executable, "-m", "notaus.controller.cli", "--config", str(policy), *args, "--json",
                   check=False, timeout=120)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def test_discovery_finds_hosts_phone_konnektor_and_switch_ports(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    code, doc = discover(lab, policy, "discover")
    assert code == 0, doc
    by_ip = {h["ip"]: h for h in doc["hosts"]}
    for host in ("ws1", "ws2"):
        h = by_ip[lab.host_ip(host)]
        assert (h["name"], h["role"], h["switch"], h["port"]) == (NAMES[host], "workstation", "switch", host)
    phone = by_ip[lab.host_ip("phone")]
    assert (phone["role"], phone["rule"], phone["port"]) == ("phone", "voip", "phone")
    assert any("registered VoIP client 'Telefon Empfang'" in r for r in phone["reasons"])
    ti = by_ip[lab.host_ip("ti")]
    assert (ti["role"], ti["protected"], ti["rule"], ti["port"]) == ("ti-konnektor", True, "oui-konnektor", "ti")
    assert ti["mac"] == SECUNET_MAC and "secunet" in ti["vendor"]
    assert by_ip[lab.host_ip("ctrl")]["role"] == "controller"
    switch = doc["switches"][0]
    assert switch["sys_descr"] and switch["ports"]["ti"] == [SECUNET_MAC]
    assert "uplink" not in switch["ports"] and "ctrl" not in switch["ports"]   # uplink and own port left out
    # the draft is a policy the checker accepts
    draft = Path(str(lab.workdir)) / "draft.yaml"
    draft.write_text(doc["draft"], encoding="utf-8")
    check = lab.run("ctrl", sys.executable, "-m", "notaus.controller.cli", "policy", "check", str(draft), check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "geschützt: box-50" in check.stdout or "box-50" in check.stdout


def test_policy_diff_sees_the_new_machine(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    code, doc = discover(lab, policy, "policy", "diff", "--discover")
    assert code == 2
    kinds = {(f["kind"], f["host"]) for f in doc["findings"]}
    assert ("protected_missing", "box-50") in kinds and ("voip_not_phone", "telefon-empfang") in kinds
    assert ("unknown", "empfang-pc") in kinds


def test_opt_in_probe_finds_a_printer_port(practice: tuple[Lab, Path]) -> None:
    """Without --probe nothing is connected to; with it, a JetDirect port (9100) on ws2 says printer."""
    lab, policy = practice
    printer = lab.popen("ws2", sys.executable, "-m", "tests.lab.servers", "--bind", lab.host_ip("ws2"),
                        "--tcp-echo", "9100", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert printer.stdout is not None and printer.stdout.readline().strip() == b"ready"
        _, plain = discover(lab, policy, "discover")
        ws2 = next(h for h in plain["hosts"] if h["ip"] == lab.host_ip("ws2"))
        assert ws2["role"] == "workstation" and plain["probed"] is False
        _, probed = discover(lab, policy, "discover", "--probe")
        ws2 = next(h for h in probed["hosts"] if h["ip"] == lab.host_ip("ws2"))
        assert (ws2["role"], ws2["rule"]) == ("printer", "probe")
        assert "answers on TCP 9100 (probe)" in ws2["reasons"]
        assert "probed TCP ports" in probed["draft"]
    finally:
        lab.stop(printer)
