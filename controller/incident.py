"""The incident record: what notaus knows about one security incident, gathered from the journal.

An incident is opened by a panic, an isolation, a high-score detection, or by hand. Its facts are
never copied out of the journal: the record holds only what the journal cannot (the id, the
editable *moment of knowledge* that starts the 72-hour reporting clock, uploaded files, report
drafts), and the timeline is the journal range from the entry that started the incident. So the
report a forensic examiner reads is provably the journal, checkable with ``notaus journal verify``.

Opening is derived from the journal, not from call sites: :meth:`IncidentManager.sync` scans new
entries for triggers. The service calls it from a journal listener; a CLI ``notaus panic`` in
another process is picked up the next time anyone looks at incidents. The scan position lives in
the incident database, so every process agrees on which incident an entry opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notaus.controller.checklists import ITEMS
from notaus.controller.journal import Entry, Journal
from notaus.controller.sqlite import SqliteStore

#: journal kinds that belong to an incident's story even if another process wrote them
TRIGGER_KINDS = ("panic.result", "isolate.result", "detection.decision")
DEFAULT_ISOLATE_SCORE = 0.9
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, seq_start INTEGER NOT NULL, seq_end INTEGER, opened_at TEXT NOT NULL,
    knowledge_at TEXT NOT NULL, trigger TEXT NOT NULL, trigger_seq INTEGER, status TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '', reported_at TEXT, report_reference TEXT, closed_at TEXT,
    deadline_id INTEGER);
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT NOT NULL, incident TEXT NOT NULL, name TEXT NOT NULL, stored TEXT NOT NULL,
    kind TEXT NOT NULL, size INTEGER NOT NULL, uploaded_at TEXT NOT NULL, actor TEXT NOT NULL,
    seq INTEGER, PRIMARY KEY (incident, sha256));
CREATE TABLE IF NOT EXISTS drafts (
    incident TEXT NOT NULL, kind TEXT NOT NULL, content TEXT NOT NULL, updated_at TEXT NOT NULL,
    actor TEXT NOT NULL, PRIMARY KEY (incident, kind));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str) -> datetime:
    """ISO 8601 with or without zone (a zoneless time is taken as UTC); ``ValueError`` with a hint."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a time; use e.g. 2024-05-03T08:15 or 2024-05-03T08:15+02:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass
class Incident:
    id: str
    seq_start: int
    seq_end: int | None
    opened_at: str
    knowledge_at: str          # moment of knowledge (Art. 33 GDPR clock), editable
    trigger: str               # panic | isolation | detection | manual
    trigger_seq: int | None
    status: str                # open | closed
    title: str = ""
    reported_at: str | None = None
    report_reference: str | None = None
    closed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass
class StoredFile:
    sha256: str
    incident: str
    name: str
    stored: str
    kind: str
    size: int
    uploaded_at: str
    actor: str
    seq: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def followup_active_until(incident: Incident, followup_days: int, now: datetime | None = None) -> datetime | None:
    """Until when detection should stay more sensitive after ``incident`` (guide 3.5.6).

    An open incident keeps it raised (returns ``now + followup_days``); a closed one for
    ``followup_days`` after it was closed. ``None`` when follow-up is switched off (0 days).
    """
    if followup_days <= 0:
        return None
    if incident.is_open or not incident.closed_at:
        return (now or utcnow()) + timedelta(days=followup_days)
    return parse_time(incident.closed_at) + timedelta(days=followup_days)


class IncidentStore(SqliteStore):
    """The few facts the journal cannot hold, in ``<state_dir>/incidents.sqlite``."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)



_COLUMNS = ("id, seq_start, seq_end, opened_at, knowledge_at, trigger, trigger_seq, status, title, "
            "reported_at, report_reference, closed_at")


class IncidentManager:
    """Open, read and annotate incidents; every change is journaled first-class (``incident.*``)."""

    def __init__(self, journal: Journal, state_dir: str | Path, *, isolate_score: float = DEFAULT_ISOLATE_SCORE,
                 followup_days: int = 14) -> None:
        self.journal = journal
        self.state_dir = Path(state_dir)
        self.files_dir = self.state_dir / "incident-files"
        self.store = IncidentStore(self.state_dir / "incidents.sqlite")
        self.isolate_score = isolate_score
        self.followup_days = followup_days
        self._sync_lock = threading.Lock()
        self._local = threading.local()
        self._deadlines: Any = None

    @classmethod
    def for_engine(cls, engine: Any) -> IncidentManager:
        """One manager per engine, cached on it, listening to its journal."""
        existing = getattr(engine, "incidents", None)
        if isinstance(existing, IncidentManager):
            return existing
        policy = engine.policy
        mgr = cls(engine.journal, getattr(engine, "state_dir", Path(policy.controller.state_dir)),
                  isolate_score=policy.detection.isolate_score, followup_days=policy.schedules.followup_days)
        mgr.attach()
        engine.incidents = mgr
        return mgr

    def attach(self) -> None:
        """Listen to the journal so that a panic/isolation/detection opens an incident at once."""
        self.journal.add_listener(self._on_entry)

    def close(self) -> None:
        self.store.close()
        if self._deadlines is not None:
            self._deadlines.close()

    # ------------------------------------------------------------------- 72-hour reminders
    def _deadline_store(self) -> Any:
        """The scheduler's deadline records (``controller.deadlines``) in the state database."""
        if self._deadlines is None:
            from notaus.controller.deadlines import DeadlineStore

            self._deadlines = DeadlineStore(self.state_dir / "state.sqlite")
        return self._deadlines

    def _start_deadline(self, incident_id: str, knowledge_at: str) -> None:
        try:
            d = self._deadline_store().open_incident(knowledge_at, label=incident_id)
        except Exception:  # noqa: BLE001 - reminders are a convenience; the record and countdown stand
            log.exception("could not start the reminder clock for %s", incident_id)
            return
        with self.store.tx() as db:
            db.execute("UPDATE incidents SET deadline_id=? WHERE id=?", (d.id, incident_id))

    def _stop_deadline(self, incident_id: str, actor: str) -> None:
        rows = self.store.query("SELECT deadline_id FROM incidents WHERE id=?", (incident_id,))
        if rows and rows[0][0] is not None:
            try:
                self._deadline_store().acknowledge_reported(int(rows[0][0]), actor=actor)
            except Exception:  # noqa: BLE001
                log.exception("could not stop the reminder clock for %s", incident_id)

    def _on_entry(self, entry: Entry) -> None:
        if entry.kind in TRIGGER_KINDS:
            self.sync()

    # -------------------------------------------------------------------------------- opening
    def _is_trigger(self, e: Entry) -> str | None:
        outcome = e.data.get("outcome")
        if e.actor.startswith("drill:"):
            return None   # a practice cut is announced, not an incident: no 72-hour countdown
        if e.kind == "panic.result" and outcome in ("done", "partial", "failed"):
            return "panic"
        if e.kind == "isolate.result" and outcome in ("done", "partial"):
            return "isolation"
        if e.kind == "detection.decision":
            inner = e.data.get("detection")
            det: dict[str, Any] = inner if isinstance(inner, dict) else e.data
            try:
                score = float(det.get("score", e.data.get("score", 0)) or 0)
            except (TypeError, ValueError):
                score = 0.0
            if score >= self.isolate_score:
                return "detection"
        return None

    def _story_start(self, e: Entry, trigger: str) -> int:
        """The first entry of the story: the request (and the warning acknowledgement just before it)."""
        if trigger == "detection":
            return self._first_sign(e)
        request_kind = {"panic": "panic.request", "isolation": "isolate.request"}.get(trigger)
        if request_kind is None:
            return e.seq
        window = self.journal.entries(after=max(0, e.seq - 2000), limit=2000, kind=request_kind)
        requests = [r for r in window if r.seq <= e.seq]
        start = requests[-1].seq if requests else e.seq
        before = self.journal.entries(after=max(0, start - 2), limit=1)
        if before and before[0].seq == start - 1 and before[0].kind == "warning.ack":
            start -= 1
        return start

    def _first_sign(self, e: Entry) -> int:
        """For a detection: the first finding about the same source, earlier alerts included.

        The examiner wants to see when the host first looked suspicious, not only the finding that
        crossed the isolate threshold.
        """
        def src(entry: Entry) -> Any:
            inner = entry.data.get("detection")
            return (inner if isinstance(inner, dict) else entry.data).get("src")

        source = src(e)
        window = self.journal.entries(after=max(0, e.seq - 2000), limit=2000, kind="detection")
        related = [r for r in window if r.seq <= e.seq and source is not None and src(r) == source]
        return related[0].seq if related else e.seq

    def sync(self) -> list[Incident]:
        """Scan journal entries not seen yet; open an incident for the first trigger when none is open."""
        if getattr(self._local, "busy", False):
            return []
        opened: list[Incident] = []
        with self._sync_lock:
            self._local.busy = True
            try:
                rows = self.store.query("SELECT value FROM meta WHERE key='scanned_seq'")
                scanned = int(rows[0][0]) if rows else 0
                while True:
                    batch = self.journal.entries(after=scanned, limit=1000)
                    if not batch:
                        break
                    for e in batch:
                        scanned = e.seq
                        trigger = self._is_trigger(e)
                        if trigger and self.current() is None:
                            opened.append(self._open(trigger, actor=e.actor, seq_start=self._story_start(e, trigger),
                                                     trigger_seq=e.seq, knowledge_at=None, note=""))
                        with self.store.tx() as db:
                            db.execute("INSERT INTO meta(key, value) VALUES ('scanned_seq', ?) "
                                       "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(scanned),))
                    if len(batch) < 1000:
                        break
            finally:
                self._local.busy = False
        return opened

    def open(self, *, actor: str, trigger: str = "manual", note: str = "", knowledge_at: str | None = None) -> Incident:
        """Open by hand (``notaus incident open``); if one is open already, that one is returned."""
        self.sync()
        current = self.current()
        if current is not None:
            return current
        head = self.journal.head()
        with self._sync_lock:
            self._local.busy = True
            try:
                return self._open(trigger, actor=actor, seq_start=(head.seq + 1 if head else 1), trigger_seq=None,
                                  knowledge_at=knowledge_at, note=note)
            finally:
                self._local.busy = False

    def _open(self, trigger: str, *, actor: str, seq_start: int, trigger_seq: int | None,
              knowledge_at: str | None, note: str) -> Incident:
        now = utcnow()
        start_entries = self.journal.entries(after=seq_start - 1, limit=1)
        known = knowledge_at or (start_entries[0].ts if start_entries and trigger_seq else now.isoformat())
        known = parse_time(known).isoformat()
        day = now.strftime("%Y%m%d")
        with self.store.tx() as db:
            n = db.execute("SELECT COUNT(*) FROM incidents WHERE id LIKE ?", (f"{day}-%",)).fetchone()[0]
            inc = Incident(id=f"{day}-{n + 1}", seq_start=seq_start, seq_end=None, opened_at=now.isoformat(),
                           knowledge_at=known, trigger=trigger, trigger_seq=trigger_seq, status="open",
                           title=_default_title(trigger))
            db.execute(f"INSERT INTO incidents({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (inc.id, inc.seq_start, inc.seq_end, inc.opened_at, inc.knowledge_at, inc.trigger,
                        inc.trigger_seq, inc.status, inc.title, None, None, None))
        self._start_deadline(inc.id, known)
        self.journal.append("incident.open", {"incident": inc.id, "trigger": trigger, "trigger_seq": trigger_seq,
                                              "seq_start": seq_start, "knowledge_at": known, "note": note},
                            actor=actor)
        return inc

    # -------------------------------------------------------------------------------- reading
    def _row(self, row: tuple[Any, ...]) -> Incident:
        return Incident(*row)

    def get(self, incident_id: str) -> Incident:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM incidents WHERE id=?", (incident_id,))
        if not rows:
            raise KeyError(f"no incident {incident_id!r}; 'notaus incident list' shows the known ones")
        return self._row(rows[0])

    def current(self) -> Incident | None:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM incidents WHERE status='open' ORDER BY opened_at DESC LIMIT 1")
        return self._row(rows[0]) if rows else None

    def all(self) -> list[Incident]:
        return [self._row(r) for r in self.store.query(f"SELECT {_COLUMNS} FROM incidents ORDER BY opened_at DESC")]

    def entries(self, inc: Incident) -> list[Entry]:
        """The incident's journal range, oldest first (the timeline's raw material)."""
        out: list[Entry] = []
        after = inc.seq_start - 1
        while True:
            batch = self.journal.entries(after=after, limit=1000)
            for e in batch:
                if inc.seq_end is not None and e.seq > inc.seq_end:
                    return out
                out.append(e)
            if len(batch) < 1000:
                return out
            after = batch[-1].seq

    def files(self, incident_id: str) -> list[StoredFile]:
        rows = self.store.query("SELECT sha256, incident, name, stored, kind, size, uploaded_at, actor, seq FROM files "
                                "WHERE incident=? ORDER BY uploaded_at", (incident_id,))
        return [StoredFile(*r) for r in rows]

    def file_path(self, f: StoredFile) -> Path:
        return self.files_dir / f.stored

    def draft(self, incident_id: str, kind: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT content, updated_at, actor FROM drafts WHERE incident=? AND kind=?",
                                (incident_id, kind))
        if not rows:
            return None
        return {"sections": json.loads(rows[0][0]), "updated_at": rows[0][1], "actor": rows[0][2]}

    def ticks(self, inc: Incident) -> dict[str, dict[str, Any]]:
        """Last tick per checklist item within the incident (the staff tablet's ticks count too)."""
        out: dict[str, dict[str, Any]] = {}
        for e in self.entries(inc):
            if e.kind == "checklist.tick":
                out[str(e.data.get("item", ""))] = {"done": bool(e.data.get("done", True)), "ts": e.ts,
                                                    "actor": e.actor, "note": e.data.get("note", ""), "seq": e.seq}
        return out

    def followup_until(self, now: datetime | None = None) -> datetime | None:
        """The latest follow-up end over all incidents (``None``: no raised sensitivity now)."""
        now = now or utcnow()
        ends = [followup_active_until(i, self.followup_days, now) for i in self.all()]
        latest = max((e for e in ends if e is not None), default=None)
        return latest if latest is not None and latest > now else None

    # -------------------------------------------------------------------------------- changing
    def _require_open(self, incident_id: str) -> Incident:
        """A closed incident's record is final (the report was based on it); CLI and API alike refuse."""
        self.sync()
        inc = self.get(incident_id)
        if not inc.is_open:
            raise ValueError(f"incident {inc.id} is closed; its record can no longer be changed")
        return inc

    def set_knowledge(self, incident_id: str, when: str, *, actor: str, reason: str = "") -> Incident:
        """Correct the moment of knowledge (e.g. staff saw the ransom note before pressing the button)."""
        inc = self._require_open(incident_id)
        moment = parse_time(when)
        if not datetime(2000, 1, 1, tzinfo=UTC) <= moment <= utcnow() + timedelta(minutes=5):
            raise ValueError(f"{when!r} is not a plausible moment of knowledge (between 2000 and now)")
        value = moment.isoformat()
        with self.store.tx() as db:
            db.execute("UPDATE incidents SET knowledge_at=? WHERE id=?", (value, inc.id))
        if inc.reported_at is None:
            # the reminder records have a fixed start: retire the old clock and start one at the new time
            self._stop_deadline(inc.id, f"superseded by {actor}")
            self._start_deadline(inc.id, value)
        self.journal.append("incident.knowledge", {"incident": inc.id, "knowledge_at": value,
                                                   "previous": inc.knowledge_at, "reason": reason}, actor=actor)
        return self.get(inc.id)

    def add_note(self, incident_id: str, text: str, *, actor: str) -> Entry:
        inc = self._require_open(incident_id)
        text = text.strip()
        if not text:
            raise ValueError("the note is empty")
        return self.journal.append("incident.note", {"incident": inc.id, "text": text[:5000]}, actor=actor)

    def add_file(self, incident_id: str, name: str, data: bytes, *, actor: str, kind: str = "photo",
                 caption: str = "") -> StoredFile:
        """Keep an uploaded photo/file in the state dir under its SHA-256; journal the hash."""
        inc = self._require_open(incident_id)
        if not data:
            raise ValueError("the file is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        digest = hashlib.sha256(data).hexdigest()
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload").name)[-80:] or "upload"
        stored = f"{inc.id}/{digest}-{safe}"
        path = self.files_dir / stored
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        entry = self.journal.append(f"incident.{kind}", {"incident": inc.id, "name": safe, "sha256": digest,
                                                         "size": len(data), "caption": caption[:500]}, actor=actor)
        f = StoredFile(digest, inc.id, safe, stored, kind, len(data), entry.ts, actor, entry.seq)
        with self.store.tx() as db:
            db.execute("INSERT OR IGNORE INTO files(sha256, incident, name, stored, kind, size, uploaded_at, "
                       "actor, seq) VALUES (?,?,?,?,?,?,?,?,?)",
                       (f.sha256, f.incident, f.name, f.stored, f.kind, f.size, f.uploaded_at, f.actor, f.seq))
        return f

    def tick(self, incident_id: str, item: str, *, actor: str, done: bool = True, note: str = "") -> Entry:
        """Tick a checklist item; the same ``checklist.tick`` shape as the staff tablet writes."""
        inc = self._require_open(incident_id)
        if item not in ITEMS:
            raise ValueError(f"unknown checklist item {item!r}; known: {', '.join(ITEMS)}")
        return self.journal.append("checklist.tick", {"item": item, "done": done, "text": ITEMS[item].text("de"),
                                                      "note": note[:500], "incident": inc.id}, actor=actor)

    def save_draft(self, incident_id: str, kind: str, sections: dict[str, str], *, actor: str) -> Entry:
        """Store staff edits of a report draft; the journal keeps the full text, so edits are provable."""
        inc = self._require_open(incident_id)
        if kind not in ("authority", "patients"):
            raise ValueError("draft kind must be 'authority' or 'patients'")
        clean = {str(k): str(v)[:20000] for k, v in sections.items()}
        content = json.dumps(clean, ensure_ascii=False, sort_keys=True)
        with self.store.tx() as db:
            db.execute("INSERT INTO drafts(incident, kind, content, updated_at, actor) VALUES (?,?,?,?,?) "
                       "ON CONFLICT(incident, kind) DO UPDATE SET content=excluded.content, "
                       "updated_at=excluded.updated_at, actor=excluded.actor",
                       (inc.id, kind, content, utcnow().isoformat(), actor))
        return self.journal.append("incident.draft", {"incident": inc.id, "kind": kind, "sections": clean,
                                                      "sha256": hashlib.sha256(content.encode()).hexdigest()},
                                   actor=actor)

    def ack_reported(self, incident_id: str, *, actor: str, reference: str = "", when: str | None = None) -> Incident:
        """Record that the authority report was filed (stops the 72-hour reminders)."""
        inc = self._require_open(incident_id)
        at = parse_time(when).isoformat() if when else utcnow().isoformat()
        with self.store.tx() as db:
            db.execute("UPDATE incidents SET reported_at=?, report_reference=? WHERE id=?", (at, reference, inc.id))
        self._stop_deadline(inc.id, actor)
        self.journal.append("incident.reported", {"incident": inc.id, "reported_at": at, "reference": reference},
                            actor=actor)
        return self.get(inc.id)

    def close_incident(self, incident_id: str, *, actor: str, reason: str = "") -> Incident:
        inc = self._require_open(incident_id)
        if not inc.is_open:
            return inc
        entry = self.journal.append("incident.close", {"incident": inc.id, "reason": reason}, actor=actor)
        with self.store.tx() as db:
            db.execute("UPDATE incidents SET status='closed', closed_at=?, seq_end=? WHERE id=?",
                       (entry.ts, entry.seq, inc.id))
        return self.get(inc.id)


def _default_title(trigger: str) -> str:
    return {"panic": "Not-Aus gedrückt", "isolation": "Rechner gesperrt",
            "detection": "Verdacht auf Schadsoftware (Erkennung)"}.get(trigger, "Sicherheitsvorfall")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def state_dir_for(policy: Any, config_file: str | Path | None) -> Path:
    """The policy's state dir, relative paths taken from the policy file's folder (as the engine does)."""
    from notaus.policies.context import state_dir_of_config

    return state_dir_of_config(policy, config_file)
