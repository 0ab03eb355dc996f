"""The staff page for the worst day (issue 15), in Debian's Chromium at 390×844 and 1280×800.

Against the real engine and the TR-064 simulator: the state tile follows the same facts as
``GET /api/v1/status`` through panic, keep-phones and restore; a double tap never skips the
confirmation; the button (or, once cut, the next step) stays above the fold with every banner
present; the tablet that loses its WLAN fetches the verified result when it is back; a hanging
router gives a hint after 3 s and names the cable; axe-core finds no violations. Screenshots go to
``test-artifacts/api/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from notaus.controller.incident import IncidentManager
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.waiting import wait_for

from .api_practice import sim_with_server
from .browser_kit import ARTIFACTS, collect_errors, needs_chromium, served, sign_in
from .test_api_service import Box, _box
from .ui_axe import axe_violations

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = [("phone390", PHONE), ("desktop1280", DESKTOP)]
PLAN_STATUS = (428,)


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    """The practice's router also knows the server, so keep-phones can block (and verify) every PC."""
    yield from sim_with_server(0.05)


@pytest.fixture
def base_url(app: Flask, engine: Any) -> Iterator[str]:
    with served(app, engine) as url:
        yield url


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui15-{name}.png"), full_page=True)


def _view(page: Any, name: str) -> None:
    """What the person sees right now (the viewport, not the whole page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui15-{name}.png"))


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain one-colour PNG (a stand-in for a phone photo of the ransom note)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def _api_tile(page: Any, base: str) -> dict[str, Any]:
    """The tile as the status API gives it, with the page's own session (same facts, same source)."""
    resp = page.request.get(base + "/api/v1/status")
    assert resp.status == 200
    tile: dict[str, Any] = resp.json()["tile"]
    return tile


def _wait_tile(page: Any, code: str) -> None:
    page.locator(f'#tile[data-code="{code}"]').wait_for(timeout=20_000)


def _no_sideways(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"sideways scroll: {scroll}px in a {width}px screen"


def _press_and_choose(page: Any, choice: str) -> None:
    page.locator("#panic-button").click()
    button = page.locator(f"#confirm-{choice}")
    button.wait_for()
    button.click()          # Playwright waits until the double-tap guard has enabled it
    page.locator("#result-banner").wait_for(state="visible", timeout=30_000)


# ------------------------------------------------------------------------------ state tile
@pytest.mark.parametrize(("label", "viewport"), VIEWPORTS)
def test_state_tile_through_panic_keep_phones_and_restore(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any,
        label: str, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page, PLAN_STATUS)
    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        assert page.locator("h1#tile-state").inner_text().strip() == "ONLINE"
        assert _api_tile(page, base_url)["code"] == "online"
        assert page.locator("#panic-button").is_visible() and not page.locator("#next-step").is_visible()
        _shot(page, f"{label}-1-online")

        # full cut: the tile says GETRENNT, verified at the router, and the button becomes the next step
        _press_and_choose(page, "full")
        assert page.locator("#result-banner").inner_text().strip() == "Getrennt – geprüft"
        _wait_tile(page, "cut")
        tile = _api_tile(page, base_url)
        assert tile["code"] == "cut" and tile["verified"] and tile["since"]
        line = page.locator("#tile-line").inner_text()
        assert re.search(r"seit \d\d:\d\d", line) and "am Router geprüft" in line, line
        assert page.locator("#tile-state").inner_text().strip() == "GETRENNT"
        assert not page.locator("#panic-button").is_visible()
        call = page.locator("#next-call")
        assert call.is_visible() and call.get_attribute("href") == "tel:0301112233"
        assert "IT-Dienstleister anrufen" in call.inner_text()
        # the verdict: what was verified on which device
        verdict = page.locator("#verdict-lines").inner_text()
        assert "fritzbox: Internet getrennt, WLAN aus – geprüft" in verdict, verdict
        _no_sideways(page, viewport["width"])
        _shot(page, f"{label}-2-cut")

        # restore (the provider, elsewhere): the tile goes back to ONLINE by itself
        assert engine.restore(actor="provider:test", reason="geprüft", stage="all").outcome == "done"
        _wait_tile(page, "online")
        assert page.locator("#panic-button").is_visible()
        assert _api_tile(page, base_url)["code"] == "online"

        # keep-phones: PCs blocked, phones keep working, the internet stays on for them
        page.reload()
        _wait_tile(page, "online")
        _press_and_choose(page, "keep")
        assert page.locator("#result-banner").inner_text().strip() == "PCs gesperrt – geprüft, Telefone laufen"
        _wait_tile(page, "blocked")
        tile = _api_tile(page, base_url)
        assert tile["code"] == "blocked" and tile["kept_roles"] == ["phone"]
        line = page.locator("#tile-line").inner_text()
        assert "Telefone laufen" in line and "am Router geprüft" in line
        assert page.locator("#tile-state").inner_text().strip() == "PCs GESPERRT"
        assert sim.state.wan.status == "Connected"                  # the tile does not claim "getrennt"
        assert page.locator("#panic-again").is_visible()            # the full cut is still one step away
        _no_sideways(page, viewport["width"])
        _shot(page, f"{label}-3-keep-phones")
        status = context.new_page()                                 # the status page agrees with the tile
        status.goto(base_url + "/status")
        status.locator("#state[data-state]").wait_for()
        assert status.locator("#state").inner_text().strip() == "PCs gesperrt, Telefon läuft"
        status.close()

        assert engine.restore(actor="provider:test", reason="geprüft", stage="all").outcome == "done"
        _wait_tile(page, "online")
        assert errors == []
    finally:
        context.close()


# ------------------------------------------------------------------------------ double tap
@pytest.mark.parametrize(("label", "viewport"), VIEWPORTS)
def test_double_tap_never_skips_the_confirmation(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any,
        label: str, viewport: dict[str, int]) -> None:
    IncidentManager.for_engine(engine).open(actor="staff:test")       # the incident banner of the report
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page, PLAN_STATUS)
    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        page.locator("#banner-fold:not([hidden])").wait_for()
        page.wait_for_load_state("load")
        button = page.locator("#panic-button")
        box = button.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.75
        page.mouse.dblclick(x, y)
        page.locator("#choice-keep").wait_for()
        # a third tap at the same place (a nervous double tap) still lands on nothing clickable
        page.mouse.click(x, y)
        page.mouse.click(box["x"] + 10, box["y"] + box["height"] - 10)
        assert engine.journal.entries(kind="panic.request") == []
        assert sim.state.wan.status == "Connected"
        assert page.locator("#confirm").is_visible()
        # nothing clickable under the old button's footprint
        bottom = box["y"] + box["height"]
        for sel in ("#confirm-full", "#confirm-keep", "#cancel"):
            b = page.locator(sel).bounding_box()
            assert b is not None and b["y"] >= bottom, f"{sel} lies under the button's footprint: {b} vs {box}"
        assert "Nur PCs sperren" in page.locator("#confirm-keep").inner_text()
        assert "Zweite Wahl" in page.locator("#choice-keep").inner_text()
        _shot(page, f"{label}-4-confirm-after-double-tap")
        page.locator("#cancel").click()
        page.locator("#panic-button").wait_for()
        assert engine.journal.entries(kind="panic.request") == []
        assert errors == []
    finally:
        context.close()


# ------------------------------------------------------------------------------ above the fold
@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Box]:
    yield from _box(tmp_path, "falsch")


@pytest.fixture
def good(tmp_path: Path) -> Iterator[Box]:
    yield from _box(tmp_path, "richtig")


def _fold_is_one_line_below(page: Any, top_selector: str, height: int) -> None:
    page.wait_for_load_state("load")
    top = page.locator(top_selector).bounding_box()
    fold = page.locator("#banner-summary").bounding_box()
    assert top is not None and fold is not None
    assert top["y"] + top["height"] <= height, f"{top_selector} ends below the fold: {top}"
    assert fold["y"] >= top["y"] + top["height"], "the banners must come below the button"
    assert fold["height"] <= 60, f"the banners take more than one line: {fold}"


@pytest.mark.parametrize(("label", "viewport"), VIEWPORTS)
def test_button_above_the_fold_with_health_scheduler_and_incident_banners(
        broken: Box, browser: Any, label: str, viewport: dict[str, int]) -> None:
    broken.sched.run_health_once()
    broken.sched.shutdown()                       # the background checks stopped: a banner of its own
    IncidentManager.for_engine(broken.engine).open(actor="staff:s-staff")
    with served(broken.app, broken.engine) as base:
        context = browser.new_context(viewport=viewport, locale="de-DE")
        page = context.new_page()
        errors = collect_errors(page)
        try:
            sign_in(page, base, broken.tokens["staff"])
            summary = page.locator("#banner-summary")
            page.locator("#banner-fold:not([hidden])").wait_for()
            page.wait_for_function("() => document.getElementById('banner-summary').textContent.startsWith('3 ')")
            assert "falsch" in summary.inner_text() and "Hinweise" in summary.inner_text()
            _fold_is_one_line_below(page, "#panic-button", viewport["height"])
            assert page.locator("#banner-fold").evaluate("e => e.classList.contains('red')")
            _shot(page, f"{label}-5-fold-closed")
            summary.click()                                       # the details are one tap away
            alert = page.locator('#service-banners .alert.health[data-kind="auth_failed"]')
            alert.wait_for()
            assert "IT Müller 0301112233" in alert.inner_text()
            assert page.locator("#scheduler-down").is_visible()
            _no_sideways(page, viewport["width"])
            _shot(page, f"{label}-6-fold-open")
            assert errors == []
        finally:
            context.close()


@pytest.mark.parametrize(("label", "viewport"), VIEWPORTS)
def test_next_step_above_the_fold_with_drill_drift_and_incident_and_drift_expires_on_restore(
        good: Box, browser: Any, label: str, viewport: dict[str, int]) -> None:
    box = good
    assert box.sched.start_drill(5, profile="full", actor="test")["ok"]
    box.sim.reboot()
    wait_for(lambda: box.sim.snapshot()["wan"]["status"] == "Connected", what="router back online")
    box.sched.run_enforcement_once()
    wait_for(lambda: box.engine.journal.entries(kind="drift"), what="drift journaled")
    IncidentManager.for_engine(box.engine).open(actor="staff:s-staff")
    assert box.status()["service"]["drifts"]
    with served(box.app, box.engine) as base:
        context = browser.new_context(viewport=viewport, locale="de-DE")
        page = context.new_page()
        errors = collect_errors(page)
        try:
            sign_in(page, base, box.tokens["staff"])
            _wait_tile(page, "cut")
            page.wait_for_function("() => document.getElementById('banner-summary').textContent.startsWith('3 ')")
            text = page.locator("#banner-summary").inner_text()
            assert "Not-Aus hat eingegriffen" in text and "ÜBUNG" in text, text
            _fold_is_one_line_below(page, "#next-call", viewport["height"])
            _shot(page, f"{label}-7-cut-with-all-banners")

            # the drift notice expires with its cause: gone after the restore
            assert box.engine.restore(actor="provider:test", reason="Übung vorbei", stage="all").outcome == "done"
            _wait_tile(page, "online")
            assert box.status()["service"]["drifts"] == []
            page.wait_for_function(
                "() => !document.getElementById('banner-summary').textContent.includes('eingegriffen')")
            _fold_is_one_line_below(page, "#panic-button", viewport["height"])
            assert errors == []
        finally:
            context.close()


# ------------------------------------------------------------------------------ WLAN tablet
def test_tablet_that_loses_its_wlan_shows_the_verified_result_when_back(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any) -> None:
    """The confirmed request reaches the box, the answer never reaches the tablet (WLAN off)."""
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cut_answers: list[int] = []

    def lose_the_answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("confirm") and not cut_answers:
            resp = route.fetch()                 # the box does the cut ...
            cut_answers.append(resp.status)
            context.set_offline(True)            # ... and the WLAN goes away before the answer arrives
            route.abort("internetdisconnected")
            return
        route.continue_()

    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        page.route("**/api/v1/panic", lose_the_answer)
        page.locator("#panic-button").click()
        page.locator("#confirm-full").click()
        page.locator("#lost-hint").wait_for(timeout=20_000)
        assert cut_answers == [200] and sim.state.wan.status == "Disconnected"
        assert not page.locator("#result").is_visible()
        _shot(page, "phone390-8-tablet-offline")
        context.set_offline(False)               # back (e.g. after the restore, or on cable)
        banner = page.locator("#result-banner")
        banner.wait_for(state="visible", timeout=30_000)
        assert banner.inner_text().strip() == "Getrennt – geprüft"
        assert page.evaluate("document.activeElement.id") == "result-banner"     # focus moved to the result
        assert len(engine.journal.entries(kind="panic.request")) == 1            # the retry replayed, not re-ran
        _shot(page, "phone390-9-tablet-back")
        assert errors == []
    finally:
        context.close()


def test_tablet_reloaded_while_offline_resumes_the_same_request(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any) -> None:
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    done: list[bool] = []

    def lose_the_answer(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("confirm") and not done:
            route.fetch()
            done.append(True)
            route.abort("internetdisconnected")
            return
        route.continue_()

    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        page.route("**/api/v1/panic", lose_the_answer)
        page.locator("#panic-button").click()
        page.locator("#confirm-full").click()
        page.locator("#lost-hint").wait_for(timeout=20_000)
        page.reload()                              # e.g. the kiosk browser restarted
        page.locator("#result-banner").wait_for(state="visible", timeout=30_000)
        assert page.locator("#result-banner").inner_text().strip() == "Getrennt – geprüft"
        assert len(engine.journal.entries(kind="panic.request")) == 1
        assert page.evaluate("localStorage.getItem('notaus_pending_panic')") is None
    finally:
        context.close()


# ------------------------------------------------------------------------------ hanging router
def test_hanging_router_gives_a_hint_after_3s_and_names_the_cable(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any) -> None:
    engine.policy.router_hint = "FRITZ!Box im Flurschrank, graues Kabel an der Buchse „DSL“"
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        page.locator("#panic-button").click()
        page.locator("#confirm-full").wait_for()
        page.wait_for_function("() => !document.getElementById('confirm-full').disabled")
        sim.hang = True
        page.locator("#confirm-full").click()
        hint = page.locator("#slow-hint")
        hint.wait_for(timeout=20_000)                      # shown while the router still has not answered
        assert not page.locator("#result").is_visible()
        text = hint.inner_text()
        assert "Datenkabel für WAN aus dem Router ziehen" in text and "graues Kabel" in text, text
        _shot(page, "phone390-10-router-hangs")
        sim.hang = False
        page.locator("#result-banner").wait_for(state="visible", timeout=60_000)
        outcome = page.locator("#result-banner").get_attribute("data-outcome")
        if outcome != "done":
            assert "graues Kabel" in page.locator("#result-message").inner_text()
        # errors come at the top, never below stale content
        err = page.locator("#error").bounding_box()
        tile = page.locator("#tile").bounding_box()
        assert err is None or (tile is not None and err["y"] < tile["y"])
    finally:
        sim.hang = False
        context.close()


def test_box_down_shows_the_error_at_the_top_without_a_stale_loading_line(
        browser: Any, base_url: str, tokens: dict[str, str]) -> None:
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["staff"])
        _wait_tile(page, "online")
        page.route("**/api/v1/panic", lambda route: route.abort("connectionrefused"))
        page.locator("#panic-button").click()
        err = page.locator("#error")
        err.wait_for()
        assert "Datenkabel für WAN" in err.inner_text()
        assert not page.locator("#confirm-loading").is_visible()
        e_box, tile = err.bounding_box(), page.locator("#tile").bounding_box()
        assert e_box is not None and tile is not None and e_box["y"] < tile["y"]
        assert page.evaluate("document.activeElement.id") == "error"
    finally:
        context.close()


# ------------------------------------------------------------------------------ one PC, calls
def test_staff_block_one_pc_by_its_friendly_name(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any) -> None:
    IncidentManager.for_engine(engine).open(actor="staff:test")
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page)
    try:
        sign_in(page, base_url, tokens["staff"])
        page.locator("#after:not([hidden])").wait_for()
        options = page.locator("#block-host option").all_inner_texts()
        assert "empfang-pc (PC)" in options and "voip-empfang (Telefon)" in options
        assert page.locator('#block-host option[value="praxisserver"]').is_disabled()   # protected
        assert page.locator("#call-provider").get_attribute("href") == "tel:0301112233"
        page.select_option("#block-host", "empfang-pc")
        page.fill("#block-reason", "Lösegeldforderung auf dem Bildschirm")
        page.locator("#block-go").click()
        assert "Wirklich sperren: empfang-pc?" in page.locator("#block-question").inner_text()
        page.locator("#block-yes").click()
        result = page.locator('#block-result[data-outcome="done"]')
        result.wait_for(timeout=20_000)
        assert result.inner_text().strip() == "Gesperrt – geprüft: empfang-pc"
        assert page.evaluate("document.activeElement.id") == "block-result"
        assert sim.state.wan_access("192.168.178.20")[0] is True
        [req] = engine.journal.entries(kind="isolate.request")
        assert req.actor == "staff:test-staff"
        _wait_tile(page, "online")
        page.wait_for_function("() => document.getElementById('tile-line').textContent.includes('1 Gerät gesperrt')")
        _shot(page, "phone390-11-one-pc-blocked")
        assert errors == []
    finally:
        context.close()


# ------------------------------------------------------------------------------ incident page
def test_incident_page_on_a_phone(
        browser: Any, base_url: str, tokens: dict[str, str], engine: Any, tmp_path: Path) -> None:
    assert engine.panic("full", actor="staff:test").outcome == "done"
    mgr = IncidentManager.for_engine(engine)
    mgr.sync()
    inc = mgr.current()
    assert inc is not None
    photo = tmp_path / "bildschirm.png"
    photo.write_bytes(_png(240, 140, (200, 16, 46)))
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page)
    try:
        sign_in(page, base_url, tokens["provider"], next_url="/")
        page.goto(f"{base_url}/incidents/{inc.id}")
        page.locator("#incident-title").wait_for()
        _no_sideways(page, PHONE["width"])
        timeline = page.locator("#timeline").inner_text()
        assert "Not-Aus gedrückt" in timeline and "panic.request" not in timeline
        assert not re.search(r"\d{4}-\d\d-\d\dT", timeline), "raw UTC timestamps on the page"
        assert page.locator("#report-html").get_attribute("target") == "_blank"
        with context.expect_page() as opened:
            page.locator("#report-html").click()
        report = opened.value
        back = report.locator("#way-back")
        back.wait_for()
        back.click()                                  # a kiosk has no tab bar: the report has a way back
        report.wait_for_url(re.compile(rf"/incidents/{inc.id}"))
        report.locator("#incident-title").wait_for()  # still signed in (not the sign-in page)
        report.close()

        # tick an item far down the page: the page comes back at that item, not at the top
        item = page.locator("#item-ups")
        item.scroll_into_view_if_needed()
        item.get_by_role("button").click()
        page.wait_for_url(re.compile(r"#item-ups$"))
        page.locator("#item-ups #saved").wait_for()
        assert page.evaluate("window.scrollY") > 300
        assert page.locator("#item-ups").evaluate("e => e.getBoundingClientRect().top >= 0 && "
                                                  "e.getBoundingClientRect().top < window.innerHeight")
        assert "ticked" in (page.locator("#item-ups").get_attribute("class") or "")
        _view(page, "phone390-12a-incident-after-tick")

        # photo: a preview before uploading
        page.set_input_files("#photo-file", str(photo))
        page.locator("#photo-preview:not([hidden])").wait_for()
        assert (page.locator("#photo-preview").get_attribute("src") or "").startswith("data:image/png")
        page.locator("#photo-preview").scroll_into_view_if_needed()
        _view(page, "phone390-12b-incident-photo-preview")

        # the note is confirmed
        page.fill("#note-text", "Bildschirm zeigt Erpresserschreiben")
        page.locator("#note button[type=submit]").click()
        page.locator("#notes #saved", has_text="Notiz gespeichert").wait_for()
        _view(page, "phone390-12c-incident-note-saved")
        page.goto(f"{base_url}/incidents/{inc.id}")
        page.locator("#timeline").scroll_into_view_if_needed()
        _view(page, "phone390-12d-incident-timeline")

        # "Meldung erstattet" needs its own confirmation: without it nothing is recorded
        page.locator("#reported button[type=submit]").click()
        assert page.locator("#reported-confirm").evaluate("e => !e.checkValidity()")
        assert mgr.get(inc.id).reported_at is None
        page.check("#reported-confirm")
        page.locator("#reported button[type=submit]").click()
        page.locator("#reported-at").wait_for()
        assert mgr.get(inc.id).reported_at is not None

        # close the incident with its own reason
        page.fill("#close-reason", "Rechner neu installiert, Meldung erstattet")
        page.check("#close-confirm")
        page.locator("#close-form button[type=submit]").click()
        page.locator("#closed-hint").wait_for()
        assert not mgr.get(inc.id).is_open
        _no_sideways(page, PHONE["width"])
        _shot(page, "phone390-13-incident-closed")
        assert errors == []
    finally:
        context.close()


# ------------------------------------------------------------------------------ provider
def test_provider_sees_the_role_of_a_phone_and_equal_buttons(
        browser: Any, base_url: str, tokens: dict[str, str], app: Flask, sim: Tr064Simulator) -> None:
    gate = app.extensions["notaus"].gate
    gate.policy.guardrails.max_auto_isolations = 0
    decision = gate.request("voip-empfang", agent="wazuh", reason="Beaconing", source="wazuh")
    assert decision.decision == "queued"
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page)
    try:
        sign_in(page, base_url, tokens["provider"], next_url="/status")
        item = page.locator(f'#pending li[data-request="{decision.request_id}"]')
        item.wait_for()
        assert item.get_attribute("data-role") == "phone"
        text = item.inner_text()
        assert "Art: Telefon" in text and "Achtung: ein Telefon – sperren unterbricht das Telefonieren" in text
        a, r = (item.locator(f'button[data-decision="{d}"]').bounding_box() for d in ("approve", "reject"))
        assert a is not None and r is not None
        assert abs(a["width"] - r["width"]) <= 2 and abs(a["height"] - r["height"]) <= 2
        same = item.locator("button").evaluate_all(
            "bs => bs.map(b => getComputedStyle(b).backgroundColor + getComputedStyle(b).fontSize)")
        assert len(set(same)) == 1, same
        _shot(page, "phone390-14-provider-approval-phone")
        item.locator('button[data-decision="reject"]').click()
        page.locator("#pending li", has_text="keine").wait_for()
        assert sim.state.wan_access("192.168.178.60")[0] is False

        page.goto(base_url + "/policy")
        assert page.locator("h1").inner_text().strip() == "Richtlinie (nur lesen)"
        doc = page.locator("#policy-document").inner_text()
        assert "fritzbox" in doc and '"password": "notaus"' not in doc
        assert page.locator("#policy-document form, #policy-document input").count() == 0
        _no_sideways(page, PHONE["width"])
        assert errors == []
    finally:
        context.close()


def test_staff_may_not_open_the_policy_page(client: Any, tokens: dict[str, str]) -> None:
    client.set_cookie("notaus_session", tokens["staff"])
    resp = client.get("/policy")
    assert resp.status_code == 403 and "IT provider" in resp.get_json()["detail"]
    client.set_cookie("notaus_session", tokens["provider"])
    assert client.get("/policy").status_code == 200


# ------------------------------------------------------------------------------ accessibility
@pytest.mark.parametrize(("label", "viewport"), VIEWPORTS)
def test_axe_finds_no_violations(
        browser: Any, base_url: str, tokens: dict[str, str], app: Flask, engine: Any,
        label: str, viewport: dict[str, int]) -> None:
    gate = app.extensions["notaus"].gate
    gate.policy.guardrails.max_auto_isolations = 0
    gate.request("ws02", agent="wazuh", reason="Ransom.Generic", source="wazuh")
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        assert page.locator("h1").count() == 1, f"{name}: one h1 per page"
        found[name] = axe_violations(page)

    try:
        page.goto(base_url + "/login")
        check("login")
        sign_in(page, base_url, tokens["provider"])
        _wait_tile(page, "online")
        check("start")
        page.locator("#panic-button").click()
        page.locator("#confirm-full:not([disabled])").wait_for()
        assert page.evaluate("document.activeElement.id") == "confirm-title"     # focus follows the step
        check("confirm")
        page.locator("#confirm-full").click()
        page.locator("#result-banner").wait_for(state="visible", timeout=30_000)
        page.wait_for_function("() => document.activeElement.id === 'result-banner'")
        page.locator("#checklist li").first.wait_for()
        check("result")
        # the focus ring is visible on the red button (not a 1 px line)
        page.goto(base_url + "/status")
        page.locator("#state[data-state]").wait_for()
        page.locator("#pending li button").first.wait_for()
        check("status")
        page.goto(base_url + "/incidents")
        check("incidents")
        page.locator("#incident-list a").first.click()
        page.locator("#incident-title").wait_for()
        check("incident")
        page.goto(base_url + "/policy")
        check("policy")
        bad = {name: v for name, v in found.items() if v}
        assert bad == {}, json.dumps(bad, indent=1, ensure_ascii=False)
    finally:
        context.close()


def test_focus_ring_is_visible_on_the_red_button(browser: Any, base_url: str, tokens: dict[str, str]) -> None:
    context = browser.new_context(viewport=PHONE, locale="de-DE")
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["staff"])
        page.locator("#panic-button").wait_for()
        page.wait_for_load_state("load")
        page.locator("#panic-button").focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        style = page.locator("#panic-button").evaluate(
            "b => [getComputedStyle(b).outlineStyle, parseFloat(getComputedStyle(b).outlineWidth)]")
        assert style[0] == "solid" and style[1] >= 4, style
        page.locator("#panic-button").screenshot(path=str(ARTIFACTS / "ui15-phone390-15-focus-ring.png"))
    finally:
        context.close()


def test_english_page_has_no_german_and_the_glossary_holds(
        browser: Any, base_url: str, tokens: dict[str, str], engine: Any) -> None:
    from notaus.api.i18n import UI

    for key, (de, en) in UI.items():
        de, en = de.replace("notaus token", ""), en.replace("notaus token", "")     # the command's name
        assert "Notaus" not in de, f"{key}: write Not-Aus"
        assert "Freigabe" not in de or key.startswith("release"), f"{key}: 'freigeben' only for releasing"
        assert "isolier" not in de.lower(), f"{key}: sperren, not isolieren"
        assert "isolat" not in en.lower() and "notaus" not in en.lower(), f"{key}: block / emergency stop"
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["staff"], lang="en")
        _wait_tile(page, "online")
        text = page.locator("main").inner_text()
        for german in ("trennen", "Geräte", "Praxis vom", "Abbrechen", "wartet", "gesperrt"):
            assert german not in text, f"German '{german}' on the English page"
        assert "ONLINE" in text and "Disconnect the practice from the internet" in text
    finally:
        context.close()


def test_the_axe_check_itself_finds_a_broken_page(browser: Any) -> None:
    """Guard against a silent axe (a check that cannot fail proves nothing)."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.set_content('<html><body><img src="x.png"><input type="text"><button></button></body></html>')
        ids = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "label", "button-name", "html-has-lang"} <= ids, ids
    finally:
        context.close()


# ------------------------------------------------------------------------------ checklist per incident
def test_checklist_starts_empty_for_each_incident(client: Any, auth: Any, engine: Any) -> None:
    staff = auth("staff")
    mgr = IncidentManager.for_engine(engine)
    first = mgr.open(actor="staff:test")
    r = client.post("/api/v1/checklist/calm", json={"done": True}, headers=staff)
    assert r.status_code == 200
    items = {i["id"]: i for i in client.get("/api/v1/checklist", headers=staff).get_json()["items"]}
    assert items["calm"]["done"] is True
    mgr.close_incident(first.id, actor="provider:test", reason="erledigt")
    items = {i["id"]: i for i in client.get("/api/v1/checklist", headers=staff).get_json()["items"]}
    assert items["calm"]["done"] is False                       # nothing carried over after closing
    second = mgr.open(actor="staff:test")
    body = client.get("/api/v1/checklist", headers=staff).get_json()
    assert not any(i["done"] for i in body["items"])
    immediate = next(c for c in body["checklists"] if c["id"] == "immediate")
    assert immediate["done"] == 0
    assert mgr.ticks(second) == {}                              # the incident page says 0/7 too


@pytest.mark.parametrize(("lang", "foreign"), [
    ("en", ("Vorfall", "gesperrt", "Geräte", "Zeitleiste", "erledigt", "Notiz", "keine", "getrennt", "Anfragen")),
    ("de", (" done", "manual", "[open]", "isolated", "Isolate", "Timeline", "Devices", " none", "Report (")),
])
def test_each_language_stays_in_its_language(
        browser: Any, base_url: str, tokens: dict[str, str], engine: Any, lang: str, foreign: tuple[str, ...]) -> None:
    assert engine.isolate("ws03", actor="staff:test", reason="Verdacht", source="manual").outcome == "done"
    inc = IncidentManager.for_engine(engine)
    inc.sync()
    current = inc.current()
    assert current is not None
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["provider"], lang=lang)
        for path in ("/", "/status", "/incidents", f"/incidents/{current.id}", "/policy"):
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("load")
            if path in ("/", "/status"):
                page.locator("#tile[data-code], #state[data-state]").first.wait_for()
            # the policy document itself is data (names, drivers), not page text
            text = page.evaluate("() => { const m = document.querySelector('main').cloneNode(true); "
                                 "m.querySelectorAll('pre, code, textarea').forEach(e => e.remove()); "
                                 "return m.innerText; }")
            found = [w for w in foreign if w in text]
            assert found == [], f"{path} ({lang}) shows {found}"
    finally:
        context.close()
