"""Capture sources against real peers: a local HTTP server speaking the FRITZ!Box login and capture
protocol, and (as root) a veth pair in a private network namespace for the AF_PACKET ring."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from notaus.controller.detection import fritz
from notaus.controller.detection.flows import FlowTable
from notaus.controller.detection.pcapio import PcapWriter

from .corpus import frame

PASSWORD = "geheim-123"


def _pcap(n: int) -> bytes:
    buf = io.BytesIO()
    w = PcapWriter(buf)
    for i in range(n):
        w.write(1000.0 + i * 60, frame("192.168.178.50", "45.83.10.66", 6, 40000 + i, 443, flags=0x02))
        w.write(1000.05 + i * 60, frame("45.83.10.66", "192.168.178.50", 6, 443, 40000 + i, b"r" * 50))
    return buf.getvalue()


class FakeFritz(BaseHTTPRequestHandler):
    """login_sid.lua (PBKDF2 v2 or MD5) + capture_notimeout streaming a pcap in small chunks."""

    md5 = False
    sid = secrets.token_hex(8)
    challenge = ""
    body = _pcap(40)
    requests_seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _xml(self, sid: str, challenge: str) -> None:
        data = (f"<?xml version='1.0'?><SessionInfo><SID>{sid}</SID><Challenge>{challenge}</Challenge>"
                f"<BlockTime>0</BlockTime></SessionInfo>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        u = urlparse(self.path)
        type(self).requests_seen.append(u.path)
        if u.path == "/login_sid.lua":
            if self.md5:
                type(self).challenge = secrets.token_hex(4)
            else:
                type(self).challenge = f"2$1000${secrets.token_hex(16)}$500${secrets.token_hex(16)}"
            return self._xml(fritz.NO_SID, self.challenge)
        if u.path == "/cgi-bin/capture_notimeout":
            q = parse_qs(u.query)
            if q.get("sid") != [self.sid] or q.get("capture") != ["Start"]:
                self.send_response(403)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            for i in range(0, len(self.body), 333):        # arrives in odd-sized pieces
                self.wfile.write(self.body[i:i + 333])
                self.wfile.flush()
            return
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(n).decode())
        resp = form.get("response", [""])[0]
        ch = self.challenge
        if ch.startswith("2$"):
            _v, i1, s1, i2, s2 = ch.split("$")
            h1 = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), bytes.fromhex(s1), int(i1))
            ok = resp == f"{s2}${hashlib.pbkdf2_hmac('sha256', h1, bytes.fromhex(s2), int(i2)).hex()}"
        else:
            ok = resp == f"{ch}-{hashlib.md5(f'{ch}-{PASSWORD}'.encode('utf-16-le')).hexdigest()}"
        ok = ok and form.get("username") == ["notaus"]
        self._xml(self.sid if ok else fritz.NO_SID, ch)


@pytest.fixture()
def box() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeFritz)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("md5", [False, True])
def test_fritzbox_login_and_capture_stream(box: str, md5: bool) -> None:
    FakeFritz.md5 = md5
    sid = fritz.login(box, "notaus", PASSWORD)
    assert sid == FakeFritz.sid
    ft = FlowTable()
    stats = fritz.capture(box, sid, ft.feed, iface="1-lan")
    assert stats.records == ft.packets == 80 and ft.malformed == 0 and stats.truncated == 0
    pair = next(iter(ft.pairs.values()))
    assert pair.conns == 40 and pair.bytes_in > 0


def test_fritzbox_wrong_password_and_bad_sid(box: str) -> None:
    FakeFritz.md5 = False
    with pytest.raises(fritz.FritzCaptureError, match="Kennwort"):
        fritz.login(box, "notaus", "falsch")
    with pytest.raises(fritz.FritzCaptureError, match="HTTP 403"):
        fritz.capture(box, "0123456789abcdef", FlowTable().feed)


# ----------------------------------------------------------------- live AF_PACKET ring (root)
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="needs root and iproute2")


@pytest.fixture()
def veth_ns() -> Iterator[tuple[str, str]]:
    """A namespace holding one end of a veth pair; the other end is ours (also in a netns)."""
    tag = f"ndt{os.getpid() % 10000}"
    ns_a, ns_b = f"{tag}a", f"{tag}b"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    try:
        run("ip", "netns", "add", ns_a)
        run("ip", "netns", "add", ns_b)
        run("ip", "link", "add", f"{tag}x", "netns", ns_a, "type", "veth", "peer", "name", f"{tag}y", "netns", ns_b)
        for ns, dev, ip in ((ns_a, f"{tag}x", "10.99.0.1/24"), (ns_b, f"{tag}y", "10.99.0.2/24")):
            run("ip", "-n", ns, "addr", "add", ip, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        yield ns_a, ns_b
    finally:
        subprocess.run(["ip", "netns", "del", ns_a], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns_b], capture_output=True)


@needs_root
def test_live_ring_with_kernel_filter_sees_only_matching_traffic(veth_ns: tuple[str, str]) -> None:
    ns_a, ns_b = veth_ns
    tag = ns_a[:-1]
    code = f"""
import sys, threading, time, json
sys.path.insert(0, {os.getcwd()!r})
from notaus.controller.detection.capture import LiveCapture
from notaus.controller.detection.flows import FlowTable
ft = FlowTable()
cap = LiveCapture("{tag}y", bpf="udp and dst port 5555", block_timeout_ms=10)
t = threading.Thread(target=cap.run, args=(ft.feed,)); t.start()
print("ready", flush=True)
sys.stdin.readline()
time.sleep(0.3); cap.stop(); t.join(); cap.close()
print(json.dumps({{"packets": ft.packets, "flows": ft.flows, "ring": cap.stats.ring,
                  "pairs": [(p.dport, p.conns) for p in ft.pairs.values()]}}), flush=True)
"""
    sniffer = subprocess.Popen(["ip", "netns", "exec", ns_b, sys.executable, "-c", code],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sniffer.stdout is not None and sniffer.stdin is not None
        assert sniffer.stdout.readline().strip() == "ready"
        send = ("import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "for i in range(200):\n s.sendto(b'x'*40,('10.99.0.2',5555 if i%2==0 else 6666))\n"
                "for i in range(5):\n"
                "  t=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); t.sendto(b'y',('10.99.0.2',5555))\n")
        subprocess.run(["ip", "netns", "exec", ns_a, sys.executable, "-c", send], check=True)
        sniffer.stdin.write("go\n")
        sniffer.stdin.flush()
        out, _ = sniffer.communicate(timeout=30)
    finally:
        if sniffer.poll() is None:
            sniffer.kill()
    import json
    res = json.loads(out.strip().splitlines()[-1])
    assert res["ring"] is True
    assert res["packets"] == 105                 # 100 to 5555 + 5 from fresh sockets; 6666 filtered in kernel
    assert res["pairs"] == [[5555, 6]]           # one long-lived UDP flow + 5 new source ports
