"""What the scheduler knows, shown before an emergency: ``status.service`` and the banners in the UI.

A real :class:`controller.scheduler.Scheduler` runs against the engine and the TR-064 simulator:
a wrong FRITZ!Box password found by the health job, a router "reboot" the enforcement job undoes,
a drill with its end time, and the 72-hour countdown of the incident the cut opened. Checked in
the JSON and in Chromium; screenshots in ``test-artifacts/api/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from notaus.api.app import create_app
from notaus.controller.engine import Engine
from notaus.controller.incident import IncidentManager
from notaus.controller.scheduler import Scheduler
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.waiting import wait_for

from .api_practice import ROLES, SIM_HOSTS, practice_policy
from .browser_kit import ARTIFACTS, collect_errors, needs_chromium, served, sign_in


@dataclass
class Box:
    sim: Tr064Simulator
    engine: Engine
    sched: Scheduler
    app: Flask
    tokens: dict[str, str]

    def status(self, role: str = "staff") -> dict[str, Any]:
        resp = self.app.test_client().get("/api/v1/status", headers={"Authorization": f"Bearer {self.tokens[role]}"})
        assert resp.status_code == 200
        data: dict[str, Any] = resp.get_json()
        return data


def _box(tmp_path: Path, policy_password: str) -> Iterator[Box]:
    sim = Tr064Simulator(password="richtig", hosts=SIM_HOSTS, hostfilter_delay=0.02, reconnect_delay=0.02).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp_path / "var", password=policy_password),
                                base_dir=tmp_path)
    sched = Scheduler(engine, Path(engine.state.path)).start()
    app = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0},
                     scheduler=sched)
    toks = {role: app.extensions["notaus"].tokens.create(role, f"s-{role}") for role in ROLES}
    try:
        yield Box(sim, engine, sched, app, toks)
    finally:
        sched.shutdown()
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


@pytest.fixture
def broken_box(tmp_path: Path) -> Iterator[Box]:
    """The policy has the wrong FRITZ!Box password (someone changed it on the router)."""
    yield from _box(tmp_path, "falsch")


@pytest.fixture
def good_box(tmp_path: Path) -> Iterator[Box]:
    yield from _box(tmp_path, "richtig")


def _local_hhmm(ts: str) -> str:
    from datetime import datetime

    return datetime.fromisoformat(ts).astimezone().strftime("%H:%M")


# ------------------------------------------------------------------------------------ JSON
def test_wrong_password_is_a_warning_with_advice_before_any_panic(broken_box: Box) -> None:
    before = broken_box.status()["service"]
    assert before["scheduler"] == {"present": True, "running": True, "updated": before["scheduler"]["updated"]}
    broken_box.sched.run_health_once()
    service = broken_box.status()["service"]
    assert service["health"]["ok"] is False and service["health"]["checked_at"]
    [warning] = service["health"]["warnings"]
    assert warning["device"] == "fritzbox" and warning["kind"] == "auth_failed"
    assert "Benutzername oder Passwort falsch" in warning["title_de"]
    assert "IT Müller 0301112233" in warning["todo_de"] and "Internetkabel am Router ziehen" in warning["todo_de"]
    assert "wrong user name or password" in warning["title_en"]
    assert warning["message"]                           # the driver's own words for the provider
    assert not broken_box.engine.journal.entries(kind="panic")   # found before any emergency
    assert service["drill"] is None and service["incident"] is None and service["drifts"] == []


def test_drift_drill_and_reporting_countdown_in_status(good_box: Box) -> None:
    box = good_box
    box.sched.run_health_once()
    assert box.status()["service"]["health"] == {"ok": True, "checked_at": box.status()["service"]["health"][
        "checked_at"], "warnings": []}
    started = box.sched.start_drill(5, profile="full", actor="test")
    assert started["ok"]
    assert box.sim.snapshot()["wan"]["status"] == "Disconnected"
    box.sim.reboot()                                     # the router comes back with the internet on
    wait_for(lambda: box.sim.snapshot()["wan"]["status"] == "Connected", what="router back online")
    box.sched.run_enforcement_once()                     # the enforce job may have been quicker: both fine
    wait_for(lambda: box.engine.journal.entries(kind="drift"), what="drift journaled")
    wait_for(lambda: box.sim.snapshot()["wan"]["status"] == "Disconnected", what="WAN cut again")
    incident = IncidentManager.for_engine(box.engine).open(actor="staff:s-staff")

    service = wait_for(lambda: (s := box.status()["service"])["drifts"] and s["drifts"][0]["reapplied"] == "done"
                       and s, what="drift shown as re-applied")
    drift = service["drifts"][0]
    assert drift["device"] == "fritzbox" and drift["what"] == "wan"
    assert drift["text_de"] == f"Router hat sich neu verbunden – wieder getrennt ({_local_hhmm(drift['at'])})"
    assert drift["text_en"].startswith("Router reconnected – cut again (")
    assert 0 < service["drill"]["seconds_left"] <= 300
    assert "ÜBUNG" in service["drill"]["text_de"]
    assert service["incident"]["id"] == incident.id and service["incident"]["url"] == f"/incidents/{incident.id}"
    countdown = service["incident"]["countdown"]
    assert countdown["reported"] is False and 71 * 3600 < countdown["seconds_left"] <= 72 * 3600
    assert countdown["text_de"].startswith("Meldung an die Datenschutzbehörde: noch 7")


def test_status_without_scheduler_says_so(app: Flask, auth: Any) -> None:
    service = app.test_client().get("/api/v1/status", headers=auth("staff")).get_json()["service"]
    assert service["scheduler"]["present"] is False and service["health"]["warnings"] == []
    assert service["drill"] is None and service["incident"] is None


# ------------------------------------------------------------------------------------ browser
@needs_chromium
def test_ui_shows_the_wrong_password_on_the_button_page_and_the_status_page(broken_box: Box, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    broken_box.sched.run_health_once()
    with served(broken_box.app, broken_box.engine) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
        page = context.new_page()
        errors = collect_errors(page)
        try:
            sign_in(page, base, broken_box.tokens["staff"])
            page.locator("#banner-fold:not([hidden])").wait_for()   # folded into one line below the button
            page.locator("#banner-summary").click()
            alert = page.locator('#service-banners .alert.health[data-device="fritzbox"]')
            alert.wait_for()
            text = alert.inner_text()
            assert "Benutzername oder Passwort falsch" in text and "IT Müller 0301112233" in text
            assert page.locator("#panic-button").is_visible()          # the button is still there
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "service-1-health-button-page.png"), full_page=True)

            page.goto(base + "/status")
            alert = page.locator('#service-banners .alert.health[data-kind="auth_failed"]')
            alert.wait_for()
            assert alert.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(200, 16, 46)"   # red
            assert "Zugangsdaten in der Richtlinie" in alert.inner_text()
            page.screenshot(path=str(ARTIFACTS / "service-2-health-status-page.png"), full_page=True)
            assert errors == []
        finally:
            context.close()


@needs_chromium
def test_ui_shows_drill_countdown_drift_and_incident_link(good_box: Box, browser: Any) -> None:
    box = good_box
    assert box.sched.start_drill(5, profile="full", actor="test")["ok"]
    box.sim.reboot()
    wait_for(lambda: box.sim.snapshot()["wan"]["status"] == "Connected", what="router back online")
    box.sched.run_enforcement_once()
    wait_for(lambda: box.engine.journal.entries(kind="drift"), what="drift journaled")
    incident = IncidentManager.for_engine(box.engine).open(actor="staff:s-staff")
    with served(box.app, box.engine) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
        page = context.new_page()
        errors = collect_errors(page)
        try:
            sign_in(page, base, box.tokens["staff"], next_url="/status")
            drift = page.locator("#drift-banner li.drift-done").first
            drift.wait_for()
            assert re.fullmatch(r"Router hat sich neu verbunden – wieder getrennt \(\d\d:\d\d\)",
                                drift.inner_text().strip())
            countdown = page.locator("#drill-countdown")
            countdown.wait_for()
            first = countdown.inner_text()
            assert re.fullmatch(r"0[0-4]:\d\d", first), first
            page.wait_for_function("t => document.getElementById('drill-countdown').textContent !== t", arg=first)
            assert "ÜBUNG" in page.locator("#drill-banner").inner_text()
            banner = page.locator("#incident-banner")
            assert "Meldung an die Datenschutzbehörde: noch 7" in banner.inner_text()
            page.screenshot(path=str(ARTIFACTS / "service-3-drill-drift-incident.png"), full_page=True)
            banner.get_by_role("link").click()
            page.wait_for_url(re.compile(rf"/incidents/{incident.id}"))
            assert incident.id in page.content()
            page.locator("#incidents-link").click()
            page.wait_for_url(re.compile(r"/incidents\?"))
            assert page.locator(f'#incident-list a[href^="/incidents/{incident.id}"]').count() == 1
            assert errors == []
        finally:
            context.close()


def test_a_broken_incident_store_does_not_take_the_status_page_down(app: Flask, auth: Any, engine: Engine) -> None:
    IncidentManager.for_engine(engine).store.close()            # e.g. the incidents database became unreadable
    resp = app.test_client().get("/api/v1/status", headers=auth("staff"))
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["state_code"] == "connected" and data["service"]["incident"] is None
    assert [e["job"] for e in data["service"]["job_errors"]] == ["status.incident"]
