"""Desired state, persisted: what *should* be true (WAN down, host X isolated).

The engine writes the desired state before it touches a device, so a crash in the middle of a
panic still leaves the intent on disk; on restart the engine re-asserts it. Restore changes the
desired state first. Status shows desired and observed side by side.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from notaus.controller.desired import DesiredState
from notaus.controller.sqlite import SqliteStore

EMPTY: dict[str, Any] = {
    # profile name while a panic is in force, else None
    "containment": None,        # {"profile", "since", "actor"}
    "wan_cut": {},              # router -> {"memo": {...}, "since"}
    "wlan_off": {},             # router -> {"since"}
    "router_blocks": {},        # ip -> {"router", "host", "reason": "panic"|"isolation", "since"}
    "isolations": {},           # host name -> {"host","ip","mac","reason","source","actor","since","methods":[...]}
}


class StateStore(SqliteStore):
    """A single JSON document in SQLite, changed under a lock and an immediate transaction."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);")

    def _read(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def desired(self) -> dict[str, Any]:
        """A deep copy of the desired state (safe to read without the lock)."""
        with self._lock:
            current = self._read("desired")
        merged = copy.deepcopy(EMPTY)
        if current:
            merged.update(current)
        return merged

    def desired_state(self) -> DesiredState:
        """The desired state as types (controller.desired); the same document as :meth:`desired`."""
        return DesiredState.from_dict(self.desired())

    @contextmanager
    def change(self) -> Iterator[dict[str, Any]]:
        """``with store.change() as desired: desired[...] = ...`` — committed durably on exit."""
        with self.tx() as db:
            current = copy.deepcopy(EMPTY)
            current.update(self._read("desired") or {})
            yield current
            db.execute("INSERT INTO kv(key, value) VALUES ('desired', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (json.dumps(current, sort_keys=True),))

    def update(self, fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        with self.change() as desired:
            fn(desired)
        return self.desired()

    # small generic key/value for other components (router caches, incident ids)
    def get(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (f"x:{key}",)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (f"x:{key}", json.dumps(value, sort_keys=True)),
            )

    def is_active(self) -> bool:
        d = self.desired()
        return bool(d["containment"] or d["wan_cut"] or d["wlan_off"] or d["router_blocks"] or d["isolations"])
