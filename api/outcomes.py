"""The one map from an outcome to its HTTP status, for every state-changing endpoint.

Engine operations (``OperationResult.outcome``) and the agent gate (``GateDecision.decision``) name
their outcomes with overlapping words; one table keeps ``partial`` a 207 and ``refused`` a 409
wherever it comes from. A 207 body says in ``outcome``/``decision`` which it was; a 409 body also
carries ``error: refused`` and a ``detail`` a person can act on.
"""

from __future__ import annotations

from typing import Any

OUTCOME_STATUS: dict[str, int] = {
    "done": 200,        # engine: every device step verified
    "isolated": 200,    # gate: isolated (verified)
    "duplicate": 200,   # gate: already isolated or queued; nothing new happened
    "queued": 202,      # gate: waits for a person to approve
    "partial": 207,     # some steps verified, some not
    "failed": 207,      # nothing verified; the per-device results say why
    "refused": 409,     # a guard said no before anything happened
}


def http_status(outcome: str) -> int:
    """The status for ``outcome``; an unknown outcome is a 207 (look at the body), never a 200."""
    return OUTCOME_STATUS.get(outcome, 207)


def outcome_body(body: dict[str, Any], outcome: str, detail: str) -> tuple[dict[str, Any], int]:
    """``body`` with its status; a refusal gets ``error``/``detail`` in front."""
    status = http_status(outcome)
    if status == 409:
        body = {"error": "refused", "detail": detail or "The engine refused this operation.", **body}
    return body, status
