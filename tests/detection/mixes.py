"""Labelled 24-hour practice captures per beacon *class*, with a practice's legitimate periodics.

Extends :mod:`corpus` (same primitives, same seeded determinism). Two mixes:

* ``easy``: regular beacons (fixed, Cobalt-Strike 20/50 %, Sliver) and the 45 s beacon with 5 % of
  its callbacks as a burst of 2-5 connections (operator tasks);
* ``hard``: bursts at 25 %, uniform jitter up to 80 % (sleep in [0.2 s, s]), a beacon to a cloud
  address the same host also browses with 3x as many page-load connections, a sleep change, missed
  callbacks, slow beacons with 12 callbacks, a name rotating over CDN addresses.

Both carry the benign periodics a practice has *without a policy* (no roles, no allowlist):
NTP, SIP REGISTER to the registrar, SSDP/mDNS multicast, printer SNMP polling, the TI-Konnektor's
IPsec dead-peer detection, a messaging app's persistent connection, an IMAP poll, and a LAN
monitoring scrape NAS -> server every 15 s +-40 % in bursts - plus aperiodic office traffic.
Labels name a class for every beacon, so recall is reported per class.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.detection.corpus import LAN, PRINTER, T0, Corpus, Label, _schedule, browse, frame

DAY = 24 * 3600.0
PHONE = LAN + "30"
KONNEKTOR = LAN + "40"
NAS = LAN + "50"
SERVER = LAN + "10"

# class -> (style, period s, jitter, callbacks, extras); several copies each
# callbacks 0 = the implant runs all day (as implants do; RITA's histogram and duration scores need it)
EASY: dict[str, tuple[str, float, float, int, dict[str, float]]] = {
    "regular-fixed": ("fixed", 60, 0, 0, {}),
    "regular-cs20": ("cs", 60, 0.2, 0, {}),
    "regular-cs50": ("cs", 120, 0.5, 0, {}),
    "regular-sliver": ("sliver", 60, 30, 0, {}),
    "bursts-5pct": ("cs", 45, 0.1, 0, {"bursts": 0.05}),
}
HARD: dict[str, tuple[str, float, float, int, dict[str, float]]] = {
    "bursts-25pct": ("cs", 60, 0.2, 0, {"bursts": 0.25}),
    "jitter-80pct": ("cs", 60, 0.8, 0, {}),
    "shared-dst": ("cs", 300, 0.3, 0, {"shared": 3}),
    "sleep-change": ("cs", 60, 0.2, 0, {"change": 5}),
    "missed-callbacks": ("cs", 300, 0.2, 0, {"missed": 0.2}),
    "slow-12cb": ("cs", 3600, 0.1, 12, {}),
}


def _beacon(c: Corpus, cls: str, spec: tuple[str, float, float, int, dict[str, float]], src: str, dst: str) -> None:
    rng = c.rng
    style, period, jitter, n, extra = spec
    if not n:
        mean = period * (1 - jitter / 2) if style == "cs" else period + (jitter / 2 if style == "sliver" else 0)
        n = int(0.95 * DAY / mean / (extra.get("change", 1) + 1) * 2) if "change" in extra else int(0.95 * DAY / mean)
    times = _schedule(rng, style, period, n, jitter)
    if "change" in extra:       # the operator changes the sleep halfway through
        times = times[:n // 2]
        while len(times) < n:
            times.append(times[-1] + period * extra["change"] * (1 - rng.uniform(0, jitter)))
    if "missed" in extra:
        times = [times[0]] + [t for t in times[1:-1] if rng.random() >= extra["missed"]] + [times[-1]]
    offset = rng.uniform(0, DAY - (times[-1] - times[0]) - 600)
    times = [t + offset for t in times]
    size = rng.randint(200, 900)
    for t in times:
        c.tcp(t, src, dst, 443, size + rng.randint(0, 40), rng.randint(100, 400))
        if "bursts" in extra and rng.random() < extra["bursts"]:
            for _ in range(rng.randint(1, 4)):      # a burst of 2-5 connections in all
                c.tcp(t + rng.uniform(0.2, 3.0), src, dst, 443, rng.randint(500, 5000), 20000)
    if "shared" in extra:      # the host browses the same cloud address: 3x as many page-load connections
        loads = int(len(times) * extra["shared"])
        t = times[0] + rng.uniform(0, 300)
        while loads > 0:
            k = min(loads, rng.randint(2, 8))
            for _ in range(k):
                c.tcp(t + rng.uniform(0.05, 4), src, dst, 443, rng.randint(300, 3000), rng.randint(2000, 200_000))
            loads -= k
            t += rng.expovariate(len(times) / max(1.0, times[-1] - times[0]))
    c.labels.append(Label("beacon", cls, src, dst, 443, "tcp", callbacks=len(times)))


def _rotating(c: Corpus, copy: int, src: str) -> None:
    name = f"cdn{copy}.telemetry-sync.example-cdn.net"
    ips = [f"198.51.100.{10 * copy + i}" for i in range(4)]
    times = _schedule(c.rng, "cs", 90, int(0.95 * DAY / (90 * 0.85)), 0.3)
    offset = c.rng.uniform(0, DAY - (times[-1] - times[0]) - 600)
    for i, t in enumerate(times):
        ip = ips[i % 4]
        c.dns(t + offset - 0.05, src, name, [ip])
        c.tcp(t + offset, src, ip, 443, 400, 300, sni=name)
    c.labels.append(Label("beacon", "rotating-ips", src, None, 443, "tcp", name=name, callbacks=len(times)))


def _office(c: Corpus, hosts: list[str]) -> None:
    """Aperiodic office traffic over the working day: browsing, SMB, printing."""
    rng = c.rng
    for src in hosts:
        browse(c, src, T0 + 7 * 3600 + rng.expovariate(1 / 600), T0 + 19 * 3600)
        t = T0 + 7 * 3600 + rng.expovariate(1 / 1800)
        while t < T0 + 19 * 3600:
            c.tcp(t, src, SERVER, 445, rng.randint(500, 50_000), rng.randint(1000, 500_000))
            t += rng.expovariate(1 / 1800)
        c.labels.append(Label("benign", "smb", src, SERVER, 445, "tcp"))


def _periodics(c: Corpus, hosts: list[str]) -> None:
    """The practice's legitimate periodic services, all day, with no policy describing them."""
    rng = c.rng
    for src in hosts:
        t = T0 + rng.uniform(0, 1024)
        while t < T0 + DAY:                                    # NTP client, 1024 s poll
            c.udp(t, src, "192.53.103.108", 123, 48, 48, sport=123)
            t += 1024 * rng.uniform(0.98, 1.02)
        c.labels.append(Label("benign", "ntp", src, "192.53.103.108", 123, "udp"))
        t = T0 + rng.uniform(0, 60)
        while t < T0 + DAY:                                    # printer driver polls the printer by SNMP
            c.udp(t, src, PRINTER, 161, 80, 200)
            t += 60 * rng.uniform(0.95, 1.05)
        c.labels.append(Label("benign", "printer-snmp", src, PRINTER, 161, "udp"))
        t = T0 + rng.uniform(0, 300)
        while t < T0 + DAY:                                    # mail client polls IMAP every 5 min
            c.tcp(t, src, "212.227.17.190", 993, rng.randint(900, 1200), rng.randint(1500, 4000))
            t += 300 * rng.uniform(0.99, 1.01)
        c.labels.append(Label("benign", "imap-poll", src, "212.227.17.190", 993, "tcp"))
        t = T0 + rng.uniform(0, 600)
        while t < T0 + DAY:                                    # messenger: persistent session, reconnect ~2 h
            hold = 7200 * rng.uniform(0.9, 1.0)
            c.tcp(t, src, "157.240.0.53", 443, 600, 600, sni="chat.messenger.example", hold=hold, keepalive=240)
            t += hold + rng.uniform(1, 5)
        c.labels.append(Label("benign", "messaging-keepalive", src, "157.240.0.53", 443, "tcp",
                              name="chat.messenger.example"))
    for src in hosts[:3] + [PRINTER]:                          # SSDP / mDNS announcements
        t = T0 + rng.uniform(0, 180)
        while t < T0 + DAY:
            c.packets.append((t, frame(src, "239.255.255.250", 17, 1900, 1900, b"NOTIFY * HTTP/1.1\r\n")))
            c.packets.append((t + 0.1, frame(src, "224.0.0.251", 17, 5353, 5353, bytes(60))))
            t += 180 * rng.uniform(0.9, 1.0)
        c.labels.append(Label("benign", "ssdp-mdns", src, "239.255.255.250", 1900, "udp"))
    t = T0 + 3
    while t < T0 + DAY:                                        # SIP REGISTER to the registrar, no role known
        sp = 5060
        c.packets.append((t, frame(PHONE, "217.0.0.10", 17, sp, 5060, b"REGISTER sip:tel.t-online.de SIP/2.0\r\n"
                                   + bytes(500))))
        c.packets.append((t + 0.03, frame("217.0.0.10", PHONE, 17, 5060, sp, b"SIP/2.0 200 OK\r\n" + bytes(300))))
        t += 600 * rng.uniform(0.97, 1.0)
    c.labels.append(Label("benign", "sip-register", PHONE, "217.0.0.10", 5060, "udp"))
    t = T0 + 7
    while t < T0 + DAY:                                        # TI-Konnektor IPsec dead-peer detection (NAT-T)
        c.udp(t, KONNEKTOR, "100.102.1.1", 4500, 92, 92, sport=4500)
        t += 60 * rng.uniform(0.98, 1.02)
    c.labels.append(Label("benign", "ti-konnektor", KONNEKTOR, "100.102.1.1", 4500, "udp"))
    t = T0 + 11
    while t < T0 + DAY:                                        # monitoring scrape NAS -> server, 15 s +-40 %, bursts
        for _ in range(rng.randint(1, 3)):
            c.tcp(t + rng.uniform(0, 1.5), NAS, SERVER, 9182, 350, rng.randint(20_000, 40_000))
        t += 15 * rng.uniform(0.6, 1.4)
    c.labels.append(Label("benign", "lan-monitoring", NAS, SERVER, 9182, "tcp"))


def build_mix(path: Path, mix: str, seed: int, copies: int = 3) -> Corpus:
    """A 24-hour practice capture with the ``easy`` or ``hard`` beacon classes (see module docstring)."""
    if mix not in ("easy", "hard"):
        raise ValueError("mix is 'easy' or 'hard'")
    c = Corpus(rng=random.Random(seed))
    host = 100
    for copy in range(copies):
        for cls, spec in (EASY if mix == "easy" else HARD).items():
            dst = f"203.0.{113 if copy % 2 else 114}.{host}"
            _beacon(c, cls, spec, f"{LAN}{host}", dst)
            host += 1
        if mix == "hard":
            _rotating(c, copy, f"{LAN}{host}")
            host += 1
    office = [f"{LAN}{h}" for h in range(11, 17)]
    _office(c, office)
    _periodics(c, office)
    c.write(path)
    return c
