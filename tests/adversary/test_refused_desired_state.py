"""Issue 11.3: desired state the device refuses is not retried for ever.

Attack tried: isolate an address of the practice network that the router does not know (TR-064
fault 714 on every call). Before, each enforcement pass re-applied it and journaled drift: with 20
of them the journal grew by about 770,000 entries a day. Now it needs attention: shown in status,
retried with backoff, journaled once per change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from notaus.controller.attention import STATE_KEY
from notaus.drivers.sim.tr64 import Tr064Simulator

UNKNOWN = [f"192.168.178.{n}" for n in range(200, 205)]    # practice LAN, not in the router's list


def test_refused_isolation_needs_attention_and_is_journaled_once(
        client: FlaskClient, auth: Any, sim: Tr064Simulator, engine: Any) -> None:
    for ip in UNKNOWN:
        resp = client.post("/api/v1/isolations", json={"host": ip, "reason": "test"}, headers=auth("staff"))
        assert resp.status_code == 207, resp.get_json()
    assert sorted(engine.state.desired()["isolations"]) == sorted(UNKNOWN)
    engine.enforce()                                      # first pass: tries once, marks attention
    marks = engine.state.get(STATE_KEY)
    assert sorted(v["target"] for v in marks.values()) == sorted(UNKNOWN)
    assert {v["kind"] for v in marks.values()} == {"not_found"}
    assert len(engine.journal.entries(kind="attention", limit=100)) == len(UNKNOWN)
    before = engine.journal.count()
    for _ in range(20):                                   # 20 more passes inside the backoff: nothing at all
        assert engine.enforce() == []
    assert engine.journal.count() == before
    status = client.get("/api/v1/status", headers=auth("staff")).get_json()
    assert sorted(a["target"] for a in status["attention"]) == sorted(UNKNOWN)
    assert all(i["needs_attention"] for i in status["isolations"])

    # backoff over: one retry, the same refusal -> no new "attention" entry, the next wait doubles
    past = {k: {**v, "next_try": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()} for k, v in marks.items()}
    engine.state.put(STATE_KEY, past)
    engine.enforce()
    again = engine.state.get(STATE_KEY)
    assert {v["tries"] for v in again.values()} == {2}
    waits = {(datetime.fromisoformat(v["next_try"]) - datetime.fromisoformat(v["last_try"])).total_seconds()
             for v in again.values()}
    assert waits == {60.0}
    assert len(engine.journal.entries(kind="attention", limit=100)) == len(UNKNOWN)

    # released by the provider: the marks are cleared, once each
    for ip in UNKNOWN:
        assert client.delete(f"/api/v1/isolations/{ip}", json={"reason": "checked"},
                             headers=auth("provider")).status_code in (200, 207)
    engine.enforce()
    assert engine.state.get(STATE_KEY) == {}
    assert len(engine.journal.entries(kind="attention.cleared", limit=100)) == len(UNKNOWN)
    engine.enforce()
    assert len(engine.journal.entries(kind="attention.cleared", limit=100)) == len(UNKNOWN)
