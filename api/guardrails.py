"""The API's view of the guardrail layer; the logic lives in :mod:`controller.guardrails`.

Kept so that ``from api.guardrails import AgentGate`` keeps working: the web API, the detection
responder and the scheduler all use the one gate in ``controller/``.
"""

from __future__ import annotations

from notaus.controller.guardrails import ACTIVE, AgentGate, Decision, GateConflict, GateDecision, GateStore

__all__ = ["ACTIVE", "AgentGate", "Decision", "GateConflict", "GateDecision", "GateStore"]
