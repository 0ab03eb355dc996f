"""Deterministic generator of labelled practice captures for the beacon detector.

Everything is seeded, frames are built with ``struct`` and written with the raw pcap writer, so
a corpus of tens of thousands of packets takes well under a second. Each scenario carries a
label (what it is, which pair/name it uses, how many callbacks) the tests score against.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from notaus.controller.detection.pcapio import PcapWriter

LAN = "192.168.178."
RESOLVER = LAN + "1"
FILESERVER = LAN + "10"
PRINTER = LAN + "20"
PHONE = LAN + "30"
KONNEKTOR = LAN + "40"
T0 = 1_700_000_000.0   # capture start (Nov 2023)

_ETH = bytes.fromhex("020000000001" "020000000002" "0800")
_ETH6 = _ETH[:12] + b"\x86\xdd"


def _ip(a: str) -> bytes:
    return ipaddress.ip_address(a).packed


def frame(src: str, dst: str, proto: int, sport: int, dport: int, payload: bytes = b"",
          flags: int = 0x18, vlan: int | None = None, seq: int = 1, ack: int = 1) -> bytes:
    """Ethernet(+802.1Q) / IPv4 or IPv6 / TCP or UDP frame with ``payload``."""
    s, d = _ip(src), _ip(dst)
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                         65535, 0, 0) + payload
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if len(s) == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, s, d)
        eth = _ETH
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, s, d)
        eth = _ETH6
    if vlan is not None:
        eth = eth[:12] + struct.pack("!HH", 0x8100, vlan) + eth[12:]
    return eth + ip + l4


def dns_response(qname: str, addrs: Iterable[str], txid: int = 1) -> bytes:
    """A DNS answer: one question, a CNAME-free list of A/AAAA records (compressed names)."""
    q = b"".join(bytes([len(p)]) + p.encode() for p in qname.split(".")) + b"\x00"
    addrs = list(addrs)
    body = struct.pack("!HHHHHH", txid, 0x8180, 1, len(addrs), 0, 0) + q + struct.pack("!HH", 1, 1)
    for a in addrs:
        raw = _ip(a)
        body += struct.pack("!HHHIH", 0xC00C, 1 if len(raw) == 4 else 28, 1, 60, len(raw)) + raw
    return body


def client_hello(sni: str) -> bytes:
    """A minimal TLS 1.2 ClientHello carrying the server_name extension."""
    name = sni.encode()
    sn = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    ext = struct.pack("!HH", 0, len(sn)) + sn
    body = (b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00"
            + struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


@dataclass
class Label:
    """Ground truth for one scenario."""

    kind: str                 # "beacon" | "benign" | "allowed"
    profile: str
    src: str
    dst: str | None           # None when the beacon rotates IPs (then name is the key)
    dst_port: int
    proto: str
    name: str | None = None
    callbacks: int = 0


@dataclass
class Corpus:
    packets: list[tuple[float, bytes]] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    _port: int = 40000

    def sport(self) -> int:
        self._port = 40000 + (self._port - 39999) % 20000
        return self._port

    # ------------------------------------------------------------ traffic primitives
    def tcp(self, ts: float, src: str, dst: str, dport: int, out_b: int = 300, in_b: int = 1200,
            sni: str | None = None, hold: float = 0.3, keepalive: float | None = None,
            max_segments: int = 20, acks: bool = False) -> None:
        sp = self.sport()
        add = self.packets.append
        cs = cisn = (sp * 2654435761) & 0xFFFFFFFF         # sequence numbers as a real stack counts them
        ss = sisn = (cisn ^ 0x5BD1E995) & 0xFFFFFFFF
        add((ts, frame(src, dst, 6, sp, dport, flags=0x02, seq=cs, ack=0)))
        add((ts + 0.01, frame(dst, src, 6, dport, sp, flags=0x12, seq=ss, ack=cs + 1)))
        cs += 1
        ss += 1
        hello = client_hello(sni) if sni else b""
        first = hello + bytes(max(0, min(out_b, 1400) - len(hello)))
        add((ts + 0.02, frame(src, dst, 6, sp, dport, first, seq=cs, ack=ss)))
        cs += len(first)
        for i in range(1, min(20, out_b // 1400)):
            add((ts + 0.02 + i * 1e-4, frame(src, dst, 6, sp, dport, bytes(1400), seq=cs, ack=ss)))
            cs += 1400
        for i in range(min(max_segments, max(1, in_b // 1400))):
            chunk = min(in_b, 1400)
            add((ts + 0.05 + i * 1e-4, frame(dst, src, 6, dport, sp, bytes(chunk), seq=ss, ack=cs)))
            ss += chunk
            if acks and i % 2:            # delayed ACK: one per two segments
                add((ts + 0.05 + i * 1e-4 + 5e-5, frame(src, dst, 6, sp, dport, flags=0x10, seq=cs, ack=ss)))
        t = ts + 0.05
        if keepalive:
            while t + keepalive < ts + hold:
                t += keepalive
                add((t, frame(src, dst, 6, sp, dport, b"k", flags=0x10, seq=cs, ack=ss)))
                cs += 1
        add((ts + max(hold, 0.06), frame(src, dst, 6, sp, dport, flags=0x11, seq=cs, ack=ss)))
        add((ts + max(hold, 0.06) + 0.01, frame(dst, src, 6, dport, sp, flags=0x11, seq=ss, ack=cs + 1)))
        del cisn, sisn

    def udp(self, ts: float, src: str, dst: str, dport: int, out_b: int = 60, in_b: int = 60,
            sport: int | None = None) -> None:
        sp = sport or self.sport()
        self.packets.append((ts, frame(src, dst, 17, sp, dport, bytes(out_b))))
        self.packets.append((ts + 0.02, frame(dst, src, 17, dport, sp, bytes(in_b))))

    def dns(self, ts: float, src: str, qname: str, addrs: list[str]) -> None:
        sp = self.sport()
        self.packets.append((ts, frame(src, RESOLVER, 17, sp, 53, bytes(30))))
        self.packets.append((ts + 0.005, frame(RESOLVER, src, 17, 53, sp,
                                               dns_response(qname, addrs, sp & 0xFFFF))))

    def write(self, path: Path) -> Path:
        self.packets.sort(key=lambda p: p[0])
        with path.open("wb") as fh:
            w = PcapWriter(fh)
            for ts, fr in self.packets:
                w.write(ts, fr)
            w.close()
        return path


# ---------------------------------------------------------------- beacon profiles
def _schedule(rng: random.Random, style: str, period: float, n: int, jitter: float) -> list[float]:
    """Callback times of a beacon: ``n`` callbacks with the given sleep style."""
    t = T0 + rng.uniform(0, period)
    out = [t]
    while len(out) < n:
        if style == "cs":            # Cobalt Strike: sleep * (1 - U(0, jitter))
            t += period * (1 - rng.uniform(0, jitter))
        elif style == "sliver":      # Sliver: interval + U(0, jitter) seconds
            t += period + rng.uniform(0, jitter)
        else:
            t += period
        out.append(t)
    return out


BEACON_PROFILES: list[tuple[str, str, float, float, int, dict[str, float]]] = [
    # (profile, style, period s, jitter, callbacks, extras)
    ("fixed-60s", "fixed", 60, 0, 40, {}),
    ("cs-20pct", "cs", 60, 0.2, 40, {}),
    ("cs-50pct", "cs", 60, 0.5, 40, {}),
    ("cs-50pct-12cb", "cs", 300, 0.5, 12, {}),
    ("sliver-60+30", "sliver", 60, 30, 40, {}),
    ("sliver-12cb", "sliver", 60, 30, 12, {}),
    ("missed-15pct", "cs", 300, 0.1, 30, {"missed": 0.15}),
    ("missed-cs50", "cs", 120, 0.5, 30, {"missed": 0.1}),
    ("bursts", "cs", 120, 0.3, 30, {"bursts": 0.3}),
    ("slow-hourly", "cs", 3600, 0.1, 12, {}),
    ("udp-30s", "cs", 30, 0.2, 40, {"udp": 1}),
]


def add_beacons(c: Corpus, copies: int = 3) -> None:
    rng = c.rng
    host = 100
    for copy in range(copies):
        for profile, style, period, jitter, n, extra in BEACON_PROFILES:
            src = f"{LAN}{host}"
            host += 1
            dst = f"203.0.{113 if copy % 2 else 114}.{host}"
            times = _schedule(rng, style, period, n, jitter)
            if "missed" in extra:
                keep = [times[0]] + [t for t in times[1:-1] if rng.random() >= extra["missed"]] + [times[-1]]
                times = keep
            udp = "udp" in extra
            port = 443 if not udp else 4443
            size = rng.randint(200, 900)
            for t in times:
                if udp:
                    c.udp(t, src, dst, port, size, 80)
                else:
                    c.tcp(t, src, dst, port, size + rng.randint(0, 40), rng.randint(100, 400))
                if "bursts" in extra and rng.random() < extra["bursts"]:
                    for _ in range(rng.randint(1, 4)):
                        c.tcp(t + rng.uniform(0.2, 3.0), src, dst, port, rng.randint(500, 5000), 20000)
            c.labels.append(Label("beacon", profile, src, dst, port, "udp" if udp else "tcp",
                                  callbacks=len(times)))
        # a beacon whose domain rotates over four CDN addresses (only the name ties it together)
        src = f"{LAN}{host}"
        host += 1
        name = f"cdn{copy}.update-check.example-cdn.net"
        ips = [f"198.51.100.{10 * copy + i}" for i in range(4)]
        times = _schedule(rng, "cs", 90, 36, 0.3)
        for i, t in enumerate(times):
            ip = ips[i % 4]
            c.dns(t - 0.05, src, name, [ip])
            c.tcp(t, src, ip, 443, 400, 300, sni=name)
        c.labels.append(Label("beacon", "rotating-ips", src, None, 443, "tcp", name=name, callbacks=len(times)))


# ---------------------------------------------------------------- benign and allowed traffic
SITES = [(f"www.site{i}.example", f"93.184.{i // 10}.{i % 10 + 1}") for i in range(40)]


def add_benign(c: Corpus, hours: float = 12.0) -> None:
    rng = c.rng
    span = hours * 3600
    for h in range(10, 16):                       # office workstations browsing
        src = f"{LAN}{h}"
        browse(c, src, T0 + rng.expovariate(1 / 600), T0 + span)
        t = T0 + rng.expovariate(1 / 1800)        # SMB file share, random opens
        while t < T0 + span:
            c.tcp(t, src, FILESERVER, 445, rng.randint(500, 50_000), rng.randint(1000, 500_000))
            t += rng.expovariate(1 / 1800)
        c.labels.append(Label("benign", "smb", src, FILESERVER, 445, "tcp"))
        for _ in range(rng.randint(1, 5)):        # printing
            c.tcp(T0 + rng.uniform(0, span), src, PRINTER, 9100, rng.randint(10_000, 90_000), 100)
        c.labels.append(Label("benign", "printer", src, PRINTER, 9100, "tcp"))
    # nightly backup: one burst of many connections to the backup provider
    t = T0 + span - 1800
    for _ in range(40):
        c.tcp(t + rng.uniform(0, 600), FILESERVER, "185.10.10.10", 443, 1_000_000, 2000)
    c.labels.append(Label("benign", "backup", FILESERVER, "185.10.10.10", 443, "tcp"))
    # a long-lived connection (cloud sync with keep-alives, 3 hours)
    c.tcp(T0 + 100, f"{LAN}11", "151.101.1.1", 443, 500, 500, hold=3 * 3600, keepalive=45)
    c.labels.append(Label("benign", "long-connection", f"{LAN}11", "151.101.1.1", 443, "tcp"))


def add_allowed(c: Corpus, hours: float = 12.0) -> None:
    rng = c.rng
    span = hours * 3600
    for h in range(10, 16):
        src = f"{LAN}{h}"
        t = T0 + rng.uniform(0, 64)
        while t < T0 + span:                      # NTP, fixed 1024 s poll
            c.udp(t, src, "192.53.103.108", 123, 48, 48, sport=123)
            t += 1024
        c.labels.append(Label("allowed", "ntp", src, "192.53.103.108", 123, "udp"))
        t = T0 + rng.uniform(0, 300)
        while t < T0 + span:                      # Windows update check, ~ every 15 min
            name = "fe2.update.microsoft.com"
            c.dns(t, src, name, ["20.72.205.209"])
            c.tcp(t + 0.05, src, "20.72.205.209", 443, 900, 3000, sni=name)
            t += 900 * (1 - rng.uniform(0, 0.1))
        c.labels.append(Label("allowed", "windows-update", src, "20.72.205.209", 443, "tcp",
                              name="fe2.update.microsoft.com"))
        t = T0 + rng.uniform(0, 60)
        while t < T0 + span:                      # DNS keep-warm lookups to the LAN resolver
            c.dns(t, src, "connectivity.example", ["93.184.0.1"])
            t += 300
        c.labels.append(Label("allowed", "dns-lan", src, RESOLVER, 53, "udp"))
    t = T0 + 5
    while t < T0 + span:                          # SIP REGISTER every 60 s from the phone
        c.udp(t, PHONE, "217.0.0.10", 5060, 600, 400, sport=5060)
        t += 60
    c.labels.append(Label("allowed", "sip-register", PHONE, "217.0.0.10", 5060, "udp"))
    t = T0 + 7
    while t < T0 + span:                          # TI-Konnektor heartbeat every 5 min
        c.tcp(t, KONNEKTOR, "100.102.1.1", 443, 700, 700)
        t += 300
    c.labels.append(Label("allowed", "ti-heartbeat", KONNEKTOR, "100.102.1.1", 443, "tcp"))


def build_practice(path: Path, seed: int = 1, copies: int = 3) -> Corpus:
    """The standard labelled corpus: beacons, benign office traffic and legitimate periodic services."""
    c = Corpus(rng=random.Random(seed))
    add_beacons(c, copies)
    add_benign(c)
    add_allowed(c)
    c.write(path)
    return c


def practice_hosts() -> list[dict[str, str]]:
    """Host inventory (for a Policy) matching the corpus."""
    return [
        {"name": "telefon", "ip": PHONE, "role": "phone"},
        {"name": "konnektor", "ip": KONNEKTOR, "role": "ti-konnektor"},
        {"name": "server", "ip": FILESERVER, "role": "server"},
        {"name": "drucker", "ip": PRINTER, "role": "printer"},
    ]


def build_flows(path: Path, packets: int, seed: int = 7, data_packets: int = 60) -> int:
    """A capture shaped like office traffic for throughput figures: TCP connections with a
    handshake, a TLS hello, ``data_packets`` downstream segments (and the client's ACKs every
    other one), FINs both ways; one DNS exchange per connection. Sequence numbers are real."""
    c = Corpus(rng=random.Random(seed))
    rng = c.rng
    ts = T0
    i = 0
    while len(c.packets) < packets:
        src = f"10.1.{(i // 250) % 240}.{i % 250 + 1}"
        site, ip = SITES[i % len(SITES)]
        c.dns(ts, src, site, [ip])
        c.tcp(ts + 0.01, src, ip, 443, rng.randint(300, 1200), data_packets * 1400, sni=site, hold=0.5,
              max_segments=data_packets, acks=True)
        ts += 0.05
        i += 1
    del c.packets[packets:]
    c.write(path)
    return packets


def build_bulk(path: Path, packets: int, seed: int = 7, pairs: int = 2000) -> int:
    """A large capture for benchmarks: many TCP connections with ~10 data packets each."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    for i in range(pairs):
        src = f"10.{1 + i // 60000}.{(i // 250) % 240}.{i % 250 + 1}"
        dst = f"93.{184 + i % 7}.{i % 200}.{1 + i % 250}"
        sp = 1024 + i
        frames.append(frame(src, dst, 6, sp, 443, flags=0x02))
        frames.append(frame(dst, src, 6, 443, sp, bytes(rng.randint(0, 1200))))
        frames.append(frame(src, dst, 6, sp, 443, bytes(rng.randint(0, 400))))
        frames.append(frame(src, dst, 17, sp, 53, bytes(40)))
    written = 0
    ts = T0
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        n = len(frames)
        while written < packets:
            fr = frames[written % n]
            w.write(ts, fr)
            ts += 0.0001
            written += 1
        w.close()
    return written


def browse(c: Corpus, src: str, start: float, end: float) -> None:
    """``src`` browses from ``start`` to ``end``: page visits at random, each touching a few sites
    (a DNS answer, then 2-8 HTTPS connections of page-load sizes); labelled benign."""
    rng = c.rng
    t = start
    while t < end:
        for _ in range(rng.randint(1, 4)):
            site, ip = rng.choice(SITES)
            c.dns(t, src, site, [ip])
            for _ in range(rng.randint(2, 8)):
                c.tcp(t + rng.uniform(0.05, 4), src, ip, 443, rng.randint(300, 3000),
                      rng.randint(2000, 200_000), sni=site)
        t += rng.expovariate(1 / 600)
    c.labels.append(Label("benign", "browsing", src, None, 443, "tcp"))
