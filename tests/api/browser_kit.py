"""Shared browser-test plumbing: Debian's Chromium via Playwright, a real threaded server, artefacts dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from notaus.api.serve import start_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "api"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed")


@contextmanager
def served(app: Any, engine: Any) -> Iterator[str]:
    """The app on a real threaded server on a free loopback port; yields the base URL."""
    server, thread = start_server(engine, "127.0.0.1:0", app=app)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def launched_browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page: Any, base_url: str, token: str, next_url: str = "/", lang: str = "de") -> None:
    page.goto(f"{base_url}/login?next={next_url}&lang={lang}")
    page.fill("#token", token)
    page.click("button[type=submit]")


def collect_errors(page: Any, expected_statuses: tuple[int, ...] = ()) -> list[str]:
    """Script errors and console errors; Chromium logs every 4xx as an error, skip the expected ones."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(msg: Any) -> None:
        if msg.type == "error" and not any(f"status of {s}" in msg.text for s in expected_statuses):
            errors.append(msg.text)
    page.on("console", console)
    return errors
