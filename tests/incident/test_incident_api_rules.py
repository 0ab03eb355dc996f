"""The incident endpoints follow the API's rules: idempotency keys, JSON errors with the right 4xx,
413 for too-large photos, the deadline for provider/admin only, a closed incident stays closed, and
the report and uploaded files carry a restrictive CSP.

The photo upload is tested here by hand as multipart/form-data (Schemathesis fuzzes it too, but a
retry with a new boundary and a 20 MB limit are things a fuzzer does not try).
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient

from notaus.api.incidents import FILE_CSP, REPORT_CSP
from notaus.controller.incident import MAX_UPLOAD_BYTES, IncidentManager
from notaus.controller.reporting import REPORT_HOURS

from .conftest import bearer

JPEG = b"\xff\xd8\xff\xe0" + b"\x10photo" * 20


def _open(client: FlaskClient, headers: dict[str, str]) -> str:
    r = client.post("/api/v1/incidents", json={"note": "Lösegeldforderung auf dem Empfangs-PC"}, headers=headers)
    assert r.status_code == 201, r.get_json()
    return str(r.get_json()["id"])


def _photo(client: FlaskClient, inc: str, headers: dict[str, str], data: bytes, name: str = "handy.jpg",
           caption: str = "Bildschirm") -> tuple[int, dict[str, object], dict[str, str]]:
    r = client.post(f"/api/v1/incidents/{inc}/photos", headers=headers,
                    data={"file": (io.BytesIO(data), name), "caption": caption}, content_type="multipart/form-data")
    return r.status_code, r.get_json(), dict(r.headers)


def _kinds(app: Flask, kind: str) -> int:
    return len(app.extensions["notaus"].engine.journal.entries(limit=1000, kind=kind))


def test_photo_upload_is_idempotent_across_multipart_boundaries(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    inc = _open(client, staff)
    key = {**staff, "Idempotency-Key": "foto-1"}
    status, body, headers = _photo(client, inc, key, JPEG)
    assert status == 201 and body["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert "Idempotent-Replayed" not in headers
    # the test client picks a new random boundary for every request: the raw bodies differ
    status2, body2, headers2 = _photo(client, inc, key, JPEG)
    assert (status2, body2, headers2.get("Idempotent-Replayed")) == (201, body, "true")
    assert _kinds(app, "incident.photo") == 1
    status3, body3, _ = _photo(client, inc, key, JPEG + b"other")
    assert status3 == 422 and body3["error"] == "idempotency_key_reused"
    status4, body4, _ = _photo(client, inc, key, JPEG, caption="anderer Text")
    assert status4 == 422
    got = client.get(f"/api/v1/incidents/{inc}/files/{body['sha256']}", headers=staff)
    assert got.status_code == 200 and got.data == JPEG
    assert got.mimetype == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["Content-Security-Policy"] == FILE_CSP and "sandbox" in FILE_CSP


def test_photo_errors_are_json_with_the_right_status(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    inc = _open(client, staff)
    too_big = b"\xff" * (MAX_UPLOAD_BYTES + 1)
    status, body, _ = _photo(client, inc, staff, too_big)
    assert status == 413 and body["error"] == "too_large" and "20 MB" in str(body["detail"])
    far_too_big = b"\xff" * (MAX_UPLOAD_BYTES + 200 * 1024)        # beyond the multipart allowance too
    status, body, _ = _photo(client, inc, staff, far_too_big)
    assert status == 413 and "20 MB" in str(body["detail"])
    status, body, _ = _photo(client, inc, staff, b"")
    assert status == 400 and body["error"] == "bad_field"
    r = client.post(f"/api/v1/incidents/{inc}/photos", headers=staff, json={"file": "x"})
    assert r.status_code == 415 and r.get_json()["error"] == "unsupported_media_type"
    r = client.post(f"/api/v1/incidents/{inc}/photos", headers=staff, data={"caption": "ohne Datei"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error"] == "missing_field"
    status, body, _ = _photo(client, "19990101-9", staff, JPEG)
    assert status == 404 and body["error"] == "not_found"
    assert _kinds(app, "incident.photo") == 0


def test_json_calls_replay_with_the_same_key_and_reject_a_changed_body(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    key = {**staff, "Idempotency-Key": "open-1"}
    first = client.post("/api/v1/incidents", json={"note": "Anruf"}, headers=key)
    again = client.post("/api/v1/incidents", json={"note": "Anruf"}, headers=key)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    inc = first.get_json()["id"]
    note = {**staff, "Idempotency-Key": "note-1"}
    for _ in range(3):
        r = client.post(f"/api/v1/incidents/{inc}/notes", json={"text": "Server piept"}, headers=note)
        assert r.status_code == 201
    assert _kinds(app, "incident.note") == 1
    r = client.post(f"/api/v1/incidents/{inc}/notes", json={"text": "anderer Text"}, headers=note)
    assert r.status_code == 422 and r.get_json()["error"] == "idempotency_key_reused"
    tick = {**staff, "Idempotency-Key": "tick-1"}
    for _ in range(2):
        assert client.post(f"/api/v1/incidents/{inc}/checklist/police", json={}, headers=tick).status_code == 200
    assert _kinds(app, "checklist.tick") == 1
    # a second open without a key answers the incident that is open (200, not a new one)
    r = client.post("/api/v1/incidents", json={}, headers=staff)
    assert r.status_code == 200 and r.get_json()["id"] == inc


def test_only_provider_and_admin_move_the_deadline(app: Flask, client: FlaskClient) -> None:
    staff, provider = bearer(app, "staff"), bearer(app, "provider")
    inc = _open(client, staff)
    earlier = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)
    r = client.post(f"/api/v1/incidents/{inc}/knowledge", json={"knowledge_at": earlier.isoformat()}, headers=staff)
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert client.post(f"/api/v1/incidents/{inc}/reported", json={}, headers=staff).status_code == 403
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = client.post(f"/api/v1/incidents/{inc}/knowledge", json={"knowledge_at": future}, headers=provider)
    assert r.status_code == 400 and "future" in r.get_json()["detail"]
    r = client.post(f"/api/v1/incidents/{inc}/knowledge", json={"knowledge_at": "gestern früh"}, headers=provider)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_field"
    r = client.post(f"/api/v1/incidents/{inc}/knowledge",
                    json={"knowledge_at": earlier.isoformat(), "reason": "Notiz der Kollegin"}, headers=provider)
    assert r.status_code == 200
    cd = r.get_json()["countdown"]
    assert datetime.fromisoformat(cd["deadline"]) == earlier + timedelta(hours=REPORT_HOURS)
    assert 66 * 3600 < cd["seconds_left"] <= 67 * 3600
    r = client.post(f"/api/v1/incidents/{inc}/reported", json={"reference": "LDA-77"}, headers=provider)
    assert r.status_code == 200 and r.get_json()["countdown"]["reported"] is True
    assert r.get_json()["report_reference"] == "LDA-77"


def test_staff_may_only_open_with_an_earlier_moment_of_knowledge(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = client.post("/api/v1/incidents", json={"knowledge_at": future}, headers=staff)
    assert r.status_code == 400 and "future" in r.get_json()["detail"]
    earlier = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    r = client.post("/api/v1/incidents", json={"knowledge_at": earlier.isoformat()}, headers=staff)
    assert r.status_code == 201 and datetime.fromisoformat(r.get_json()["knowledge_at"]) == earlier


def test_a_closed_incident_refuses_changes_with_409(app: Flask, client: FlaskClient) -> None:
    staff, provider = bearer(app, "staff"), bearer(app, "provider")
    inc = _open(client, staff)
    IncidentManager.for_engine(app.extensions["notaus"].engine).close_incident(inc, actor="test", reason="done")
    calls = [("POST", f"/api/v1/incidents/{inc}/notes", {"text": "zu spät"}, staff),
             ("POST", f"/api/v1/incidents/{inc}/checklist/police", {}, staff),
             ("PUT", f"/api/v1/incidents/{inc}/drafts/patients", {"sections": {"nature": "x"}}, staff),
             ("POST", f"/api/v1/incidents/{inc}/knowledge", {"knowledge_at": "2024-05-03T08:15"}, provider),
             ("POST", f"/api/v1/incidents/{inc}/reported", {}, provider)]
    for method, path, body, headers in calls:
        r = client.open(path, method=method, json=body, headers=headers)
        assert r.status_code == 409 and r.get_json()["error"] == "incident_closed", (path, r.get_json())
    status, body, _ = _photo(client, inc, staff, JPEG)
    assert status == 409
    assert client.get(f"/api/v1/incidents/{inc}", headers=staff).status_code == 200     # still readable
    assert client.get("/api/v1/incidents/current", headers=staff).status_code == 404


def test_body_and_field_errors(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    inc = _open(client, staff)
    r = client.post(f"/api/v1/incidents/{inc}/notes", json={"text": "x" * 70_000}, headers=staff)
    assert r.status_code == 413 and "64 KiB" in r.get_json()["detail"]
    r = client.post(f"/api/v1/incidents/{inc}/notes", data="text=x", headers=staff,
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    r = client.put(f"/api/v1/incidents/{inc}/drafts/authority", json={"sections": {"people": 800}}, headers=staff)
    assert r.status_code == 400 and "people" in r.get_json()["detail"]
    r = client.put(f"/api/v1/incidents/{inc}/drafts/memo", json={"sections": {}}, headers=staff)
    assert r.status_code == 404
    assert client.get(f"/api/v1/incidents/{inc}?lang=fr", headers=staff).status_code == 400
    assert client.get(f"/api/v1/incidents/{inc}/report?format=docx", headers=staff).status_code == 400
    r = client.get(f"/api/v1/incidents/{inc}/files/{'0' * 64}", headers=staff)
    assert r.status_code == 404 and r.is_json


def test_report_html_and_pdf_carry_the_restrictive_csp(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    inc = _open(client, staff)
    html = client.get(f"/api/v1/incidents/{inc}/report?lang=en", headers=staff)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert html.headers["Content-Security-Policy"] == REPORT_CSP
    for directive in ("default-src 'none'", "sandbox", "frame-ancestors 'none'", "form-action 'none'"):
        assert directive in REPORT_CSP
    assert "script-src" not in REPORT_CSP and "<script" not in html.get_data(as_text=True)
    dl = client.get(f"/api/v1/incidents/{inc}/report?download=1", headers=staff)
    assert dl.headers["Content-Disposition"] == f'attachment; filename="vorfall-{inc}.html"'
    pdf = client.get(f"/api/v1/incidents/{inc}/report?format=pdf", headers=staff)
    assert pdf.status_code == 200, pdf.get_json(silent=True)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Security-Policy"] == REPORT_CSP
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="vorfall-{inc}.pdf"'


def test_page_forms_follow_the_same_split(app: Flask, client: FlaskClient) -> None:
    staff_token = app.extensions["notaus"].tokens.create("staff", "empfang")
    provider_token = app.extensions["notaus"].tokens.create("provider", "it-mueller")
    inc = _open(client, {"Authorization": f"Bearer {staff_token}"})
    client.set_cookie("notaus_session", staff_token)
    page = client.get(f"/incidents/{inc}").get_data(as_text=True)
    assert 'id="knowledge"' not in page and 'id="reported"' not in page and 'id="deadline-hint"' in page
    assert 'id="note"' in page
    csrf = client.get_cookie("notaus_csrf")
    assert csrf is not None
    r = client.post(f"/incidents/{inc}/knowledge", data={"knowledge_at": "2024-05-03T08:15",
                                                        "csrf": csrf.value})
    assert r.status_code == 403
    client.set_cookie("notaus_session", provider_token)
    page = client.get(f"/incidents/{inc}").get_data(as_text=True)
    assert 'id="knowledge"' in page and 'id="reported"' in page
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/incidents/{inc}/knowledge", data={"knowledge_at": future, "csrf": csrf.value})
    assert r.status_code == 303 and "error=" in r.headers["Location"] and "future" in r.headers["Location"]
    big = b"\xff" * (MAX_UPLOAD_BYTES + 200 * 1024)
    r = client.post(f"/incidents/{inc}/photos", data={"file": (io.BytesIO(big), "riesig.jpg"), "csrf": csrf.value},
                    content_type="multipart/form-data")
    assert r.status_code == 303 and "20%20MB" in r.headers["Location"]


def test_knowledge_form_round_trips_with_the_time_zone(app: Flask, client: FlaskClient) -> None:
    """Saving the form unchanged must not move the deadline (the field carries its UTC offset)."""
    provider_token = app.extensions["notaus"].tokens.create("provider", "it-mueller")
    headers = {"Authorization": f"Bearer {provider_token}"}
    inc = _open(client, headers)
    before = client.get(f"/api/v1/incidents/{inc}", headers=headers).get_json()["knowledge_at"]
    client.set_cookie("notaus_session", provider_token)
    page = client.get(f"/incidents/{inc}").get_data(as_text=True)
    value = re.search(r'name="knowledge_at" value="([^"]+)"', page)
    assert value and re.search(r"[+-]\d\d:\d\d$", value.group(1))
    csrf = client.get_cookie("notaus_csrf")
    assert csrf is not None
    r = client.post(f"/incidents/{inc}/knowledge", data={"knowledge_at": value.group(1), "csrf": csrf.value})
    assert r.status_code == 303 and "error=" not in r.headers["Location"]
    after = client.get(f"/api/v1/incidents/{inc}", headers=headers).get_json()["knowledge_at"]
    assert datetime.fromisoformat(after) == datetime.fromisoformat(before).replace(second=0, microsecond=0)
