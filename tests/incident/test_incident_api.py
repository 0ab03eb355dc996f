"""The incidents blueprint on the real app: JSON endpoints, pages with forms, report download."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from .conftest import bearer


def test_isolation_through_the_api_opens_an_incident_and_staff_work_it(app: Flask, client: FlaskClient) -> None:
    staff = bearer(app, "staff")
    r = client.post("/api/v1/isolations", json={"host": "empfang-pc", "reason": "Virenscanner-Alarm"}, headers=staff)
    assert r.status_code == 200, r.get_json()
    lst = client.get("/api/v1/incidents", headers=staff).get_json()
    assert lst["current"] and lst["incidents"][0]["trigger"] == "isolation"
    inc_id = lst["current"]
    # the tablet's own checklist endpoint and ours write the same fact
    assert client.post("/api/v1/checklist/calm", json={"done": True}, headers=staff).status_code == 200
    r = client.post(f"/api/v1/incidents/{inc_id}/checklist/check-backups", json={"note": "NAS ok"}, headers=staff)
    assert r.status_code == 200
    assert client.post(f"/api/v1/incidents/{inc_id}/checklist/bogus", json={}, headers=staff).status_code == 404
    big = b"\xff\xd8" + b"x" * 300_000                              # larger than the API's 64 KiB body limit
    r = client.post(f"/api/v1/incidents/{inc_id}/photos", headers=staff,
                    data={"file": (__import__("io").BytesIO(big), "handy.jpg"), "caption": "Bildschirm"},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    sha = r.get_json()["sha256"]
    assert client.get(f"/api/v1/incidents/{inc_id}/files/{sha}", headers=staff).data == big
    r = client.put(f"/api/v1/incidents/{inc_id}/drafts/authority", json={"sections": {"people": "ca. 800 Patienten"}},
                   headers=staff)
    assert r.status_code == 200
    assert client.put(f"/api/v1/incidents/{inc_id}/drafts/authority", json={"sections": {"x": "y"}},
                      headers=staff).status_code == 400
    doc = client.get(f"/api/v1/incidents/{inc_id}", headers=staff).get_json()
    ticks = {i["id"]: i["done"] for cl in doc["checklists"] for i in cl["items"]}
    assert ticks["calm"] and ticks["check-backups"] and not ticks["krbtgt"]
    assert next(s for s in doc["drafts"]["authority"]["sections"] if s["key"] == "people")["text"] == \
        "ca. 800 Patienten"
    assert [h["host"] for h in doc["hosts"]] == ["empfang-pc"]
    seqs = [e["seq"] for e in doc["timeline"]]
    assert seqs == sorted(seqs) and doc["timeline"][-1]["hash"] == doc["journal_head"]["hash"]
    rep = client.get(f"/api/v1/incidents/{inc_id}/report", headers=staff)
    assert rep.status_code == 200 and "script-src" not in rep.headers["Content-Security-Policy"]
    assert doc["journal_head"]["hash"] in rep.get_data(as_text=True)
    agent = bearer(app, "agent")
    assert client.get("/api/v1/incidents", headers=agent).status_code == 403
    assert client.post(f"/api/v1/incidents/{inc_id}/notes", json={"text": "x"}).status_code == 401


def test_pages_render_and_forms_need_csrf(app: Flask, client: FlaskClient) -> None:
    staff_token = app.extensions["notaus"].tokens.create("staff", "empfang")
    assert client.get("/incidents").status_code == 303                  # not signed in
    client.set_cookie("notaus_session", staff_token)
    created = client.post("/api/v1/incidents", json={"note": "Anruf einer Patientin wegen seltsamer Mail"},
                          headers={"Authorization": f"Bearer {staff_token}"})
    assert created.status_code == 201
    inc_id = created.get_json()["id"]
    page = client.get(f"/incidents/{inc_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sofortmaßnahmen" in html and "KRBTGT" in html and "noch 71 Std." in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf
    assert client.post(f"/incidents/{inc_id}/tick", data={"item": "police", "done": "1"}).status_code == 403
    r = client.post(f"/incidents/{inc_id}/tick", data={"item": "police", "done": "1", "csrf": csrf.group(1)})
    assert r.status_code == 303
    r = client.post(f"/incidents/{inc_id}/note", data={"text": "Polizei informiert", "csrf": csrf.group(1)})
    assert r.status_code == 303
    html = client.get(f"/incidents/{inc_id}?lang=en").get_data(as_text=True)
    assert "Polizei informiert" in html and "Police report" in html and 'class="ticked"' in html
    assert inc_id in client.get("/incidents").get_data(as_text=True)
