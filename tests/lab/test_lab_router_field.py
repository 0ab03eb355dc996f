"""Issue 12 in the network lab: proof from the data plane, and keep-phones that holds.

* A second uplink (an "LTE router" wired straight from the controller's namespace to the internet
  namespace) survives the router cut: notaus' own TCP probe gets through and the panic says so.
  The normal cut, without it, must not raise that alarm.
* keep-phones: a PC that gets a new address after the panic has internet again until the next
  enforcement pass, which reads the router's host list, matches it by MAC and blocks it.

Only namespaces of this lab are touched (``ip -n <lab netns>``); teardown removes what a test added.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.egress import MESSAGE_DE

from .netlab import Lab
from .test_lab_panic import SIM_PORT, notaus, practice  # noqa: F401 - fixture used by name

pytestmark = pytest.mark.lab

LTE_CTRL, LTE_INET = "198.18.9.2", "198.18.9.1"


def with_egress_probe(lab: Lab, policy: Path) -> None:
    """Configure the data-plane probe with the lab's own 'internet' only (TCP echo, no DNS)."""
    text = policy.read_text(encoding="utf-8")
    text = text.replace("verify_timeout: 5}",
                        f"verify_timeout: 5, egress_probe: {{tcp: [\"{lab.inet_ip}:{lab.tcp_echo_port}\"], "
                        "timeout: 1}}", 1)
    assert "egress_probe" in text
    policy.write_text(text, encoding="utf-8")


@pytest.fixture
def second_uplink(practice: tuple[Lab, Path]) -> Iterator[None]:  # noqa: F811 - the imported fixture
    lab, _ = practice
    ctrl, inet = lab.ns("ctrl"), lab.ns(Lab.INET)

    def ip(ns: str, *args: str) -> None:
        subprocess.run(["ip", "-n", ns, *args], check=True, capture_output=True, timeout=20)

    ip(ctrl, "link", "add", "lte0", "type", "veth", "peer", "name", "lte1", "netns", inet)
    try:
        ip(ctrl, "addr", "add", f"{LTE_CTRL}/30", "dev", "lte0")
        ip(inet, "addr", "add", f"{LTE_INET}/30", "dev", "lte1")
        ip(ctrl, "link", "set", "lte0", "up")
        ip(inet, "link", "set", "lte1", "up")
        ip(ctrl, "route", "add", f"{lab.inet_ip}/32", "via", LTE_INET, "dev", "lte0")
        yield
    finally:
        subprocess.run(["ip", "-n", ctrl, "link", "del", "lte0"], capture_output=True, check=False, timeout=20)


def _journal_kinds(lab: Lab, policy: Path) -> list[dict[str, Any]]:
    code, doc = notaus(lab, policy, "journal", "show")
    entries = doc if isinstance(doc, list) else doc.get("entries", [])
    return [e for e in entries if isinstance(e, dict)]


def test_normal_cut_raises_no_second_way_alarm(practice: tuple[Lab, Path]) -> None:  # noqa: F811
    lab, policy = practice
    with_egress_probe(lab, policy)
    code, doc = notaus(lab, policy, "panic", "--yes")
    assert code == 0 and doc["outcome"] == "done", doc
    assert doc["data"]["egress"]["reachable"] is False
    assert doc["data"]["egress"]["attempts"][0]["target"] == f"{lab.inet_ip}:{lab.tcp_echo_port}"
    code, status = notaus(lab, policy, "status")
    assert status["contained"] is True and status["egress"]["reachable"] is False


def test_second_uplink_that_the_cut_does_not_touch_is_found(practice: tuple[Lab, Path],  # noqa: F811
                                                            second_uplink: None) -> None:
    lab, policy = practice
    with_egress_probe(lab, policy)
    code, doc = notaus(lab, policy, "panic", "--yes")
    assert all(d["outcome"] == "done" for d in doc["devices"]), doc      # the router cut itself worked
    assert code == 2 and doc["outcome"] == "partial"
    assert doc["message"] == MESSAGE_DE
    assert doc["data"]["egress"]["answered"] == [f"{lab.inet_ip}:{lab.tcp_echo_port}"]
    code, status = notaus(lab, policy, "status")
    assert status["contained"] is False and MESSAGE_DE in status["warnings"]
    entries = _journal_kinds(lab, policy)
    assert any(e.get("kind") == "warning" and (e.get("data") or {}).get("what") == "second_path" for e in entries)


def _udp_echo_from(lab: Lab, host: str, source: str) -> bool:
    code = ("import socket\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(0.7)\n"
            f"s.bind(('{source}', 0))\n"
            "ok=False\n"
            "for _ in range(3):\n"
            f"    s.sendto(b'x', ('{lab.inet_ip}', {lab.udp_echo_port}))\n"
            "    try:\n"
            "        s.recv(100); ok=True; break\n"
            "    except OSError: pass\n"
            "print(ok)")
    return lab.run_python(host, code).stdout.strip() == "True"


def test_keep_phones_blocks_a_pc_that_came_back_with_a_new_address(practice: tuple[Lab, Path]) -> None:  # noqa: F811
    lab, policy = practice
    ws2 = lab.ns("ws2")
    new_ip = "10.77.0.13"
    code, doc = notaus(lab, policy, "panic", "--profile", "keep-phones", "--yes")
    assert code == 0 and doc["outcome"] == "done", doc
    assert not _udp_echo_from(lab, "ws2", lab.host_ip("ws2"))
    subprocess.run(["ip", "-n", ws2, "addr", "add", f"{new_ip}/24", "dev", "eth0"], check=True, timeout=20)
    try:
        # the box learns the new lease (DHCP in reality; the simulator's control endpoint here)
        body = json.dumps({"ip": new_ip, "mac": lab.host_mac("ws2"), "name": "ws2"}).encode()
        lab.run("ctrl", sys.executable, "-c",
                "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request("
                f"'http://{lab.router_lan_ip}:{SIM_PORT}/_sim/hosts', data=sys.stdin.buffer.read(), "
                "method='POST'), timeout=5)", input=body.decode(), env=lab.env)
        assert _udp_echo_from(lab, "ws2", new_ip), "before enforcement the new address reaches the internet"
        lab.run("ctrl", sys.executable, "-c",
                "from pathlib import Path; from notaus.policies.loader import load_policy;"
                "from notaus.controller.engine import Engine;"
                f"e = Engine.from_policy(load_policy('{policy}'), base_dir=Path('{policy.parent}'));"
                "print(e.enforce()); e.close()", env=lab.env, timeout=60)
        assert not _udp_echo_from(lab, "ws2", new_ip)
        assert _udp_echo_from(lab, "phone", lab.host_ip("phone"))        # the kept phone still talks
    finally:
        subprocess.run(["ip", "-n", ws2, "addr", "del", f"{new_ip}/24", "dev", "eth0"], check=False,
                       capture_output=True, timeout=20)
