"""Schemathesis against our own OpenAPI document, the Flask app in-process (WSGI).

Every operation is fuzzed with a bounded number of generated requests (valid and invalid) using an
admin token; the checks are: no 5xx, status code documented, content type and body match the spec.
The engine underneath is real and drives the TR-064 simulator, so confirmed panics really run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis to run the API fuzz test")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import Case  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app  # noqa: E402
from controller.engine import Engine  # noqa: E402
from drivers.sim.tr64 import Tr064Simulator  # noqa: E402

from .api_practice import SIM_HOSTS, practice_policy  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    sim = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.02, reconnect_delay=0.02).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp / "var"), base_dir=tmp)
    app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0.5,
                                     "agent_requests_per_minute": 100_000})
    STATE["token"] = app.extensions["notaus"].tokens.create("admin", "schemathesis")
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    finally:
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_spec(case: Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {STATE['token']}"}, checks=CHECKS)
