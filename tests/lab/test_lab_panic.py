"""End to end: the real ``notaus`` CLI in the controller namespace drives the TR-064 simulator in the
router namespace, which applies its state with nftables; a probe sending every 10 ms shows whether
packets really stop and come back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .netlab import Lab
from .probe import Probe

pytestmark = pytest.mark.lab

SIM_PORT = 49000


def write_policy(lab: Lab) -> Path:
    hosts = [("ws1", "workstation", False), ("ws2", "workstation", False), ("phone", "phone", False),
             ("ti", "ti-konnektor", True), ("ctrl", "controller", False)]
    lines = [
        f"controller: {{state_dir: {lab.workdir}/state, ip: {lab.host_ip('ctrl')}, verify_timeout: 5}}",
        "devices:",
        f"  - {{name: fritzbox, driver: fritzbox, address: {lab.router_lan_ip}, port: {SIM_PORT},"
        " user: notaus, password: lab-secret, timeout: 3}",
        "hosts:",
    ]
    for name, role, protected in hosts:
        lines.append(f"  - {{name: {name}, ip: {lab.host_ip(name)}, mac: \"{lab.host_mac(name)}\", role: {role}"
                     + (", protected: true" if protected else "") + "}")
    path = Path(str(lab.workdir)) / "policy.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def practice(clean_lab: Lab) -> Iterator[tuple[Lab, Path]]:
    lab = clean_lab
    policy = write_policy(lab)
    sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64",
                    "--listen", f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                    "--effects", "nft", "--hosts-from", str(policy), "--reconnect-delay", "0.5",
                    "--hostfilter-delay", "0.2", "--number", "0301234567",
                    env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None
    line = sim.stdout.readline()
    assert "TR-064 simulator" in line, line
    yield lab, policy
    lab.stop(sim)
    subprocess.run(["rm", "-rf", f"{lab.workdir}/state"], check=False)


def notaus(lab: Lab, policy: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = lab.run("ctrl", sys.executable, "-m", "notaus.controller.cli", "--config", str(policy), *args, "--json",
                   check=False, timeout=60, env=lab.env)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"no JSON from notaus {args}: {proc.stdout!r} {proc.stderr!r}") from None
    return proc.returncode, doc


def stopped_after(probe: Probe, t: float) -> bool:
    return probe.wait_silent(0.3) and probe.replies_since(t) == []


def test_panic_stops_wan_traffic_and_restore_brings_it_back(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as probe:
        assert probe.wait_replies(5)
        code, doc = notaus(lab, policy, "panic", "--yes")
        done = time.monotonic()
        assert code == 0 and doc["outcome"] == "done", doc
        assert stopped_after(probe, done)

        code, status = notaus(lab, policy, "status")
        assert status["contained"] is True and status["devices"][0]["wan"] == "down"

        code, doc = notaus(lab, policy, "restore", "--reason", "lab test: cleaned")
        assert code == 0 and doc["outcome"] == "done", doc
        assert probe.wait_replies(3, since=time.monotonic(), timeout=10)
    code, verify = notaus(lab, policy, "journal", "verify")
    assert code == 0 and verify["ok"] is True


def test_keep_phones_blocks_pcs_but_sip_passes(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as pc, \
            Probe(lab, "phone", (lab.inet_ip, lab.udp_echo_port)) as phone:
        assert pc.wait_replies(3) and phone.wait_replies(3)
        code, doc = notaus(lab, policy, "panic", "--profile", "keep-phones", "--yes")
        done = time.monotonic()
        assert code == 0 and doc["outcome"] == "done", doc
        assert stopped_after(pc, done)
        assert phone.wait_replies(5, since=done, timeout=5)
    sip = lab.run_python("phone", "import socket\n"
                         "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
                         "req='REGISTER sip:lab SIP/2.0\\r\\nCall-ID: r1\\r\\nCSeq: 1 REGISTER\\r\\n\\r\\n'\n"
                         f"s.sendto(req.encode(), ('{lab.inet_ip}', {lab.sip_port}))\n"
                         "print(s.recv(2000).decode())").stdout
    assert sip.startswith("SIP/2.0 200 OK")


def test_host_block_stops_only_that_host(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as ws1, \
            Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as ws2:
        assert ws1.wait_replies(3) and ws2.wait_replies(3)
        code, doc = notaus(lab, policy, "isolate", lab.host_mac("ws1"), "--method", "router", "--reason", "lab")
        done = time.monotonic()
        assert code == 0 and doc["outcome"] == "done", doc
        assert stopped_after(ws1, done)
        assert ws2.wait_replies(5, since=done, timeout=5)
        code, doc = notaus(lab, policy, "release", "ws1")
        assert code == 0, doc
        assert ws1.wait_replies(3, since=time.monotonic(), timeout=10)


def test_protected_host_refused_in_lab(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    code, doc = notaus(lab, policy, "isolate", "ti")
    assert code == 1 and doc["outcome"] == "refused" and "protected" in doc["message"]


def test_kill_minus_9_during_panic_then_restart_reasserts(practice: tuple[Lab, Path]) -> None:
    lab, policy = practice
    proc = lab.popen("ctrl", sys.executable, "-m", "notaus.controller.cli", "--config", str(policy), "panic", "--yes",
                     env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill as soon as the desired state is on disk (the panic plan is journaled right before it)
    state_db = Path(str(lab.workdir)) / "state" / "state.sqlite"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if state_db.exists() and b"containment" in state_db.read_bytes() + _wal(state_db):
            break
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    # whatever the box did meanwhile: restart notaus and let it re-assert the desired state
    code, status = notaus(lab, policy, "status")
    assert status["containment"] is not None
    lab.run("ctrl", sys.executable, "-c",
            "import sys; from pathlib import Path; from notaus.policies.loader import load_policy;"
            "from notaus.controller.engine import Engine;"
            f"e = Engine.from_policy(load_policy('{policy}'), base_dir=Path('{policy.parent}'));"
            "e.reassert(); e.close()", env=lab.env, timeout=60)
    code, status = notaus(lab, policy, "status")
    assert status["contained"] is True, status
    code, verify = notaus(lab, policy, "journal", "verify")
    assert verify["ok"] is True, verify


def _wal(db: Path) -> bytes:
    wal = db.with_name(db.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""
