"""The adversary suite runs against the same real stack as the API tests (engine + TR-064 simulator)."""

from __future__ import annotations

from tests.api.conftest import app, auth, browser, client, engine, sim, tokens  # noqa: F401 - shared fixtures
