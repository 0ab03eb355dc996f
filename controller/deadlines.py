"""The 72-hour reporting deadline (Art. 33 GDPR): minimal records the scheduler reminds from.

An incident is opened at the moment of knowledge; from then on the scheduler reminds at the
policy's ``report_reminders_hours`` until someone acknowledges that the report was made. This is
deliberately small: the full incident record (timeline, checklists, drafts) lives in the incident
module, which only needs to call :meth:`DeadlineStore.open_incident` and
:meth:`DeadlineStore.acknowledge_reported`.

Stored in its own table of the state database, so it survives restarts with everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notaus.controller.sqlite import SqliteStore

REPORT_HOURS = 72

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incident_deadlines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opened_at TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    reminders_sent TEXT NOT NULL DEFAULT '[]'
)
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(ts: str) -> datetime:
    parsed = datetime.fromisoformat(ts)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Deadline:
    id: int
    opened_at: datetime
    label: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    reminders_sent: list[int] = field(default_factory=list)

    @property
    def due_at(self) -> datetime:
        return self.opened_at + timedelta(hours=REPORT_HOURS)

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or _now()
        left = (self.due_at - now).total_seconds()
        return {"id": self.id, "label": self.label, "opened_at": self.opened_at.isoformat(),
                "due_at": self.due_at.isoformat(), "seconds_left": round(left), "overdue": left < 0,
                "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
                "acknowledged_by": self.acknowledged_by, "reminders_sent": self.reminders_sent}


class DeadlineStore(SqliteStore):
    def __init__(self, db_path: str | Path) -> None:
        super().__init__(db_path, _SCHEMA)

    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[Deadline]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, opened_at, label, acknowledged_at, acknowledged_by, reminders_sent "
                f"FROM incident_deadlines {where} ORDER BY id", args).fetchall()
        return [Deadline(r[0], _parse(r[1]), r[2], _parse(r[3]) if r[3] else None, r[4], json.loads(r[5]))
                for r in rows]

    def open_incident(self, ts: datetime | str | None = None, label: str = "") -> Deadline:
        """Start the 72-hour clock at ``ts`` (the moment of knowledge; default now)."""
        opened = _parse(ts) if isinstance(ts, str) else (ts or _now())
        with self._lock:
            cur = self._db.execute("INSERT INTO incident_deadlines(opened_at, label) VALUES (?, ?)",
                                   (opened.astimezone(UTC).isoformat(), label))
            new_id = int(cur.lastrowid or 0)
        return self._rows("WHERE id = ?", (new_id,))[0]

    def acknowledge_reported(self, incident_id: int | None = None, *, actor: str = "") -> list[Deadline]:
        """Mark the report as made (one incident, or all open ones); reminders stop."""
        now = _now().isoformat()
        with self._lock:
            if incident_id is None:
                self._db.execute("UPDATE incident_deadlines SET acknowledged_at = ?, acknowledged_by = ? "
                                 "WHERE acknowledged_at IS NULL", (now, actor))
            else:
                self._db.execute("UPDATE incident_deadlines SET acknowledged_at = ?, acknowledged_by = ? "
                                 "WHERE id = ? AND acknowledged_at IS NULL", (now, actor, incident_id))
        return self._rows("WHERE acknowledged_by = ? AND acknowledged_at = ?", (actor, now))

    def open_deadlines(self) -> list[Deadline]:
        return self._rows("WHERE acknowledged_at IS NULL")

    def due_reminders(self, hours: list[int], now: datetime | None = None) -> list[tuple[Deadline, int]]:
        """For each open incident the latest reminder point passed and not yet sent.

        Points missed while the box was off collapse into the latest one (one reminder, not four).
        """
        now = now or _now()
        due = []
        for d in self.open_deadlines():
            passed = [h for h in sorted(hours) if d.opened_at + timedelta(hours=h) <= now]
            if passed and passed[-1] not in d.reminders_sent:
                due.append((d, passed[-1]))
        return due

    def mark_sent(self, deadline: Deadline, upto_hours: int, hours: list[int]) -> None:
        """Record every point up to ``upto_hours`` as sent."""
        sent = sorted(set(deadline.reminders_sent) | {h for h in hours if h <= upto_hours})
        with self._lock:
            self._db.execute("UPDATE incident_deadlines SET reminders_sent = ? WHERE id = ?",
                             (json.dumps(sent), deadline.id))
