"""The status document the API and the UI show: engine status plus the agent queue.

``state_code`` is the language-neutral form of the engine's ``state`` (verbunden/getrennt/teilweise)
so the UI can translate it and monitoring can alert on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

STATE_CODES = {"verbunden": "connected", "getrennt": "disconnected", "teilweise": "partial"}


def isolations_view(status: dict[str, Any], gate: Any | None = None) -> list[dict[str, Any]]:
    items = [dict(i) for i in status.get("isolations") or []]
    if gate is not None:
        due = {r["host"]: r.get("release_due") for r in gate.active()}
        for item in items:
            item["auto_release_at"] = due.get(item.get("host"))
    return items


def build_status(status: dict[str, Any], gate: Any, policy: Any) -> dict[str, Any]:
    out = dict(status)
    out["state_code"] = STATE_CODES.get(str(status.get("state")), "unknown")
    out["isolations"] = isolations_view(status, gate)
    out["pending_approvals"] = gate.pending()
    provider = policy.contacts.it_provider
    out["contacts"] = {"it_provider": {"name": provider.name, "phone": provider.phone}}
    out["generated"] = datetime.now(UTC).isoformat()
    return out
