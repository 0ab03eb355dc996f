"""Desired state a device refuses: needs a person, retried with backoff, journaled once per change.

The enforcement loop re-applies every gap between desired and observed state. When the device
*refuses* the step - it does not know the entry (``not_found``), rejects the argument
(``invalid_argument``) or cannot do it at all (``not_supported``) - another try a few seconds later
gives the same answer. Re-applying it on every pass would flood the journal (hundreds of entries a
minute) and show drift for ever. So such a step is marked as *needing attention*:

* it is shown in ``status`` (``attention``) and the staff UI until it is resolved,
* it is retried only with exponential backoff (30 s, 1 min, 2 min ... at most once an hour),
* the journal gets one ``attention`` entry when it starts (or its reason changes) and one
  ``attention.cleared`` when the device confirms it or the desired state no longer holds it;
  the passes in between journal nothing.

The marks live in the state store (key ``attention``), so the CLI and a restarted service agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from notaus.controller.results import DeviceResult, Step

#: device answers that another try will not change
REFUSALS = frozenset({"not_found", "invalid_argument", "not_supported"})
#: first retry after this many seconds, doubling up to MAX_BACKOFF_S
BASE_BACKOFF_S = 30.0
MAX_BACKOFF_S = 3600.0
STATE_KEY = "attention"


def step_key(step: Step) -> str:
    return f"{step.device}|{step.action}|{step.target}"


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds")


class Attention:
    """The marks over a state store and a journal (both the engine's)."""

    def __init__(self, state: Any, journal: Any) -> None:
        self.state = state
        self.journal = journal

    def items(self) -> dict[str, dict[str, Any]]:
        value = self.state.get(STATE_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def _save(self, items: dict[str, dict[str, Any]]) -> None:
        self.state.put(STATE_KEY, items)

    def prune(self, gaps: list[dict[str, Any]]) -> None:
        """Clear marks whose gap is gone (the device confirms it, or it is no longer wanted)."""
        items = self.items()
        open_keys = {step_key(g["step"]) for g in gaps}
        gone = [k for k in items if k not in open_keys]
        for key in gone:
            item = items.pop(key)
            self.journal.append("attention.cleared", {"key": key, "host": item.get("host"),
                                                      "device": item.get("device"), "after_tries": item.get("tries")})
        if gone:
            self._save(items)

    def due(self, gaps: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
        """The gaps to re-apply now: all but those waiting for their next backoff try."""
        now = now or datetime.now(UTC)
        items = self.items()
        out = []
        for g in gaps:
            item = items.get(step_key(g["step"]))
            if item is not None and datetime.fromisoformat(item["next_try"]) > now:
                continue
            out.append(g)
        return out

    def record(self, gaps: list[dict[str, Any]], results: list[DeviceResult | None],
               now: datetime | None = None) -> None:
        """After a pass: mark refusals (journal only a new or changed reason), clear what now worked."""
        now = now or datetime.now(UTC)
        items = self.items()
        changed = False
        for gap, res in zip(gaps, results, strict=False):
            key = step_key(gap["step"])
            if res is not None and res.error_kind in REFUSALS:
                before = items.get(key)
                tries = int(before["tries"]) + 1 if before else 1
                wait = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** (tries - 1))
                item = {"device": gap["device"], "what": gap["what"], "host": gap["step"].host,
                        "target": gap["step"].target, "kind": res.error_kind, "message": res.message,
                        "since": before["since"] if before else _iso(now), "tries": tries,
                        "last_try": _iso(now), "next_try": _iso(now + timedelta(seconds=wait))}
                if before is None or before.get("kind") != item["kind"] or before.get("message") != item["message"]:
                    self.journal.append("attention", {"key": key, **item})
                items[key] = item
                changed = True
            elif res is not None and res.outcome == "done" and key in items:
                item = items.pop(key)
                self.journal.append("attention.cleared", {"key": key, "host": item.get("host"),
                                                          "device": item.get("device"), "after_tries": item["tries"]})
                changed = True
        if changed:
            self._save(items)

    def view(self) -> list[dict[str, Any]]:
        """For ``status``: what needs a person, with the device's own words and the next try."""
        return [{"key": k, **v} for k, v in sorted(self.items().items())]
