"""Idempotency keys: a retried state-changing call returns the first answer instead of acting twice.

A stressed person double-taps, a tablet's Wi-Fi drops mid-request, an EDR agent retries: none of
that may run a second panic or a second restore. The key is scoped to the caller (token name);
the same key with a different body is a client bug and answered with 422.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notaus.controller.sqlite import connect

KEEP_HOURS = 72


@dataclass(frozen=True)
class Stored:
    body_hash: str
    status: int | None          # None while the first request is still running
    response: dict[str, Any] | None


def body_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what was asked; JSON is canonicalised so key order/whitespace do not matter."""
    try:
        canon = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canon = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canon).hexdigest()


class IdempotencyStore:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS idem (owner TEXT, key TEXT, body_hash TEXT, status INTEGER, "
            "response TEXT, created TEXT, PRIMARY KEY(owner, key))")
        self._purge()

    def _purge(self) -> None:
        cutoff = (datetime.now(UTC) - timedelta(hours=KEEP_HOURS)).isoformat()
        with self._lock:
            self._db.execute("DELETE FROM idem WHERE created < ?", (cutoff,))

    def begin(self, owner: str, key: str, body_hash: str) -> Stored | None:
        """Reserve ``key``; ``None`` if it is new (caller proceeds), else what is stored for it."""
        with self._lock:
            row = self._db.execute("SELECT body_hash, status, response FROM idem WHERE owner=? AND key=?",
                                   (owner, key)).fetchone()
            if row is not None:
                return Stored(row[0], row[1], json.loads(row[2]) if row[2] else None)
            self._db.execute("INSERT INTO idem(owner, key, body_hash, created) VALUES (?,?,?,?)",
                             (owner, key, body_hash, datetime.now(UTC).isoformat()))
            return None

    def finish(self, owner: str, key: str, status: int, response: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE idem SET status=?, response=? WHERE owner=? AND key=?",
                             (status, json.dumps(response), owner, key))

    def abandon(self, owner: str, key: str) -> None:
        """Forget a reservation whose request crashed, so a retry can run."""
        with self._lock:
            self._db.execute("DELETE FROM idem WHERE owner=? AND key=? AND status IS NULL", (owner, key))

    def close(self) -> None:
        with self._lock:
            self._db.close()
