"""Checklists over the API: every item of the guide can be ticked, the tablet's eight keep their ids,
and a tick made on the tablet counts for the open incident."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from notaus.api.i18n import CHECKLIST
from notaus.controller.checklists import CHECKLISTS, ITEMS, provider_contact
from notaus.controller.incident import IncidentManager

TABLET_IDS = ["calm", "no-admin", "disconnect", "power-off", "ups", "call-provider", "police", "report-72h"]


def test_tablet_items_keep_their_ids_and_exist_in_the_guide() -> None:
    assert list(CHECKLIST) == TABLET_IDS
    assert set(TABLET_IDS) <= set(ITEMS)
    # one catalogue: the tablet shows the guide's wording, the one a tick journals
    assert all(CHECKLIST[key] == (ITEMS[key].de, ITEMS[key].en) for key in TABLET_IDS)


def test_every_guide_item_can_be_ticked_and_is_journaled(client: FlaskClient, auth: Any, engine: Any) -> None:
    assert len(ITEMS) > len(TABLET_IDS)                       # provider, police, reporting, follow-up lists too
    for item in ITEMS:
        resp = client.post(f"/api/v1/checklist/{item}", json={"done": True}, headers=auth("provider"))
        assert resp.status_code == 200, (item, resp.get_json())
    ticks = engine.journal.entries(kind="checklist.tick", limit=1000)
    assert [t.data["item"] for t in ticks] == list(ITEMS)
    provider = provider_contact(engine.policy)                 # the text the tablet showed, provider filled in
    assert all(t.data["text"] == ITEMS[t.data["item"]].text("de", provider) for t in ticks)
    assert "0301112233" in next(t.data["text"] for t in ticks if t.data["item"] == "call-provider")
    assert all(t.actor == "provider:test-provider" for t in ticks)
    unknown = client.post("/api/v1/checklist/not-an-item", json={}, headers=auth("staff"))
    assert unknown.status_code == 404 and "krbtgt" in unknown.get_json()["detail"]


def test_checklist_state_has_the_tablet_list_and_every_guide_list(client: FlaskClient, auth: Any) -> None:
    client.post("/api/v1/checklist/krbtgt", json={"done": True}, headers=auth("provider"))
    client.post("/api/v1/checklist/calm", json={"done": True}, headers=auth("staff"))
    client.post("/api/v1/checklist/calm", json={"done": False}, headers=auth("staff"))
    data = client.get("/api/v1/checklist?lang=en", headers=auth("staff")).get_json()
    assert [i["id"] for i in data["items"]] == TABLET_IDS
    assert not next(i for i in data["items"] if i["id"] == "calm")["done"]       # the last tick counts
    lists = {cl["id"]: cl for cl in data["checklists"]}
    assert list(lists) == [cl.id for cl in CHECKLISTS]
    restoration = lists["restoration"]
    assert restoration["done"] == 1 and restoration["total"] == len(CHECKLISTS[1].items)
    krbtgt = next(i for i in restoration["items"] if i["id"] == "krbtgt")
    assert krbtgt["done"] and krbtgt["actor"] == "provider:test-provider" and "KRBTGT" in krbtgt["text"]


def test_tablet_tick_belongs_to_the_open_incident(client: FlaskClient, auth: Any, engine: Any) -> None:
    mgr = IncidentManager.for_engine(engine)
    inc = mgr.open(actor="staff:test-staff", note="Lösegeldforderung am Empfang")
    resp = client.post("/api/v1/checklist/ups", json={"done": True, "note": "Server 2 aus"}, headers=auth("staff"))
    assert resp.status_code == 200
    [tick] = engine.journal.entries(kind="checklist.tick")
    assert tick.data["incident"] == inc.id and tick.data["note"] == "Server 2 aus"
    assert mgr.ticks(inc)["ups"]["done"] is True
    summary = client.get(f"/api/v1/incidents/{inc.id}", headers=auth("staff")).get_json()
    immediate = next(cl for cl in summary["checklists"] if cl["id"] == "immediate")
    assert next(i for i in immediate["items"] if i["id"] == "ups")["done"] is True


def test_navigation_links_to_the_incidents_page(client: FlaskClient, auth: Any) -> None:
    page = client.get("/?lang=de", headers=auth("staff")).get_data(as_text=True)
    assert 'id="incidents-link"' in page and 'href="/incidents?lang=de"' in page and ">Vorfälle<" in page
    login = client.get("/login").get_data(as_text=True)
    assert 'id="incidents-link"' not in login                 # no navigation before sign-in
    incidents = client.get("/incidents", headers=auth("staff"))
    assert incidents.status_code == 200 and 'id="incidents-link"' in incidents.get_data(as_text=True)
