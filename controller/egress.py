"""Proof from the data plane: after a cut, can notaus itself still reach the internet?

A router-side cut says nothing about a second way out: an LTE backup router, a second DSL line for
the TI-Konnektor, a phone tethered to a PC. So after a ``full`` panic (and in ``status`` while
contained) notaus tries the configured targets from its own interface — TCP connects to IPv4 and
IPv6 addresses and a DNS query — all at once, each bounded by ``egress_probe.timeout`` (about a
second). Only a real answer counts (a completed TCP handshake, a DNS response with our query id):
a refusal or an ICMP error may come from the cut router itself and proves nothing. Nothing at all
is sent when no target is configured (offline lab, demo).

If anything answers, the result, the UI (through the result/status message) and the journal say:
"Es gibt einen zweiten Weg ins Internet: finden und Kabel ziehen".
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from notaus.policies.targets import parse_target

if TYPE_CHECKING:
    from notaus.controller.engine import Engine

MESSAGE_DE = ("Es gibt einen zweiten Weg ins Internet – der Router ist getrennt, aber notaus erreicht das "
              "Internet trotzdem: zweiten Zugang (LTE-Router, zweite Leitung, Handy-Hotspot) finden und dessen "
              "Kabel ziehen!")
MESSAGE_EN = ("There is a second way to the internet – the router is cut but notaus still reaches the internet: "
              "find the second access (LTE router, second line, phone hotspot) and pull its cable!")
#: how long a status reading of the data plane is reused (status is polled by the UI)
STATUS_MAX_AGE = 30.0


@dataclass
class Attempt:
    target: str
    kind: str          # "tcp" | "dns"
    answered: bool
    detail: str


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET


def _try_tcp(target: str, timeout: float) -> Attempt:
    host, port = parse_target(target)
    try:
        with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, port))
        return Attempt(target, "tcp", True, "connected")
    except TimeoutError:
        return Attempt(target, "tcp", False, f"no answer within {timeout:g} s")
    except OSError as exc:
        return Attempt(target, "tcp", False, exc.strerror or type(exc).__name__)


def dns_query(name: str, query_id: int) -> bytes:
    """A minimal recursive DNS query for the A record of ``name`` (RFC 1035 §4.1)."""
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.strip(".").split(".") if p)
    return header + labels + b"\x00" + struct.pack("!HH", 1, 1)


def _try_dns(target: str, name: str, timeout: float) -> Attempt:
    host, port = parse_target(target, default_port=53)
    query_id = secrets.randbelow(0x10000)
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(_family(host), socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(dns_query(name, query_id), (host, port))
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data, _ = sock.recvfrom(4096)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == query_id and data[2] & 0x80:
                    return Attempt(target, "dns", True, f"DNS answer for {name}")
    except TimeoutError:
        return Attempt(target, "dns", False, f"no answer within {timeout:g} s")
    except OSError as exc:
        return Attempt(target, "dns", False, exc.strerror or type(exc).__name__)


def probe(settings: Any) -> dict[str, Any] | None:
    """Try every configured target at once; ``None`` when none is configured (nothing is sent)."""
    cfg = settings.egress_probe
    jobs = [(t, lambda t=t: _try_tcp(t, cfg.timeout)) for t in cfg.tcp]
    jobs += [(t, lambda t=t: _try_dns(t, cfg.dns_name, cfg.timeout)) for t in cfg.dns]
    if not jobs:
        return None
    started = time.monotonic()
    results: dict[int, Attempt] = {}

    def run(i: int, fn: Any) -> None:
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True, name="notaus-egress")
               for i, (_, fn) in enumerate(jobs)]
    for t in threads:
        t.start()
    deadline = started + cfg.timeout + 0.5
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    attempts = [results.get(i) or Attempt(target, "tcp" if i < len(cfg.tcp) else "dns", False, "no result in time")
                for i, (target, _) in enumerate(jobs)]
    answered = [a.target for a in attempts if a.answered]
    return {"reachable": bool(answered), "answered": answered, "attempts": [asdict(a) for a in attempts],
            "seconds": round(time.monotonic() - started, 3)}


def after_panic(engine: Engine, profile: str, outcome: str) -> dict[str, Any] | None:
    """After a panic that cut the WAN: the data-plane check, journaled; ``None`` if not applicable."""
    prof = engine.policy.profiles.get(profile)
    if prof is None or not prof.cut_wan or outcome == "failed":
        return None
    proof = probe(engine.settings)
    if proof is None:
        return None
    _journal(engine, proof, "panic")
    return proof


def for_status(engine: Engine, contained: bool) -> dict[str, Any] | None:
    """The data-plane reading for ``status`` while contained (reused for :data:`STATUS_MAX_AGE` s)."""
    if not contained:
        return None
    cached: tuple[float, dict[str, Any] | None] | None = getattr(engine, "_egress_reading", None)
    if cached is not None and time.monotonic() - cached[0] <= STATUS_MAX_AGE:
        return cached[1]
    proof = probe(engine.settings)
    engine._egress_reading = (time.monotonic(), proof)  # type: ignore[attr-defined]
    if proof is not None and proof["reachable"]:
        _journal(engine, proof, "status")
    return proof


def _journal(engine: Engine, proof: dict[str, Any], when: str) -> None:
    if proof["reachable"]:
        engine.journal.append("warning", {"what": "second_path", "when": when, "message": MESSAGE_DE,
                                          "message_en": MESSAGE_EN, "answered": proof["answered"],
                                          "attempts": proof["attempts"]})
    else:
        engine.journal.append("egress.check", {"when": when, "reachable": False, "attempts": proof["attempts"]})
