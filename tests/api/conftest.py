"""Fixtures: a real engine driving the TR-064 simulator over loopback, and the Flask app on top.

Nothing is mocked: the engine talks to the FRITZ!Box simulator with the real fritzconnection-based
driver, the journal and state are real SQLite files in ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from controller.engine import Engine
from drivers.sim.tr64 import Tr064Simulator

from .api_practice import ROLES, SIM_HOSTS, practice_policy
from .browser_kit import launched_browser


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    s = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.05, reconnect_delay=0.05).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def engine(sim: Tr064Simulator, tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.from_policy(practice_policy(sim.port, tmp_path / "var"), base_dir=tmp_path)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0})
    application.testing = True
    try:
        yield application
    finally:
        application.extensions["notaus"].close()


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    store = app.extensions["notaus"].tokens
    return {role: store.create(role, f"test-{role}") for role in ROLES}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(tokens: dict[str, str]) -> Any:
    """``auth("staff")`` -> the Authorization header of that role's token."""
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    with launched_browser() as b:
        yield b
