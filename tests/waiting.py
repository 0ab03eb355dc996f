"""Waiting for an event in a test: poll a condition with a generous bound (never a speed assertion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], limit: float = 5.0, step: float = 0.02) -> bool:
    """Poll until ``predicate`` holds; the last answer after ``limit`` seconds decides."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def wait_for(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition", step: float = 0.05) -> Any:
    """Like :func:`wait_until`, but return the condition's value and fail the test if it never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")
