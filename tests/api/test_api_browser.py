"""The staff UI in a real browser (Debian's Chromium via Playwright), served by a real threaded server.

Sign in with a staff token, press the big button, read what will stop working, confirm, watch the
devices, see "Getrennt – geprüft" and tick the checklist. Once on a desktop viewport, once on a
390 px phone. Screenshots go to ``test-artifacts/api/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from notaus.drivers.sim.tr64 import Tr064Simulator

from .browser_kit import ARTIFACTS, needs_chromium, served

pytestmark = needs_chromium


@pytest.fixture
def base_url(app: Flask, engine: Any) -> Iterator[str]:
    with served(app, engine) as url:
        yield url


@pytest.mark.parametrize(("label", "viewport"), [("desktop", {"width": 1280, "height": 900}),
                                                 ("phone390", {"width": 390, "height": 844})])
def test_press_the_button_confirm_and_see_verified_result(
        browser: Any, base_url: str, tokens: dict[str, str], sim: Tr064Simulator, engine: Any,
        label: str, viewport: dict[str, int]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport, locale="de-DE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # the 428 of the plan request is expected; Chromium logs every 4xx as a console error
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 428" not in msg.text else None)
    try:
        page.goto(base_url + "/")
        page.fill("#token", tokens["staff"])
        page.click("button[type=submit]")
        button = page.locator("#panic-button")
        button.wait_for()
        assert button.inner_text().strip() == "Praxis vom Internet trennen"
        # measure only once the stylesheet has loaded (the DOM can be there before it, on a busy machine)
        page.wait_for_load_state("load")
        box = button.bounding_box()
        assert box is not None and box["width"] >= min(viewport["width"] * 0.8, 600) and box["height"] >= 200
        page.screenshot(path=str(ARTIFACTS / f"{label}-1-button.png"), full_page=True)

        button.click()
        page.locator("#choice-full").wait_for()
        warnings = page.locator("#warnings-full").inner_text()
        assert "Telefon" in warnings and "TI-Konnektor" in warnings and "Fernwartung" in warnings
        assert page.locator("#choice-keep").is_visible()
        assert "Nur PCs sperren" in page.locator("#confirm-keep").inner_text()
        assert sim.state.wan.status == "Connected"          # nothing happened before confirming
        page.screenshot(path=str(ARTIFACTS / f"{label}-2-confirm.png"), full_page=True)

        page.click("#confirm-full")
        banner = page.locator("#result-banner")
        banner.wait_for(state="visible", timeout=30_000)
        assert banner.inner_text().strip() == "Getrennt – geprüft"
        assert "done" in (banner.get_attribute("class") or "")
        steps = page.locator("#steps li")
        assert steps.count() == 2
        assert all("erledigt – geprüft" in t for t in steps.all_inner_texts())
        assert sim.state.wan.status == "Disconnected"

        checklist = page.locator("#checklist li")
        checklist.first.wait_for()
        assert checklist.count() == 8
        texts = "\n".join(checklist.all_inner_texts())
        for phrase in ("Ruhe bewahren", "Administratorrechten", "USV", "0301112233", "Lösegeld", "72 Stunden"):
            assert phrase in texts
        page.check("#check-calm")
        page.locator("#checklist li.ticked").first.wait_for()
        ticks = engine.journal.entries(kind="checklist.tick")
        assert [t.data["item"] for t in ticks] == ["calm"] and ticks[0].actor == "staff:test-staff"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"horizontal overflow: {width}px"
        page.screenshot(path=str(ARTIFACTS / f"{label}-3-result.png"), full_page=True)

        page.goto(base_url + "/status")
        state = page.locator("#state[data-state]")
        state.wait_for()
        assert state.inner_text().strip() == "getrennt"
        assert page.locator("#restore").count() == 0          # staff never sees restore
        page.screenshot(path=str(ARTIFACTS / f"{label}-4-status.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_status_page_english_shows_queue_and_provider_restore(
        browser: Any, base_url: str, tokens: dict[str, str], app: Flask, sim: Tr064Simulator) -> None:
    gate = app.extensions["notaus"].gate
    gate.policy.guardrails.max_auto_isolations = 0          # every agent request waits for a person
    decision = gate.request("ws02", agent="wazuh", reason="Ransom.Generic", source="wazuh")
    assert decision.decision == "queued"
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(base_url + "/login?next=/status&lang=en")
        page.fill("#token", tokens["provider"])
        page.click("button[type=submit]")
        page.locator("#state[data-state]").wait_for()
        assert page.locator("#state").inner_text().strip() == "connected"
        item = page.locator(f'#pending li[data-request="{decision.request_id}"]')
        item.wait_for()
        assert "ws02" in item.inner_text()
        assert page.locator("#restore").is_visible()
        page.screenshot(path=str(ARTIFACTS / "phone390-5-status-en-provider.png"), full_page=True)
        item.get_by_role("button", name="Block", exact=True).click()
        page.locator("#isolations li", has_text="ws02").wait_for()
        assert sim.state.wan_access("192.168.178.102")[0] is True
    finally:
        context.close()
