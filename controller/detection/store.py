"""The detection store: what the detector found, read back from the journal (its one home).

The live detector (``notaus detect --live``) usually runs in its own process; the web service, the
``/metrics`` endpoint and the incident record run in another. They share the tamper-evident
journal, and the :class:`~controller.detection.response.Responder` already journals every finding
(``detection``), the decision taken (``detection.decision``) and the action's outcome
(``detection.action``). A second database would be a second truth that can disagree with the
journal, so this store is a *view*: it folds those entries into one record per finding, with the
incident whose journal range contains it. Reads are bounded (``scan`` newest entries).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class EntryLike(Protocol):
    seq: int
    ts: str
    kind: str
    actor: str
    data: dict[str, Any]


class JournalReader(Protocol):
    def entries(self, after: int = 0, limit: int = 100, kind: str | None = None) -> list[Any]: ...

    def head(self) -> Any: ...


class IncidentLike(Protocol):
    id: str
    seq_start: int
    seq_end: int | None


@dataclass
class StoredDetection:
    """One finding as the staff see it: who, to where, how sure, why, what was decided, which incident."""

    seq: int
    ts: str
    src: str
    dst: str
    dst_port: int
    proto: str
    name: str | None
    kind: str
    score: float
    band: str
    interval_s: float | None
    connections: int
    evidence: list[str] = field(default_factory=list)
    allowed: bool = False
    allow_rule: str | None = None
    decision: str | None = None          # alert | ask | isolate | allowed (None: not decided yet)
    outcome: str | None = None           # outcome of the isolation, if one was attempted
    pcap_sha256: str | None = None
    incident: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _same(a: dict[str, Any], b: StoredDetection) -> bool:
    return (a.get("src") == b.src and a.get("dst") == b.dst and a.get("dst_port") == b.dst_port
            and a.get("kind", b.kind) == b.kind)


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class DetectionStore:
    """Journal-backed view of findings, newest first."""

    def __init__(self, journal: JournalReader, incidents: list[IncidentLike] | None = None,
                 scan: int = 5000) -> None:
        self.journal = journal
        self.incidents = incidents or []
        self.scan = scan

    def _entries(self) -> list[EntryLike]:
        head = self.journal.head()
        last = head.seq if head is not None else 0
        return list(self.journal.entries(after=max(0, last - self.scan), limit=self.scan, kind="detection"))

    def _incident_for(self, seq: int) -> str | None:
        for inc in self.incidents:
            if inc.seq_start <= seq and (inc.seq_end is None or seq <= inc.seq_end):
                return inc.id
        return None

    def all(self, limit: int = 200) -> list[StoredDetection]:
        """Findings (newest first), each with its decision, action outcome and incident."""
        found: list[StoredDetection] = []
        for e in self._entries():
            d = e.data
            if e.kind == "detection":
                found.append(StoredDetection(
                    seq=e.seq, ts=e.ts, src=str(d.get("src", "?")), dst=str(d.get("dst", "?")),
                    dst_port=int(_num(d.get("dst_port"))), proto=str(d.get("proto", "?")),
                    name=d.get("name"), kind=str(d.get("kind", "beacon")), score=round(_num(d.get("score")), 3),
                    band=str(d.get("band", "alert")),
                    interval_s=_num(d["interval_s"]) if d.get("interval_s") is not None else None,
                    connections=int(_num(d.get("connections"))), evidence=[str(w) for w in d.get("why") or []],
                    allowed=bool(d.get("allowed")), allow_rule=d.get("allow_rule"),
                    decision="allowed" if d.get("allowed") else None, incident=self._incident_for(e.seq)))
            elif e.kind == "detection.decision":
                for det in reversed(found):
                    if _same(d, det) and det.decision is None:
                        det.decision = str(d.get("decision"))
                        ev = d.get("evidence") if isinstance(d.get("evidence"), dict) else {}
                        det.pcap_sha256 = ev.get("pcap_sha256") if ev else None
                        break
            elif e.kind == "detection.action":
                for det in reversed(found):
                    if det.src == d.get("src") and det.decision == "isolate" and det.outcome is None:
                        det.outcome = str(d.get("outcome"))
                        break
        found.reverse()
        return found[:limit]

    def counts(self) -> dict[str, int]:
        """Findings per band/decision for ``notaus_detections``."""
        c: Counter[str] = Counter()
        for det in self.all(limit=self.scan):
            c["allowed" if det.allowed else det.band] += 1
        return dict(c)


def store_for_engine(engine: Any) -> DetectionStore:
    """The store over ``engine.journal``, linking findings to the engine's incidents (when readable)."""
    incidents: list[Any] = []
    try:
        from notaus.controller.incident import IncidentManager

        mgr = IncidentManager.for_engine(engine)
        mgr.sync()
        incidents = list(mgr.all())
    except Exception:  # noqa: BLE001 - detections stay visible even if the incident database is unreadable
        incidents = []
    return DetectionStore(engine.journal, incidents)
