"""One way to open notaus's SQLite files: WAL, ``synchronous=FULL``, a lock, immediate transactions.

Every store (journal, desired state, incidents, deadlines, tokens, agent gate, idempotency) must
survive ``kill -9`` and a pulled plug with what it committed, and may be shared by the service and a
CLI process at the same time; the settings that guarantee that live here once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def connect(path: str | Path) -> sqlite3.Connection:
    """Autocommit connection usable from several threads (callers serialise with their own lock)."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


class SqliteStore:
    """Base for the small stores: ``self._db``, ``self._lock``, :meth:`tx`, :meth:`query`, :meth:`close`."""

    def __init__(self, path: str | Path, schema: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = connect(self.path)
        if schema:
            self._db.executescript(schema)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, rolled back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())
