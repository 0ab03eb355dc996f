"""Which checklist ticks belong to "now": those of the open incident, or those since the last one closed.

The tablet's checklist and the incident page must show the same facts, and incident 2 must not
show an item ticked during incident 1 (the journal keeps every tick forever, so we scope by range).
"""

from __future__ import annotations

from typing import Any


def ticks_after(engine: Any) -> tuple[int, str | None]:
    """``(seq, incident id)``: ticks after ``seq`` count; with an open incident, only its own ticks."""
    from notaus.controller.incident import IncidentManager

    mgr = IncidentManager.for_engine(engine)
    mgr.sync()
    current = mgr.current()
    if current is not None:
        return current.seq_start - 1, current.id
    ends = [i.seq_end for i in mgr.all() if i.seq_end is not None]
    return (max(ends) if ends else 0), None
