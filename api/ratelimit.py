"""A small sliding-window limiter: bounds agent floods and token guessing (answer: 429)."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, limit: int, per_seconds: float) -> None:
        self.limit = limit
        self.per = per_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Count a hit; ``None`` if allowed, else seconds until the next hit would be allowed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.per:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.0, q[0] + self.per - now)
            q.append(now)
            if len(self._hits) > 10_000:   # bound memory under a spray of keys
                for k in [k for k, v in self._hits.items() if not v][:5_000]:
                    del self._hits[k]
            return None
