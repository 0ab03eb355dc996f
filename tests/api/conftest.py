"""Fixtures: a real engine driving the TR-064 simulator over loopback (``sim``, ``app`` and ``client``
come from ``tests/conftest.py``), tokens of every role, a browser.

Nothing is mocked: the engine talks to the FRITZ!Box simulator with the real fritzconnection-based
driver, the journal and state are real SQLite files in ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator

from .api_practice import ROLES, practice_policy
from .browser_kit import launched_browser


@pytest.fixture
def engine(sim: Tr064Simulator, tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.from_policy(practice_policy(sim.port, tmp_path / "var"), base_dir=tmp_path)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    store = app.extensions["notaus"].tokens
    return {role: store.create(role, f"test-{role}") for role in ROLES}


@pytest.fixture
def auth(tokens: dict[str, str]) -> Any:
    """``auth("staff")`` -> the Authorization header of that role's token."""
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    with launched_browser() as b:
        yield b
