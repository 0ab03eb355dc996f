"""Agent webhook guardrails: floods, protected hosts, duplicates, approvals, auto-release."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from notaus.drivers.sim.tr64 import Tr064Simulator

WORKSTATIONS = [f"ws{i:02d}" for i in range(1, 9)]


def _blocked_ips(sim: Tr064Simulator) -> set[str]:
    return {ip for ip, on in sim.state.disallow.items() if on}


def test_agent_flood_isolates_at_most_the_policy_limit(app: Flask, auth: Any, sim: Tr064Simulator,
                                                       engine: Any) -> None:
    """Eight hosts at once from a (possibly compromised) agent: two isolated, six wait for a person."""
    def send(host: str) -> tuple[int, dict[str, Any]]:
        resp = app.test_client().post("/api/v1/isolations", headers=auth("agent"), json={
            "host": host, "reason": "Ransom.Generic", "source": "wazuh", "evidence": {"rule": 100200}})
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, WORKSTATIONS))
    codes = sorted(code for code, _ in results)
    assert codes.count(200) == 2 and codes.count(202) == 6, results
    isolated = {body["host"] for code, body in results if code == 200}
    assert len(_blocked_ips(sim)) == 2
    assert {h.ip for h in engine.policy.hosts if h.name in isolated} == _blocked_ips(sim)

    client = app.test_client()
    pending = client.get("/api/v1/approvals", headers=auth("staff")).get_json()["pending"]
    assert len(pending) == 6 and {p["host"] for p in pending} == set(WORKSTATIONS) - isolated
    status = client.get("/api/v1/status", headers=auth("staff")).get_json()
    assert len(status["pending_approvals"]) == 6

    requests = engine.journal.entries(kind="agent.request", limit=100)
    assert len(requests) == 8
    assert all(e.data["source"] == "wazuh" and e.data["evidence"] == {"rule": 100200} for e in requests)
    assert all(e.actor == "agent:test-agent" for e in requests)

    # a person approves one (isolated now), rejects another (never isolated)
    first, second = pending[0], pending[1]
    ok = client.post(f"/api/v1/approvals/{first['id']}", json={"decision": "approve"}, headers=auth("staff"))
    assert ok.status_code == 200, ok.get_json()
    assert len(_blocked_ips(sim)) == 3
    no = client.post(f"/api/v1/approvals/{second['id']}", json={"decision": "reject"}, headers=auth("staff"))
    assert no.status_code == 200 and no.get_json()["request"]["status"] == "rejected"
    again = client.post(f"/api/v1/approvals/{second['id']}", json={"decision": "approve"}, headers=auth("staff"))
    assert again.status_code == 409
    assert client.post("/api/v1/approvals/ffff", json={"decision": "approve"}, headers=auth("staff")).status_code == 404
    assert len(_blocked_ips(sim)) == 3
    assert engine.journal.entries(kind="agent.approved")[0].actor == "staff:test-staff"


def test_protected_hosts_are_never_isolated_by_agents(client: FlaskClient, auth: Any, sim: Tr064Simulator,
                                                      engine: Any) -> None:
    for ident in ("ti-konnektor", "192.168.178.50", "AA-BB-CC-DD-EE-50", "praxisserver"):
        resp = client.post("/api/v1/isolations", json={"host": ident, "reason": "x", "source": "edr"},
                           headers=auth("agent"))
        assert resp.status_code == 409, resp.get_json()
        body = resp.get_json()
        assert body["error"] == "refused" and "protected" in body["detail"]
    assert _blocked_ips(sim) == set()
    assert len(engine.journal.entries(kind="guard.refused")) == 4
    # refusals do not use up the automatic budget
    ok = client.post("/api/v1/isolations", json={"host": "ws01", "source": "edr"}, headers=auth("agent"))
    assert ok.status_code == 200


def test_duplicate_requests_collapse(client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    first = client.post("/api/v1/isolations", json={"host": "ws03", "source": "edr"}, headers=auth("agent"))
    assert first.status_code == 200 and first.get_json()["decision"] == "isolated"
    by_ip = client.post("/api/v1/isolations", json={"host": "192.168.178.103", "source": "edr"}, headers=auth("agent"))
    assert by_ip.status_code == 200
    assert by_ip.get_json()["decision"] == "duplicate"
    assert by_ip.get_json()["request_id"] == first.get_json()["request_id"]
    assert len(_blocked_ips(sim)) == 1
    # a host a person isolated also counts as already isolated
    client.post("/api/v1/isolations", json={"host": "ws04", "reason": "manual"}, headers=auth("staff"))
    dup = client.post("/api/v1/isolations", json={"host": "ws04", "source": "edr"}, headers=auth("agent"))
    assert dup.get_json()["decision"] == "duplicate"


def test_auto_release_after_policy_minutes(app: Flask, client: FlaskClient, auth: Any, sim: Tr064Simulator,
                                           engine: Any) -> None:
    resp = client.post("/api/v1/isolations", json={"host": "ws05", "source": "edr"}, headers=auth("agent"))
    body = resp.get_json()
    due = datetime.fromisoformat(body["auto_release_at"])
    assert timedelta(minutes=29) < due - datetime.now(UTC) <= timedelta(minutes=30)
    assert _blocked_ips(sim) == {"192.168.178.105"}
    gate = app.extensions["notaus"].gate
    assert gate.release_due(datetime.now(UTC) + timedelta(minutes=10)) == []
    assert _blocked_ips(sim) == {"192.168.178.105"}
    released = gate.release_due(datetime.now(UTC) + timedelta(minutes=31))
    assert [(r["host"], r["outcome"]) for r in released] == [("ws05", "done")]
    assert _blocked_ips(sim) == set()
    assert engine.journal.entries(kind="agent.release")[0].actor == "system:auto-release"
    assert gate.release_due(datetime.now(UTC) + timedelta(minutes=31)) == []


def test_agent_rate_limit_answers_429(app: Flask, auth: Any) -> None:
    app.extensions["notaus"].agent_limiter.limit = 3
    client = app.test_client()
    codes = [client.post("/api/v1/isolations", json={}, headers=auth("agent")).status_code for _ in range(5)]
    assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429]


def test_staff_restore_is_refused_and_agent_cannot_panic(client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    assert client.post("/api/v1/panic", json={"confirm": True}, headers=auth("agent")).status_code == 403
    assert sim.state.wan.status == "Connected"
    client.post("/api/v1/panic", json={"confirm": True}, headers=auth("staff"))
    resp = client.post("/api/v1/restore", json={"reason": "bitte", "stage": "all"}, headers=auth("staff"))
    assert resp.status_code == 403 and "restore" in resp.get_json()["detail"]
    assert sim.state.wan.status == "Disconnected"
