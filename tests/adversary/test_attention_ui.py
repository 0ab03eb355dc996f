"""Issue 11.3 in the staff UI: a refused isolation is shown as needing attention (real Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.api.browser_kit import ARTIFACTS, needs_chromium, served

pytestmark = needs_chromium


@pytest.fixture
def base_url(app: Flask, engine: Any) -> Iterator[str]:
    with served(app, engine) as url:
        yield url


def test_status_page_shows_what_a_device_refuses(browser: Any, base_url: str, tokens: dict[str, str],
                                                 sim: Tr064Simulator, engine: Any) -> None:
    result = engine.isolate("192.168.178.222", actor="staff:test", reason="test")   # LAN, unknown to the router
    assert result.outcome == "failed"
    engine.enforce()
    assert engine.status()["attention"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(base_url + "/login?next=/status")
        page.fill("#token", tokens["staff"])
        page.click("button[type=submit]")
        banner = page.locator("#attention-banner")
        banner.wait_for()
        text = banner.inner_text()
        assert "Gerät lehnt eine Sperre ab" in text and "192.168.178.222" in text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone390-attention.png"), full_page=True)
    finally:
        context.close()
