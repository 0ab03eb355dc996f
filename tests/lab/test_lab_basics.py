"""The lab itself works: NAT, bridge, and the router effects the simulators rely on stop real packets.

These tests run the real thing: processes in network namespaces, the probe's UDP/TCP packets, and
``NftRouterEffects`` executed inside the router namespace exactly as a simulator would.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from .netlab import Lab, LabUnavailable
from .probe import Probe

pytestmark = pytest.mark.lab

SETTLE = 0.3  # seconds without answers that count as "traffic stopped"


def effects(lab: Lab, code: str) -> str:
    """Run ``code`` against ``NftRouterEffects`` in the router namespace, as the simulator process would."""
    script = f"from notaus.drivers.sim.nft_effects import NftRouterEffects\ne = NftRouterEffects(reset=False)\n{code}"
    return lab.run_python(Lab.ROUTER, script).stdout.strip()


def start_echo(lab: Lab, host: str) -> subprocess.Popen[bytes]:
    """A UDP echo server on a LAN host, for LAN->LAN traffic that must not pass the router."""
    proc = lab.popen(host, sys.executable, "-m", "tests.lab.servers", "--bind", lab.host_ip(host),
                     "--udp-echo", str(lab.udp_echo_port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def assert_stopped(probe: Probe, since: float) -> None:
    assert probe.wait_silent(SETTLE), "probe still gets answers"
    assert probe.replies_since(since) == [], "packets sent after the action were still answered"


def test_workstation_reaches_internet_through_nat(lab: Lab) -> None:
    listener = lab.popen(Lab.INET, sys.executable, "-u", "-c",
                         "import socket,sys\n"
                         "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                         f"s.bind(('{lab.inet_ip}',9999)); print('ready', flush=True)\n"
                         "data, addr = s.recvfrom(100); print(addr[0], data.decode(), flush=True)",
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
    lab.run_python("ws1", "import socket\n"
                          f"socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'hello',('{lab.inet_ip}',9999))")
    seen = listener.stdout.readline().split()
    # The internet sees the router's WAN address, not 10.77.0.11: the masquerade works.
    assert seen == [lab.router_wan_ip, "hello"]

    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as probe:
        assert probe.wait_replies(5)


def test_workstations_reach_each_other_over_the_bridge(lab: Lab) -> None:
    start_echo(lab, "ws2")
    with Probe(lab, "ws1", (lab.host_ip("ws2"), lab.udp_echo_port)) as probe:
        assert probe.wait_replies(5)
    neigh = lab.run("ws1", "ip", "neigh", "show", lab.host_ip("ws2")).stdout
    assert lab.host_mac("ws2") in neigh  # answered by ws2 itself on the same segment, not via the router


def test_sip_responder_answers_the_phone(lab: Lab) -> None:
    out = lab.run_python("phone", "import socket\n"
                         "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
                         "req=('OPTIONS sip:lab@%s SIP/2.0\\r\\nVia: SIP/2.0/UDP 10.77.0.20\\r\\n'\n"
                         "     'Call-ID: c1\\r\\nCSeq: 1 OPTIONS\\r\\n\\r\\n')\n"
                         f"s.sendto((req % '{lab.inet_ip}').encode(), ('{lab.inet_ip}', {lab.sip_port}))\n"
                         "print(s.recv(2000).decode())").stdout
    assert out.startswith("SIP/2.0 200 OK") and "Call-ID: c1" in out


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_wan_cut_stops_traffic_and_restore_brings_it_back(clean_lab: Lab, proto: str) -> None:
    lab = clean_lab
    port = lab.udp_echo_port if proto == "udp" else lab.tcp_echo_port
    with Probe(lab, "ws1", (lab.inet_ip, port), proto=proto) as probe:
        assert probe.wait_replies(5)
        effects(lab, "e.apply_wan(False)")
        cut_at = time.monotonic()
        assert effects(lab, "print(e.wan_up())") == "False"
        # The established flow (UDP conntrack entry or the open TCP connection) stops too.
        assert_stopped(probe, cut_at)

        effects(lab, "e.apply_wan(True)")
        assert effects(lab, "print(e.wan_up())") == "True"
        assert probe.wait_replies(5, since=time.monotonic())


def test_wan_cut_is_idempotent_and_keeps_lan_traffic(clean_lab: Lab) -> None:
    lab = clean_lab
    start_echo(lab, "ws2")
    effects(lab, "e.apply_wan(False); e.apply_wan(False)")
    with Probe(lab, "ws1", (lab.host_ip("ws2"), lab.udp_echo_port)) as lan:
        assert lan.wait_replies(5)


def test_host_block_stops_only_that_hosts_internet(clean_lab: Lab) -> None:
    lab = clean_lab
    start_echo(lab, "ws2")
    ws1_wan = Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)).start()
    ws2_wan = Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)).start()
    ws1_lan = Probe(lab, "ws1", (lab.host_ip("ws2"), lab.udp_echo_port)).start()
    try:
        for p in (ws1_wan, ws2_wan, ws1_lan):
            assert p.wait_replies(5)
        effects(lab, f"e.apply_host_block('{lab.host_ip('ws1')}', True)")
        blocked_at = time.monotonic()
        assert effects(lab, "print(sorted(e.blocked_hosts()))") == str([lab.host_ip("ws1")])

        assert_stopped(ws1_wan, blocked_at)
        assert ws2_wan.wait_replies(5, since=time.monotonic()), "the other host lost its internet"
        assert ws1_lan.wait_replies(5, since=time.monotonic()), "the blocked host lost its LAN"

        effects(lab, f"e.apply_host_block('{lab.host_ip('ws1')}', False)")
        effects(lab, f"e.apply_host_block('{lab.host_ip('ws1')}', False)")  # unblocking twice is fine
        assert effects(lab, "print(sorted(e.blocked_hosts()))") == "[]"
        assert ws1_wan.wait_replies(5, since=time.monotonic())
    finally:
        for p in (ws1_wan, ws2_wan, ws1_lan):
            p.stop()


def test_phone_keeps_sip_while_workstations_are_blocked(clean_lab: Lab) -> None:
    lab = clean_lab
    effects(lab, "\n".join(f"e.apply_host_block('{lab.host_ip(h)}', True)" for h in ("ws1", "ws2")))
    with Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as ws2:
        out = lab.run_python("phone", "import socket\n"
                             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3)\n"
                             "s.sendto(b'OPTIONS sip:x@lab SIP/2.0\\r\\nCall-ID: k\\r\\n\\r\\n', "
                             f"('{lab.inet_ip}', {lab.sip_port}))\nprint(s.recv(2000).decode())").stdout
        assert out.startswith("SIP/2.0 200 OK") and "Call-ID: k" in out
        assert not ws2.wait_replies(1, timeout=SETTLE), "a blocked workstation still reaches the internet"


def test_wlan_effect_switches_the_wlan_link(clean_lab: Lab) -> None:
    lab = clean_lab
    effects(lab, "e.apply_wlan(False)")
    assert not lab.link_up(Lab.ROUTER, "wlan0")
    effects(lab, "e.apply_wlan(True)")
    assert lab.link_up(Lab.ROUTER, "wlan0")


def test_bridge_port_down_cuts_the_host_off(clean_lab: Lab) -> None:
    lab = clean_lab
    with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as ws1, \
            Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as ws2:
        assert ws1.wait_replies(5) and ws2.wait_replies(5)
        lab.run(Lab.SWITCH, "ip", "link", "set", lab.bridge_port("ws1"), "down")
        down_at = time.monotonic()
        assert not lab.link_up(Lab.SWITCH, "ws1")
        assert_stopped(ws1, down_at)
        assert ws2.wait_replies(5, since=time.monotonic())
        lab.set_port("ws1", True)
        assert ws1.wait_replies(5, since=time.monotonic())


def test_teardown_leaves_no_namespace_and_no_process(lab_available: str | None) -> None:
    if lab_available:
        pytest.skip(lab_available)
    with Lab(start_servers=False) as own:
        sleeper = own.popen("ws1", "sleep", "60")
        assert len(own.existing_namespaces()) == len(own.short_names)
    assert own.existing_namespaces() == []
    assert sleeper.poll() is not None


def test_failed_build_cleans_up(lab_available: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if lab_available:
        pytest.skip(lab_available)
    broken = Lab()

    def fail_after_namespaces() -> None:
        raise LabUnavailable("simulated failure after the namespaces exist")

    original_build = broken._build

    def build_then_fail() -> None:
        original_build()
        assert broken.existing_namespaces()
        fail_after_namespaces()

    monkeypatch.setattr(broken, "_build", build_then_fail)
    with pytest.raises(LabUnavailable):
        broken.start()
    assert broken.existing_namespaces() == []
