"""Desired state, persisted: what *should* be true (WAN down, host X isolated).

The engine writes the desired state before it touches a device, so a crash in the middle of a
panic still leaves the intent on disk; on restart the engine re-asserts it. Restore changes the
desired state first. Status shows desired and observed side by side.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EMPTY: dict[str, Any] = {
    # profile name while a panic is in force, else None
    "containment": None,        # {"profile", "since", "actor"}
    "wan_cut": {},              # router -> {"memo": {...}, "since"}
    "wlan_off": {},             # router -> {"since"}
    "router_blocks": {},        # ip -> {"router", "host", "reason": "panic"|"isolation", "since"}
    "isolations": {},           # host name -> {"host","ip","mac","reason","source","actor","since","methods":[...]}
}


class StateStore:
    """A single JSON document in SQLite, changed under a lock and an immediate transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

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

    @contextmanager
    def change(self) -> Iterator[dict[str, Any]]:
        """``with store.change() as desired: desired[...] = ...`` — committed durably on exit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = copy.deepcopy(EMPTY)
                current.update(self._read("desired") or {})
                yield current
                self._db.execute(
                    "INSERT INTO kv(key, value) VALUES ('desired', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (json.dumps(current, sort_keys=True),),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

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
