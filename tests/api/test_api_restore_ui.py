"""Staged restore in the UI, as the IT provider, in Chromium against the TR-064 simulator.

The practice first blocked the PCs (keep the phones) and then cut everything; one machine was
isolated on its own. The provider must give a reason, brings the internet back (stage 1), then
releases the PCs (stage 2) and finally the isolated machine by its own button. Each step shows
the per-device results, and each is checked on the simulated router, not just on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from notaus.drivers.sim.tr64 import Tr064Simulator

from .api_practice import sim_with_server
from .browser_kit import ARTIFACTS, collect_errors, needs_chromium, served, sign_in

pytestmark = needs_chromium

PCS = {"empfang-pc": "192.168.178.20", "sprechzimmer-1": "192.168.178.21"}
ISOLATED = ("ws01", "192.168.178.101")


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    """The practice's router also knows the server, so keep-phones can block (and verify) every PC."""
    yield from sim_with_server(0.02)


@pytest.fixture
def base_url(app: Flask, engine: Any) -> Iterator[str]:
    with served(app, engine) as url:
        yield url


def blocked(sim: Tr064Simulator, ip: str) -> bool:
    return bool(sim.state.wan_access(ip)[0])


def test_provider_restores_in_stages_and_releases_the_isolated_pc(
        browser: Any, base_url: str, tokens: dict[str, str], engine: Any, sim: Tr064Simulator) -> None:
    assert engine.isolate(ISOLATED[0], actor="staff:test", reason="Virenscanner: Ransom.Generic").outcome == "done"
    assert engine.panic("keep-phones", actor="staff:test").outcome == "done"
    assert engine.panic("full", actor="staff:test").outcome == "done"
    assert sim.state.wan.status == "Disconnected"
    assert all(blocked(sim, ip) for ip in PCS.values()) and blocked(sim, ISOLATED[1])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    errors = collect_errors(page)
    try:
        sign_in(page, base_url, tokens["provider"], next_url="/status")
        page.locator('#isolations li[data-host="ws01"]').wait_for()
        wan_button, hosts_button = page.locator("#restore-wan"), page.locator("#restore-hosts")
        assert wan_button.inner_text().strip() == "Internet wieder an"
        assert hosts_button.inner_text().strip() == "PCs freigeben"
        assert hosts_button.is_disabled()                      # stage 2 waits for stage 1
        assert page.locator("#restore-hosts-wait").is_visible()

        # no reason, no restore
        wan_button.click()
        page.locator("#restore-reason-missing").wait_for()
        assert sim.state.wan.status == "Disconnected"
        assert not engine.journal.entries(kind="restore.request")
        page.screenshot(path=str(ARTIFACTS / "restore-1-reason-required.png"), full_page=True)

        page.fill("#restore-reason", "Netz geprüft, Backups sauber – Ticket 4711")
        wan_button.click()
        page.locator('#restore-banner[data-outcome="done"]').wait_for()
        steps = page.locator("#restore-results li")
        assert steps.count() == 2
        texts = steps.all_inner_texts()
        assert any("Internet" in t for t in texts) and any("WLAN" in t for t in texts)
        assert all("erledigt – geprüft" in t for t in texts), texts
        assert sim.state.wan.status == "Connected"
        assert all(blocked(sim, ip) for ip in PCS.values())      # PCs still blocked after stage 1
        page.screenshot(path=str(ARTIFACTS / "restore-2-internet-back.png"), full_page=True)

        page.wait_for_function("() => !document.getElementById('restore-hosts').disabled")
        hosts_button.click()
        page.locator('#restore-banner[data-outcome="done"]').wait_for()
        page.wait_for_function("() => document.querySelectorAll('#restore-results li').length > 2")
        texts = page.locator("#restore-results li").all_inner_texts()
        for host in PCS:
            assert any(host in t and "erledigt – geprüft" in t for t in texts), texts
        assert not any("ws01" in t for t in texts)                 # isolated machines are not in stage 2
        assert not any(blocked(sim, ip) for ip in PCS.values())
        assert blocked(sim, ISOLATED[1])
        page.screenshot(path=str(ARTIFACTS / "restore-3-pcs-released.png"), full_page=True)

        # releasing one machine asks its own reason: the restore reason above is not reused
        release_button = page.locator('#isolations li[data-host="ws01"] button[data-release="ws01"]')
        release_button.click()
        page.locator("#error", has_text="Grund").wait_for()
        assert engine.journal.entries(kind="release.request") == []
        page.fill("#release-reason-ws01", "ws01 neu installiert – Ticket 4712")
        release_button.click()
        page.locator("#isolations li", has_text="keine").wait_for()
        assert not blocked(sim, ISOLATED[1])
        assert "erledigt – geprüft" in page.locator("#restore-results").inner_text()
        page.screenshot(path=str(ARTIFACTS / "restore-4-isolated-released.png"), full_page=True)

        requests = engine.journal.entries(kind="restore.request")
        assert [(r.data["stage"], r.actor) for r in requests] == [("wan", "provider:test-provider"),
                                                                  ("hosts", "provider:test-provider")]
        assert all(r.data["reason"] == "Netz geprüft, Backups sauber – Ticket 4711" for r in requests)
        [release] = engine.journal.entries(kind="release.request")
        assert release.data == {"host": "ws01", "reason": "ws01 neu installiert – Ticket 4712"}
        assert release.actor == "provider:test-provider"
        assert engine.state.desired()["isolations"] == {}
        assert errors == []
    finally:
        context.close()


def test_staff_sees_no_restore_and_no_release_buttons(
        browser: Any, base_url: str, tokens: dict[str, str], engine: Any) -> None:
    assert engine.isolate(ISOLATED[0], actor="staff:test", reason="Verdacht").outcome == "done"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base_url, tokens["staff"], next_url="/status")
        page.locator('#isolations li[data-host="ws01"]').wait_for()
        assert page.locator("#restore").count() == 0
        assert page.locator("button[data-release]").count() == 0
    finally:
        context.close()
