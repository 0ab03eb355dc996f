"""Issue 11.2: one budget for every automated path; a failed attempt counts; over budget waits for a person.

Attacks tried: an agent floods isolations while the router is unreachable (each attempt "fails" but
used to stay in the desired state uncounted); detection isolates by score past the budget; the
agent and detection together past the budget.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from flask import Flask

from notaus.api.app import create_app
from notaus.controller.detection.analyzer import Detection
from notaus.controller.detection.response import Responder
from notaus.controller.engine import Engine
from notaus.controller.guardrails import gate_for_engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.api.api_practice import practice_policy

WORKSTATIONS = [f"ws{i:02d}" for i in range(1, 9)]


def _det(src: str) -> Detection:
    return Detection(src=src, dst="45.83.10.66", dst_port=443, proto="tcp", score=0.99, interval_s=60.0,
                     connections=30, name=None, kind="beacon")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_failed_attempts_count_and_desired_state_holds_only_what_was_authorised(tmp_path: Path) -> None:
    """The router is unreachable (nothing listens on its port): attempts fail, yet each accepted one counts."""
    engine = Engine.from_policy(practice_policy(_closed_port(), tmp_path / "var"), base_dir=tmp_path)
    app = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0})
    try:
        token = app.extensions["notaus"].tokens.create("agent", "edr")
        staff = app.extensions["notaus"].tokens.create("staff", "empfang")
        client = app.test_client()
        codes = []
        for host in WORKSTATIONS[:6]:
            resp = client.post("/api/v1/isolations", json={"host": host, "source": "edr"},
                               headers={"Authorization": f"Bearer {token}"})
            codes.append(resp.status_code)
        limit = engine.policy.guardrails.max_auto_isolations
        assert codes[:limit] == [207] * limit            # accepted, the device did not confirm
        assert codes[limit:] == [202] * (6 - limit)      # queued for a person
        desired = engine.state.desired()["isolations"]
        assert sorted(desired) == WORKSTATIONS[:limit]   # only what was authorised is wanted
        pending = client.get("/api/v1/approvals", headers={"Authorization": f"Bearer {staff}"}).get_json()
        assert sorted(p["host"] for p in pending["pending"]) == WORKSTATIONS[limit:6]
        # a retry of a failed-but-wanted host is a duplicate: no new budget slot, no new desired entry
        again = client.post("/api/v1/isolations", json={"host": WORKSTATIONS[0], "source": "edr"},
                            headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 200 and again.get_json()["decision"] == "duplicate"
        assert sorted(engine.state.desired()["isolations"]) == WORKSTATIONS[:limit]
    finally:
        app.extensions["notaus"].close()
        engine.close()


def test_detection_goes_through_the_same_budget(app: Flask, auth: Any, sim: Tr064Simulator, engine: Any) -> None:
    gate = app.extensions["notaus"].gate
    policy = engine.policy.model_copy(update={"detection": engine.policy.detection.model_copy(
        update={"response": "isolate"})})
    responder = Responder(policy, engine.journal, engine, gate=gate)
    limit = policy.guardrails.max_auto_isolations
    # the agent uses one slot, detection the rest; everything beyond waits for a person
    first = app.test_client().post("/api/v1/isolations", json={"host": "ws08", "source": "edr"},
                                   headers=auth("agent"))
    assert first.status_code == 200
    for i in range(1, 6):
        assert responder.handle(_det(f"192.168.178.{100 + i}")) == "isolate"
    isolated = sorted(engine.state.desired()["isolations"])
    assert len(isolated) == limit and "ws08" in isolated
    actions = engine.journal.entries(kind="detection.action", limit=100)
    outcomes = [e.data["outcome"] for e in actions]
    assert outcomes.count("done") == limit - 1 and outcomes.count("queued") == 5 - (limit - 1)
    assert len(gate.pending()) == 5 - (limit - 1)
    assert all(p["source"] == "detection" for p in gate.pending())
    # detection never asks the engine directly: every isolate.request follows an agent.request
    kinds = [e.kind for e in engine.journal.entries(limit=1000)]
    for i, k in enumerate(kinds):
        if k == "isolate.request":
            assert "agent.request" in kinds[max(0, i - 2):i]


def test_detection_process_shares_the_service_budget(app: Flask, sim: Tr064Simulator, engine: Any,
                                                     tmp_path: Any) -> None:
    """A separate gate on the same state directory (the detection process) sees the slots already taken."""
    from notaus.api.app import _state_dir

    svc_gate = app.extensions["notaus"].gate
    engine.state_dir = _state_dir(engine, app.extensions["notaus"].config)
    other = gate_for_engine(engine)
    try:
        assert other.store is not svc_gate.store
        limit = engine.policy.guardrails.max_auto_isolations
        for host in WORKSTATIONS[:limit]:
            assert svc_gate.request(host, agent="edr").decision == "isolated"
        assert other.request("ws07", agent="detection", source="detection").decision == "queued"
    finally:
        other.store.close()
