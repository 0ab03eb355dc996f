"""Turn a flow table into typed findings: beacons, long connections, strobes.

Pairs are scored per (src, dst, dst_port, proto) and, where a DNS/SNI name is known, per
(src, name) across all addresses the name resolved to (CDN-hosted command servers rotate IPs).
Streaming: the flow table reports each connection start; pairs that gained callbacks are marked
dirty and ``poll()`` rescores only those, so a live sniffer has a score after a handful of
callbacks instead of at the end of the day.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from notaus.controller.detection.allowlist import Allowlist
from notaus.controller.detection.flows import PROTO_NAMES, FlowTable, Pair, ip_text, is_internal
from notaus.controller.detection.knowledge import known_periodic, persistent_session
from notaus.controller.detection.pcapio import ReadStats, read_file
from notaus.controller.detection.scoring import (
    ScoringConfig,
    beacon_score,
    long_connection_score,
    strobe_score,
)
from notaus.policies.schema import Policy

Kind = Literal["beacon", "long_connection", "strobe"]


@dataclass
class Detection:
    """One finding about one pair (or one source talking to one name)."""

    src: str
    dst: str
    dst_port: int
    proto: str
    score: float
    interval_s: float | None
    connections: int
    name: str | None
    kind: Kind
    why: list[str] = field(default_factory=list)
    allowed: bool = False
    allow_rule: str | None = None
    bytes_out: int = 0
    bytes_in: int = 0
    scope: str = "internet"          # "lan" when both ends are internal: judged by its own threshold

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        """Identity for de-duplication: per-name findings are keyed by the name, not the IP."""
        target = f"name:{self.name}" if any(w.startswith("Name ") for w in self.why) else self.dst
        return (self.kind, self.src, self.dst_port, self.proto, target)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["score"] = round(self.score, 3)
        if self.interval_s is not None:
            d["interval_s"] = round(self.interval_s, 3)
        return d


@dataclass
class Report:
    detections: list[Detection]
    packets: int
    malformed: int
    other: int
    flows: int
    evicted: int
    pairs: int
    duration_s: float
    truncated: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "detections": [d.to_dict() for d in self.detections],
            "packets": self.packets, "malformed": self.malformed, "other": self.other,
            "flows": self.flows, "evicted": self.evicted, "pairs": self.pairs,
            "duration_s": round(self.duration_s, 3), "truncated": self.truncated,
        }


class Analyzer:
    """Flow table + scorers + allowlist. ``feed`` is the flow table's hot-path method."""

    def __init__(self, policy: Policy | None = None, config: ScoringConfig | None = None,
                 max_pairs: int = 100_000, ring: int = 512, allowlist: Allowlist | None = None,
                 streaming: bool = False) -> None:
        min_conn = policy.detection.min_connections if policy is not None else 6
        self.config = config or ScoringConfig(min_connections=min_conn)
        self.allowlist = allowlist or Allowlist.from_policy(policy)
        self._dirty: set[Pair] = set()
        self.table = FlowTable(max_pairs=max_pairs, ring=ring,
                               on_start=self._on_start if streaming else None)
        self.feed = self.table.feed

    # ------------------------------------------------------------ streaming
    def _on_start(self, pair: Pair, ts: float) -> None:
        n = pair.conns
        if n >= self.config.min_connections and (n < 64 or n % 16 == 0):
            self._dirty.add(pair)

    def poll(self) -> list[Detection]:
        """Rescore pairs (and their name groups) that gained connections since the last poll."""
        dirty, self._dirty = self._dirty, set()
        live = [p for p in dirty if self.table.pairs.get(p.key) is p]
        out: list[Detection] = []
        groups: set[tuple[bytes, str]] = set()
        for p in live:
            out.extend(self.score_pair(p))
            if p.name:
                groups.add((p.src, p.name))
        if groups:
            by_group = self._groups()
            for g in groups:
                members = by_group.get(g, [])
                if len(members) > 1:
                    det = self._score_group(g[1], members)
                    if det is not None:
                        out.append(det)
        return out

    # ------------------------------------------------------------ scoring
    def _finish(self, det: Detection, longest_s: float = 0.0) -> Detection:
        """Allowlist first (the policy's word), then protocol knowledge (see ``knowledge``)."""
        try:
            lan = all(is_internal(ipaddress.ip_address(a).packed) for a in (det.src, det.dst))
        except ValueError:
            lan = False
        det.scope = "lan" if lan else "internet"
        rule = self.allowlist.match(det.src, det.dst, det.dst_port, det.proto, det.name)
        if rule is not None:
            det.allowed = True
            det.allow_rule = rule.name or "Freigabe"
            return det
        known = known_periodic(det.dst, det.dst_port, det.proto, lan)
        if known is None and det.kind == "beacon" and persistent_session(longest_s, det.interval_s):
            known = "Dauerverbindung mit Neuaufbau (z. B. Messenger)"
        if known is not None:
            det.allowed = True
            det.allow_rule = f"bekannt: {known}"
        return det

    def score_pair(self, pair: Pair) -> list[Detection]:
        """All findings for one pair (beacon / long connection / strobe)."""
        cfg = self.config
        src, dst = ip_text(pair.src), ip_text(pair.dst)
        proto = PROTO_NAMES.get(pair.proto, str(pair.proto))
        base = {"src": src, "dst": dst, "dst_port": pair.dport, "proto": proto, "name": pair.name,
                "connections": pair.conns, "bytes_out": pair.bytes_out, "bytes_in": pair.bytes_in}
        out: list[Detection] = []
        starts = list(pair.starts)
        # the ring keeps the latest starts only: its mean interval, scaled to all connections seen
        span = (starts[-1] - starts[0]) * (pair.conns - 1) / max(len(starts) - 1, 1) if starts else 0.0
        st = strobe_score(pair.conns, span, cfg)
        if st is not None:
            out.append(self._finish(Detection(**base, score=st, kind="strobe",  # type: ignore[arg-type]
                                              interval_s=(starts[-1] - starts[0]) / max(len(starts) - 1, 1),
                                              why=[f"{pair.conns} Verbindungen in kurzer Folge (Strobe)"])))
        else:
            res = beacon_score(starts, pair.connection_sizes(), cfg)
            if res is not None:
                out.append(self._finish(Detection(**base, score=res.score, kind="beacon",  # type: ignore[arg-type]
                                                  interval_s=res.period_s, why=res.why),
                                        max(pair.longest, pair.conn_last - pair.start_ts)))
        dur = pair.duration()
        lc = long_connection_score(dur, cfg)
        if lc is not None:
            out.append(self._finish(Detection(**base, score=lc, kind="long_connection",  # type: ignore[arg-type]
                                              interval_s=None,
                                              why=[f"Verbindung seit {dur / 3600:.1f} h offen"])))
        return out

    def _groups(self) -> dict[tuple[bytes, str], list[Pair]]:
        groups: dict[tuple[bytes, str], list[Pair]] = {}
        for p in list(self.table.pairs.values()):
            if p.name:
                groups.setdefault((p.src, p.name), []).append(p)
        return groups

    def _score_group(self, name: str, members: list[Pair]) -> Detection | None:
        starts: list[float] = []
        sizes: list[float] = []
        for p in members:
            starts.extend(p.starts)
            sizes.extend(p.connection_sizes())
        res = beacon_score(starts, sizes, self.config)
        if res is None:
            return None
        top = max(members, key=lambda p: p.conns)
        port = Counter(p.dport for p in members).most_common(1)[0][0]
        addrs = {p.dst for p in members}
        why = [*res.why, f"Name {name} über {len(addrs)} Adressen"]
        det = Detection(src=ip_text(top.src), dst=ip_text(top.dst), dst_port=port,
                        proto=PROTO_NAMES.get(top.proto, str(top.proto)), score=res.score,
                        interval_s=res.period_s, connections=sum(p.conns for p in members), name=name,
                        kind="beacon", why=why, bytes_out=sum(p.bytes_out for p in members),
                        bytes_in=sum(p.bytes_in for p in members))
        return self._finish(det, max(p.longest for p in members))

    def detections(self, min_score: float = 0.0) -> list[Detection]:
        """Score everything in the table; ranked, name groups replacing weaker member rows."""
        out: list[Detection] = []
        covered: dict[tuple[str, str], float] = {}
        for (_src, name), members in self._groups().items():
            if len({p.dst for p in members}) > 1:
                det = self._score_group(name, members)
                if det is not None:
                    out.append(det)
                    for p in members:
                        covered[(ip_text(p.src) + "|" + ip_text(p.dst), f"{p.dport}/{p.proto}")] = det.score
        for pair in list(self.table.pairs.values()):
            for det in self.score_pair(pair):
                group_score = covered.get((det.src + "|" + det.dst, f"{pair.dport}/{pair.proto}"))
                if det.kind == "beacon" and group_score is not None and group_score >= det.score:
                    continue
                out.append(det)
        out = [d for d in out if d.score >= min_score]
        out.sort(key=lambda d: (d.allowed, -d.score, d.src, d.dst))
        return out

    def report(self, min_score: float = 0.0, stats: ReadStats | None = None) -> Report:
        t = self.table
        dur = (t.last_ts - t.first_ts) if t.first_ts is not None else 0.0
        return Report(self.detections(min_score), t.packets, t.malformed, t.other, t.flows, t.evicted,
                      len(t.pairs), max(0.0, dur), stats.truncated + stats.bad_blocks if stats else 0)

    # ------------------------------------------------------------ files
    def analyze_file(self, path: str | Path, min_score: float = 0.0, progress: bool = False,
                     prefilter: bool = False) -> Report:
        """Read a pcap/pcapng and return the ranked report (progress on stderr if asked).

        ``prefilter``: let libpcap drop what the detector does not need (see ``prefilter``); falls
        back to the full reader when libpcap is missing.
        """
        stop = threading.Event()
        if progress:
            threading.Thread(target=self._progress, args=(stop,), daemon=True).start()
        try:
            stats = None
            if prefilter:
                from notaus.controller.detection.prefilter import read_file_prefiltered

                stats = read_file_prefiltered(path, self.table)
            if stats is None:
                stats = read_file(path, self.feed)
        finally:
            stop.set()
        return self.report(min_score, stats)

    def _progress(self, stop: threading.Event) -> None:
        t0 = time.monotonic()
        while not stop.wait(1.0):
            n = self.table.packets
            sys.stderr.write(f"\r{n:,} Pakete analysiert ({n / (time.monotonic() - t0):,.0f}/s) ...")
            sys.stderr.flush()
        sys.stderr.write("\n" if time.monotonic() - t0 >= 1.0 else "")


def rank(detections: Iterable[Detection]) -> list[Detection]:
    return sorted(detections, key=lambda d: (d.allowed, -d.score, d.src, d.dst))
