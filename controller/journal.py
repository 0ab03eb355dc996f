"""The append-only, hash-chained journal: what happened, in order, provably unedited.

Every request, plan, device call, result, warning and acknowledgement is written here *before*
anyone is told about it. A forensic examiner later checks the chain with ``notaus journal verify``:
an edited, inserted or deleted entry breaks it. Truncating the tail is caught by the head anchor,
a small file (``journal.sqlite.head``) written when the journal is created and moved forward after
each append (and by copies sent to syslog, if configured). A missing or damaged anchor is a
verification failure; it is never silently re-created - ``notaus journal anchor`` does that
deliberately and journals it.

SQLite in WAL mode with ``synchronous=FULL``: an entry whose ``append`` returned survives
``kill -9`` and power loss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notaus.controller.sqlite import connect

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, ts: str, kind: str, actor: str, data_json: str, prev_hash: str) -> str:
    """The chain link; documented so that anyone can re-compute it without notaus."""
    material = _canonical([seq, ts, kind, actor, data_json, prev_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: str
    kind: str
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    """Thread-safe; several processes (CLI and service) may append to the same file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.anchor_path = self.path.with_suffix(self.path.suffix + ".head")
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Entry], None]] = []
        created = not self.path.exists()
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)
        self._anchor_warned = False
        if created and not self.anchor_path.exists():
            # a new journal gets its anchor now: from here on a missing anchor is a finding, never normal.
            # Only a *new file* - an emptied journal whose anchor was deleted must stay a finding.
            self._write_anchor(0, GENESIS, force=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add_listener(self, listener: Callable[[Entry], None]) -> None:
        """Called after each committed append (syslog, UI push); a failing listener is only logged."""
        self._listeners.append(listener)

    # ----------------------------------------------------------------------------- writing
    def append(self, kind: str, data: dict[str, Any] | None = None, actor: str = "system") -> Entry:
        data_json = _canonical(data or {})
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
                ts = datetime.now(UTC).isoformat(timespec="microseconds")
                digest = entry_hash(seq, ts, kind, actor, data_json, prev)
                self._db.execute(
                    "INSERT INTO journal(seq, ts, kind, actor, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
                    (seq, ts, kind, actor, data_json, prev, digest),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._write_anchor(seq, digest)
        entry = Entry(seq, ts, kind, actor, json.loads(data_json), prev, digest)
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a broken forwarder must not stop containment
                log.exception("journal listener failed")
        return entry

    def _write_anchor(self, seq: int, digest: str, *, force: bool = False) -> None:
        """Move the head anchor to ``seq``; never backwards, and never re-create a missing/garbage one.

        A missing or unreadable anchor on a journal with entries is evidence (the tail may have been cut
        and the anchor deleted with it); writing a fresh one would erase that evidence. Appends go on
        (containment must not stop), ``verify`` reports it, and only ``notaus journal anchor`` -
        itself journaled - re-anchors deliberately (``force``).
        """
        tmp = self.anchor_path.with_name(f"{self.anchor_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            current, problem = self.anchor_state()
            if problem and not force:
                if not self._anchor_warned:
                    log.warning("journal head anchor %s: %s; not re-created (notaus journal anchor)",
                                self.anchor_path, problem)
                    self._anchor_warned = True
                return
            tmp.write_text(f"{seq} {digest}\n", encoding="ascii")
            # another process may have appended meanwhile: never move the anchor backwards
            current, _ = self.anchor_state()
            if force or current is None or current[0] <= seq:
                os.replace(tmp, self.anchor_path)
            else:
                tmp.unlink(missing_ok=True)
        except OSError:
            log.warning("could not write journal head anchor %s", self.anchor_path)

    def _read_anchor(self) -> tuple[int, str] | None:
        return self.anchor_state()[0]

    def anchor_state(self) -> tuple[tuple[int, str] | None, str]:
        """``((seq, hash), "")`` for a sound anchor, else ``(None, what is wrong with it)``."""
        try:
            text = self.anchor_path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None, (f"the head anchor file {self.anchor_path.name} is missing: the end of the journal cannot "
                          "be checked (entries may have been removed from the end)")
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"the head anchor file {self.anchor_path.name} cannot be read ({exc})"
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not _HEX64.fullmatch(parts[1]):
            return None, (f"the head anchor file {self.anchor_path.name} is damaged (expected '<seq> <sha256>', "
                          f"found {text[:80]!r})")
        return (int(parts[0]), parts[1]), ""

    def reanchor(self, *, reason: str, actor: str) -> Entry:
        """Deliberately anchor the current head (after a verified chain); journaled with what was before."""
        _, problem = self.anchor_state()
        res = self.verify()
        entry = self.append("journal.anchor", {"reason": reason, "previous_anchor": problem or "sound",
                                               "entries_checked": res.checked, "head_before": res.head_hash},
                            actor=actor)
        self._write_anchor(entry.seq, entry.hash, force=True)
        self._anchor_warned = False
        return entry

    # ----------------------------------------------------------------------------- reading
    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Entry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]

    def entries(self, after: int = 0, limit: int = 100, kind: str | None = None) -> list[Entry]:
        """Entries with ``seq > after``, oldest first; ``kind`` matches exactly or as a ``prefix.``."""
        limit = max(1, min(int(limit), 10_000))
        if kind:
            return self._rows(
                "SELECT * FROM journal WHERE seq > ? AND (kind = ? OR kind LIKE ?) ORDER BY seq LIMIT ?",
                (after, kind, kind + ".%", limit),
            )
        return self._rows("SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))

    def head(self) -> Entry | None:
        rows = self._rows("SELECT * FROM journal ORDER BY seq DESC LIMIT 1", ())
        return rows[0] if rows else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM journal").fetchone()[0])

    def verify(self) -> VerifyResult:
        """Re-compute the whole chain; report every break with its sequence number.

        The head anchor must be present and sound, and name an entry that exists with the same hash:
        otherwise the tail may have been cut. A damaged database file is reported, never raised.
        """
        problems: list[str] = []
        prev = GENESIS
        expected_seq = 1
        checked = 0
        anchor, anchor_problem = self.anchor_state()
        anchored_hash: str | None = GENESIS if anchor is not None and anchor[0] == 0 else None
        try:
            with self._lock:
                cursor = self._db.execute(
                    "SELECT seq, ts, kind, actor, data, prev_hash, hash FROM journal ORDER BY seq")
                for seq, ts, kind, actor, data_json, prev_hash, digest in cursor:
                    checked += 1
                    if seq != expected_seq:
                        problems.append(f"entry {seq}: expected sequence number {expected_seq} (entries missing)")
                    if prev_hash != prev:
                        problems.append(f"entry {seq}: does not link to the entry before it (inserted or deleted)")
                    if entry_hash(seq, ts, kind, actor, data_json, prev_hash) != digest:
                        problems.append(f"entry {seq}: content does not match its hash (edited)")
                    if anchor is not None and seq == anchor[0]:
                        anchored_hash = digest
                    prev = digest
                    expected_seq = seq + 1 if isinstance(seq, int) else expected_seq + 1
        except sqlite3.DatabaseError as exc:
            problems.append(f"the journal database is damaged after {checked} readable entries ({exc}); "
                            "keep this file as it is and work on a copy")
            return VerifyResult(ok=False, checked=checked, head_hash=prev, problems=problems)
        if anchor_problem:
            problems.append(anchor_problem + (
                ". If this journal was written by a notaus version before the anchor was kept from the start, "
                "or the anchor was lost for a known reason, check the journal against the syslog copy and "
                "re-anchor deliberately with `notaus journal anchor --reason ...` (journaled)"))
        else:
            assert anchor is not None
            a_seq, a_hash = anchor
            if a_seq > expected_seq - 1:
                problems.append(f"head anchor names entry {a_seq} but the journal ends at {expected_seq - 1} "
                                "(entries removed from the end - or the -wal file was not copied along)")
            elif anchored_hash != a_hash:
                problems.append(f"head anchor hash for entry {a_seq} differs from the journal (rewritten)")
        return VerifyResult(ok=not problems, checked=checked, head_hash=prev, problems=problems)
