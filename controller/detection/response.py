"""What happens when a detection crosses a policy band: journal, decide, maybe isolate, keep evidence.

Every finding at or above ``alert_score`` is journaled (kind ``detection``) once per pair and
band; the decision (``detection.decision``: alert / ask / isolate) follows the policy, and an
isolate goes through the guardrail layer (:mod:`controller.guardrails`: host identity, protected
hosts, ``max_auto_isolations``, approval queue) and from there through the engine's own guards. The
evidence a forensic examiner needs is secured at that moment: a pcap of the suspect host's
recent traffic from a bounded per-host ring, its SHA-256, and what the host sent to the internet.

Follow-up sensitivity (guide 3.5.6): after an incident, attackers often come back through a second
foothold. While an incident's follow-up period runs (``IncidentManager.followup_until()``), both
thresholds drop by :data:`FOLLOWUP_DELTA` (0.1), but never below :data:`FOLLOWUP_FLOOR` (0.5) - a
policy that already sets a threshold under the floor keeps it. The journal entry of each finding
records the thresholds that applied and whether follow-up was active, so a decision stays explainable.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import mmap
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from notaus.controller.detection.analyzer import Detection
from notaus.controller.detection.flows import FlowTable, is_internal
from notaus.controller.detection.pcapio import PcapWriter
from notaus.policies.schema import Policy


class JournalLike(Protocol):
    def append(self, kind: str, data: dict[str, Any], actor: str = "system") -> Any: ...


class ResultLike(Protocol):
    @property
    def outcome(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class EngineLike(Protocol):
    def isolate(self, host: str, *, actor: str, reason: str = "", source: str = "manual",
                evidence: dict[str, Any] | None = None, method: str = "auto") -> ResultLike: ...


class GateLike(Protocol):
    """The controller's guardrail layer for automatic isolations (``controller.guardrails.AgentGate``):
    host identity, protected hosts refused, a budget per time window, beyond it an approval queue."""

    def request(self, host: str, *, agent: str, reason: str = "", source: str = "agent",
                evidence: dict[str, Any] | None = None, actor: str | None = None) -> Any: ...


Buffer = bytes | bytearray | memoryview | mmap.mmap


class HostRing:
    """Recent raw frames per internal host, bounded in bytes per host and in number of hosts."""

    def __init__(self, bytes_per_host: int = 4 << 20, max_hosts: int = 512) -> None:
        self.bytes_per_host = bytes_per_host
        self.max_hosts = max_hosts
        self._rings: OrderedDict[bytes, tuple[deque[tuple[float, bytes, int]], list[int]]] = OrderedDict()

    def feed(self, buf: Buffer, off: int, caplen: int, wirelen: int, ts: float, linktype: int) -> None:
        if linktype != 1 or caplen < 34:
            return
        et = (buf[off + 12] << 8) | buf[off + 13]
        p = off + 14
        if et == 0x8100 and caplen >= 38:
            et = (buf[p + 2] << 8) | buf[p + 3]
            p += 4
        if et == 0x0800:
            addrs = (bytes(buf[p + 12:p + 16]), bytes(buf[p + 16:p + 20]))
        elif et == 0x86DD and caplen >= p - off + 40:
            addrs = (bytes(buf[p + 8:p + 24]), bytes(buf[p + 24:p + 40]))
        else:
            return
        frame = bytes(buf[off:off + caplen])
        for a in addrs:
            if is_internal(a):
                self._add(a, ts, frame, wirelen)

    def _add(self, host: bytes, ts: float, frame: bytes, wirelen: int) -> None:
        entry = self._rings.get(host)
        if entry is None:
            if len(self._rings) >= self.max_hosts:
                self._rings.popitem(last=False)
            entry = (deque(), [0])
            self._rings[host] = entry
        else:
            self._rings.move_to_end(host)
        ring, size = entry
        ring.append((ts, frame, wirelen))
        size[0] += len(frame)
        while size[0] > self.bytes_per_host and ring:
            size[0] -= len(ring.popleft()[1])

    def frames(self, host: str) -> list[tuple[float, bytes, int]]:
        entry = self._rings.get(ipaddress.ip_address(host).packed)
        return list(entry[0]) if entry else []

    def write_pcap(self, host: str, path: Path) -> tuple[int, str]:
        """Write the host's ring to ``path``; return (packets, sha256 hex)."""
        frames = self.frames(host)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            w = PcapWriter(fh)
            for ts, frame, wirelen in frames:
                w.write(ts, frame, wirelen)
            w.close()
        return len(frames), hashlib.sha256(path.read_bytes()).hexdigest()


_BANDS = {"alert": 1, "isolate": 2}
#: the gate's decision as the outcome journaled in ``detection.action``
_GATE_OUTCOME = {"isolated": "done", "partial": "partial", "failed": "failed", "refused": "refused",
                 "queued": "queued", "duplicate": "duplicate"}

#: how much lower both thresholds are while an incident's follow-up period is active
FOLLOWUP_DELTA = 0.1
#: ... but never lower than this (a policy threshold already below it is kept as it is)
FOLLOWUP_FLOOR = 0.5


@dataclass(frozen=True)
class Thresholds:
    """The score bands in force right now."""

    alert: float
    isolate: float
    followup: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"alert": self.alert, "isolate": self.isolate, "followup": self.followup}


def lowered(threshold: float) -> float:
    """``threshold`` during follow-up: minus FOLLOWUP_DELTA, floored at FOLLOWUP_FLOOR, never raised."""
    return min(threshold, max(FOLLOWUP_FLOOR, round(threshold - FOLLOWUP_DELTA, 6)))


@dataclass
class Responder:
    """Decide per policy band; dedupe per pair; secure evidence (see module docstring)."""

    policy: Policy
    journal: JournalLike
    engine: EngineLike | None = None
    #: automatic isolations go through this guardrail layer (controller.guardrails.AgentGate: budget,
    #: protected hosts, approval); built on the engine's state dir if not given
    gate: GateLike | None = None
    table: FlowTable | None = None
    ring: HostRing | None = None
    evidence_dir: Path | None = None
    actor: str = "detection"
    #: e.g. ``IncidentManager.for_engine(engine).followup_until``; None = no follow-up sensitivity
    followup_until: Callable[[], datetime | None] | None = None
    #: how long one answer of ``followup_until`` is reused (it reads the incident database)
    followup_check_s: float = 30.0
    decided: dict[tuple[str, str, int, str, str], str] = field(default_factory=dict)
    isolated: set[str] = field(default_factory=set)
    pending_asks: list[dict[str, Any]] = field(default_factory=list)
    _followup_cache: tuple[float, bool] | None = field(default=None, init=False, repr=False)

    def set_policy(self, policy: Policy) -> None:
        """Swap thresholds/response at run time (allowlists live in the Analyzer)."""
        self.policy = policy

    def followup_active(self) -> bool:
        """Is an incident's follow-up period running? (cached for ``followup_check_s``)"""
        if self.followup_until is None:
            return False
        now = time.monotonic()
        cached = self._followup_cache
        if cached is not None and now - cached[0] < self.followup_check_s:
            return cached[1]
        try:
            active = self.followup_until() is not None
        except Exception:  # noqa: BLE001 - a broken incident DB must not stop detection; normal bands apply
            active = False
        self._followup_cache = (now, active)
        return active

    def thresholds(self) -> Thresholds:
        """Alert/isolate thresholds in force now (lowered during follow-up, see module docstring)."""
        cfg = self.policy.detection
        if self.followup_active():
            return Thresholds(lowered(cfg.alert_score), lowered(cfg.isolate_score), followup=True)
        return Thresholds(cfg.alert_score, cfg.isolate_score)

    def handle(self, det: Detection) -> str | None:
        """Journal and act on one finding; returns the decision taken now, or None (below/already)."""
        cfg = self.policy.detection
        bands = self.thresholds()
        if det.score < bands.alert:
            return None
        if det.scope == "lan" and (cfg.lan_alert_score is None or det.score < cfg.lan_alert_score):
            return None          # LAN-internal pairs: their own threshold, report-only by default
        band = "isolate" if det.score >= bands.isolate else "alert"
        prev = self.decided.get(det.key)
        if prev is not None and _BANDS[prev] >= _BANDS[band]:
            return None
        self.decided[det.key] = band
        self.journal.append("detection", {**det.to_dict(), "band": band, "thresholds": bands.to_dict()},
                            self.actor)
        if det.allowed:
            return "allowed"
        decision = cfg.response if band == "isolate" else "alert"
        evidence = self.collect_evidence(det)
        self.journal.append("detection.decision", {
            "decision": decision, "src": det.src, "dst": det.dst, "dst_port": det.dst_port,
            "proto": det.proto, "name": det.name, "score": round(det.score, 3), "kind": det.kind,
            "followup": bands.followup, "evidence": evidence}, self.actor)
        if decision == "ask":
            self.pending_asks.append({"src": det.src, "detection": det.to_dict(), "evidence": evidence})
        elif decision == "isolate":
            self._isolate(det, evidence)
        return decision

    def _isolate(self, det: Detection, evidence: dict[str, Any]) -> None:
        """The one place an automatic isolation leaves the detector: always through the guardrail layer
        (host identity, protected hosts, max_auto_isolations, approval queue), never the engine directly."""
        if det.src in self.isolated:
            return
        if self.engine is None and self.gate is None:
            self.journal.append("detection.action", {
                "src": det.src, "outcome": "skipped",
                "message": "Keine Steuerung angebunden - Rechner bitte von Hand vom Netz trennen."}, self.actor)
            return
        reason = (f"Beaconing-Verdacht: {det.src} -> {det.name or det.dst}:{det.dst_port} "
                  f"(Score {det.score:.2f}, {det.kind})")
        if self.gate is None:
            from notaus.controller.guardrails import gate_for_engine
            self.gate = gate_for_engine(self.engine)
        decision = self.gate.request(det.src, agent="detection", reason=reason, source="detection",
                                     evidence=evidence, actor=self.actor)
        outcome = _GATE_OUTCOME.get(decision.decision, decision.decision)
        if outcome in ("done", "partial", "queued", "duplicate"):
            self.isolated.add(det.src)
        self.journal.append("detection.action", {
            "src": det.src, "outcome": outcome, "via": "guardrails",
            "result": decision.result if decision.result is not None else {"detail": decision.detail},
            "guardrail": {"decision": decision.decision, "request_id": decision.request_id,
                          "detail": decision.detail}}, self.actor)

    def collect_evidence(self, det: Detection) -> dict[str, Any]:
        ev: dict[str, Any] = {"detection": det.to_dict()}
        if self.table is not None:
            with contextlib.suppress(ValueError):
                ev["bytes_out_internet"] = self.table.bytes_out_by_dst(ipaddress.ip_address(det.src).packed)
        if self.ring is not None:
            base = self.evidence_dir or Path(self.policy.controller.state_dir) / "evidence"
            safe = re.sub(r"[^0-9A-Za-z.]", "_", det.src)
            path = base / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{safe}.pcap"
            packets, digest = self.ring.write_pcap(det.src, path)
            ev.update({"pcap": str(path), "pcap_sha256": digest, "pcap_packets": packets})
        return ev
