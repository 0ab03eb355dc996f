"""API v1 against the real engine and the TR-064 simulator: panic, restore, isolate, errors, journal."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from notaus.drivers.sim.tr64 import Tr064Simulator


def test_panic_without_confirm_returns_plan_and_warnings_and_changes_nothing(
        client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    resp = client.post("/api/v1/panic", json={"profile": "full"}, headers=auth("staff"))
    assert resp.status_code == 428
    body = resp.get_json()
    assert body["error"] == "confirmation_required"
    codes = {w["code"] for w in body["warnings"]}
    assert {"phones", "ti", "remote", "email"} <= codes
    phones = next(w for w in body["warnings"] if w["code"] == "phones")
    assert "0301234567" in phones["de"]      # the simulator's numbers, read via telephony()
    assert [s["action"] for s in body["plan"]["steps"]] == ["cut_wan", "wlan_off"]
    assert body["keep_phones_available"] is True
    assert sim.state.wan.status == "Connected"


def test_confirmed_panic_cuts_wan_verified_then_provider_restores(
        client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    resp = client.post("/api/v1/panic", json={"profile": "full", "confirm": True}, headers=auth("staff"))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["outcome"] == "done"
    assert {(d["action"], d["outcome"]) for d in body["devices"]} == {("cut_wan", "done"), ("wlan_off", "done")}
    assert sim.state.wan.status == "Disconnected"
    assert not any(w.enabled for w in sim.state.wlans)

    status = client.get("/api/v1/status", headers=auth("staff")).get_json()
    assert status["state"] == "getrennt" and status["state_code"] == "disconnected" and status["contained"]

    refused = client.post("/api/v1/restore", json={"reason": "ok", "stage": "all"}, headers=auth("staff"))
    assert refused.status_code == 403
    assert sim.state.wan.status == "Disconnected"

    missing = client.post("/api/v1/restore", json={"stage": "wan"}, headers=auth("provider"))
    assert missing.status_code == 400 and missing.get_json()["error"] == "missing_field"

    ok = client.post("/api/v1/restore", json={"reason": "Dienstleister hat geprüft", "stage": "wan"},
                     headers=auth("provider"))
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["outcome"] == "done"
    assert sim.state.wan.status == "Connected"
    assert client.get("/api/v1/status", headers=auth("staff")).get_json()["state_code"] == "connected"


def test_keep_phones_blocks_pcs_but_not_the_phone(client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    resp = client.post("/api/v1/panic", json={"profile": "keep-phones", "confirm": True}, headers=auth("staff"))
    assert resp.status_code in (200, 207)
    blocked = {d["target"] for d in resp.get_json()["devices"] if d["action"] == "block_host"}
    assert "192.168.178.20" in blocked and "192.168.178.60" not in blocked
    assert sim.state.wan_access("192.168.178.20")[0] is True
    assert sim.state.wan_access("192.168.178.60")[0] is False
    assert sim.state.wan.status == "Connected"


def test_idempotency_key_replays_and_rejects_other_body(client: FlaskClient, auth: Any, engine: Any) -> None:
    headers = {**auth("staff"), "Idempotency-Key": "tablet-1"}
    first = client.post("/api/v1/panic", json={"profile": "full", "confirm": True}, headers=headers)
    panics = len(engine.journal.entries(kind="panic.request"))
    again = client.post("/api/v1/panic", json={"confirm": True, "profile": "full"}, headers=headers)
    assert again.status_code == first.status_code
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(engine.journal.entries(kind="panic.request")) == panics == 1
    other = client.post("/api/v1/panic", json={"profile": "keep-phones", "confirm": True}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    # keys are per caller: another token may use the same key string
    prov = client.post("/api/v1/checklist/calm", json={}, headers={**auth("provider"), "Idempotency-Key": "tablet-1"})
    assert prov.status_code == 200


def test_manual_isolation_release_and_protected_refusal(client: FlaskClient, auth: Any, sim: Tr064Simulator) -> None:
    resp = client.post("/api/v1/isolations", json={"host": "empfang-pc", "reason": "Popup", "source": "staff"},
                       headers=auth("staff"))
    assert resp.status_code == 200, resp.get_json()
    assert sim.state.wan_access("192.168.178.20")[0] is True
    listed = client.get("/api/v1/isolations", headers=auth("staff")).get_json()
    assert [i["host"] for i in listed["isolations"]] == ["empfang-pc"]

    refused = client.post("/api/v1/isolations", json={"host": "ti-konnektor", "reason": "x"}, headers=auth("provider"))
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "refused" and "protected" in body["detail"]
    assert sim.state.wan_access("192.168.178.50")[0] is False

    assert client.delete("/api/v1/isolations/empfang-pc", headers=auth("staff")).status_code == 403
    released = client.delete("/api/v1/isolations/empfang-pc?reason=sauber", headers=auth("provider"))
    assert released.status_code == 200, released.get_json()
    assert sim.state.wan_access("192.168.178.20")[0] is False
    again = client.delete("/api/v1/isolations/empfang-pc", headers=auth("provider"))
    assert again.status_code == 409 and "not isolated" in again.get_json()["detail"]


def test_errors_are_json_with_the_right_status(client: FlaskClient, auth: Any) -> None:
    h = auth("staff")
    cases = [
        (client.get("/api/v1/nothing", headers=h), 404, "not_found"),
        (client.put("/api/v1/panic", headers=h), 405, "method_not_allowed"),
        (client.post("/api/v1/panic", data="profile=full", headers=h,
                     content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type"),
        (client.post("/api/v1/panic", data="{nope", headers=h, content_type="application/json"), 400, "bad_json"),
        (client.post("/api/v1/panic", json=[1, 2], headers=h), 400, "bad_json"),
        (client.post("/api/v1/panic", json={"profile": "everything"}, headers=h), 400, "bad_field"),
        (client.post("/api/v1/panic", json={"confirm": "yes"}, headers=h), 400, "bad_field"),
        (client.post("/api/v1/isolations", json={"reason": "x"}, headers=h), 400, "missing_field"),
        (client.post("/api/v1/checklist/unknown", json={}, headers=h), 404, "not_found"),
        (client.get("/api/v1/journal?after=-1", headers=h), 400, "bad_request"),
        (client.post("/api/v1/panic", data=b"{" + b" " * 70_000 + b"}", headers=h,
                     content_type="application/json"), 413, "too_large"),
    ]
    for resp, status, error in cases:
        assert resp.status_code == status, (status, resp.get_json())
        body = resp.get_json()
        assert body["error"] == error and body["detail"], body


def test_checklist_ticks_are_journaled_and_journal_pages(client: FlaskClient, auth: Any, engine: Any) -> None:
    r = client.post("/api/v1/checklist/ups", json={"done": True, "note": "USV-Kabel gezogen"}, headers=auth("staff"))
    assert r.status_code == 200
    ticks = engine.journal.entries(kind="checklist.tick")
    assert len(ticks) == 1
    assert ticks[0].data["item"] == "ups" and ticks[0].actor == "staff:test-staff"
    assert "USV" in ticks[0].data["text"]
    items = {i["id"]: i for i in client.get("/api/v1/checklist", headers=auth("staff")).get_json()["items"]}
    assert items["ups"]["done"] is True and items["calm"]["done"] is False
    assert {"calm", "no-admin", "disconnect", "power-off", "ups", "call-provider", "police", "report-72h"} == set(items)

    for i in range(5):
        engine.journal.append("test.entry", {"i": i})
    seen: list[int] = []
    after = 0
    while True:
        page = client.get(f"/api/v1/journal?after={after}&limit=2", headers=auth("staff")).get_json()
        if not page["entries"]:
            break
        assert len(page["entries"]) <= 2
        seen += [e["seq"] for e in page["entries"]]
        after = page["next_after"]
    assert seen == list(range(1, page["head"] + 1))
    assert engine.journal.verify().ok


def test_metrics_healthz_and_security_headers(client: FlaskClient, auth: Any) -> None:
    client.post("/api/v1/panic", json={"profile": "full", "confirm": True}, headers=auth("staff"))
    text = client.get("/metrics", headers=auth("provider")).get_data(as_text=True)
    assert 'notaus_containment_state{state="getrennt"} 1' in text
    assert 'notaus_device_reachable{device="fritzbox",driver="fritzbox"} 1' in text
    assert "notaus_journal_entries " in text and "notaus_isolations 0" in text
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["ok"] is True
    for resp in (health, client.get("/login")):
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_detections_come_from_the_journal_into_api_metrics_page_and_incident(
        client: FlaskClient, auth: Any, app: Any) -> None:
    """A finding the Responder journals is listed by the API, counted by /metrics, shown on the staff
    page with its incident link, and its incident lists it."""
    from notaus.controller.detection.analyzer import Detection
    from notaus.controller.detection.response import Responder

    engine = app.extensions["notaus"].engine
    assert client.get("/api/v1/detections", headers=auth("staff")).get_json() == {"detections": []}
    det = Detection(src="192.168.178.77", dst="203.0.113.9", dst_port=443, proto="tcp", score=0.97,
                    interval_s=60.0, connections=40, name="c2.example", kind="beacon",
                    why=["regelmäßig etwa alle 60.0 s (Streuung 20 %)"])
    policy = engine.policy.model_copy(deep=True)
    policy.detection.response = "alert"
    assert Responder(policy, engine.journal).handle(det) == "alert"
    items = client.get("/api/v1/detections", headers=auth("staff")).get_json()["detections"]
    assert [(d["src"], d["dst"], d["name"], d["score"], d["decision"], d["band"]) for d in items] == [
        ("192.168.178.77", "203.0.113.9", "c2.example", 0.97, "alert", "isolate")]
    assert items[0]["evidence"] == det.why and items[0]["incident"]
    metrics = client.get("/metrics", headers=auth("provider")).get_data(as_text=True)
    assert 'notaus_detections{level="isolate"} 1' in metrics
    page = client.get("/detections", headers=auth("staff")).get_data(as_text=True)
    assert "192.168.178.77" in page and "c2.example" in page and f'/incidents/{items[0]["incident"]}' in page
    inc = client.get(f'/api/v1/incidents/{items[0]["incident"]}', headers=auth("staff")).get_json()
    assert [d["src"] for d in inc["detections"]] == ["192.168.178.77"]
    assert client.get("/api/v1/detections?limit=0", headers=auth("staff")).status_code == 400
