"""The adversary suite runs against the same real stack as the API tests (engine + TR-064 simulator).

It also counts what it tried: every request an adversary test sends through a Flask test client is
counted, and 5xx answers separately; the totals are printed at the end of the run (the figures the
issue asks for: requests tried, 5xx count).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import auth, browser, engine, tokens  # noqa: F401 - shared fixtures (app, client, sim: tests/conftest.py)

TALLY = {"requests": 0, "server_errors": 0, "active": False}
_original_open = FlaskClient.open


def _counting_open(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
    resp = _original_open(self, *args, **kwargs)
    if TALLY["active"]:
        TALLY["requests"] += 1
        if resp.status_code >= 500:
            TALLY["server_errors"] += 1
    return resp


FlaskClient.open = _counting_open  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _count_requests() -> Iterator[None]:
    TALLY["active"] = True
    try:
        yield
    finally:
        TALLY["active"] = False


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY["requests"]:
        terminalreporter.write_line(f"adversary suite: {TALLY['requests']} requests tried, "
                                    f"{TALLY['server_errors']} answered 5xx")
