"""Schemathesis against our own OpenAPI document, the Flask app in-process (WSGI).

Every operation is fuzzed with a bounded number of generated requests (valid and invalid) using an
admin token; the checks are: no 5xx, status code documented, content type, documented headers (the
report's Content-Security-Policy) and body match the spec. The engine underneath is real and drives
the TR-064 simulator, so confirmed panics really run, photos are really stored (multipart) and PDF
reports are really rendered by Chromium.

An incident is open before fuzzing starts, so the spec's example ``current`` reaches a real one;
the path of a stored photo is mapped onto a known file for half of the generated hashes. A last
test checks that fuzzing did get past the 404s: every incident operation answered 2xx at least once.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis to run the API fuzz test")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import Case  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from notaus.api.app import create_app  # noqa: E402
from notaus.controller.engine import Engine  # noqa: E402
from notaus.controller.incident import IncidentManager  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402

from .api_practice import SIM_HOSTS, practice_policy  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
STATE: dict[str, str] = {}
PHOTO = b"\xff\xd8\xff\xe0 a photo the fuzzer may fetch"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
#: "METHOD /path/{template}" -> statuses seen while fuzzing
SEEN: dict[str, set[int]] = defaultdict(set)
#: how many generated bodies got a deeply nested / huge value added
HOSTILE: Counter[str] = Counter()


def _nested(levels: int) -> Any:
    value: Any = 1
    for i in range(levels):
        value = [value] if i % 2 else {"a": value}
    return value


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    sim = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.02, reconnect_delay=0.02).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp / "var"), base_dir=tmp)
    app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0.5,
                                     "agent_requests_per_minute": 100_000})
    STATE["token"] = app.extensions["notaus"].tokens.create("admin", "schemathesis")
    mgr = IncidentManager.for_engine(engine)
    inc = mgr.open(actor="test:schemathesis", note="fuzzed")        # the spec's example id "current" exists
    mgr.add_file(inc.id, "bild.jpg", PHOTO, actor="test:schemathesis")
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @loaded.hook("map_path_parameters")
    def known_photo(ctx: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        """Half of the generated hashes (by their first digit) become the stored photo's."""
        op = getattr(ctx, "operation", None)
        if path_parameters and op is not None and op.path.endswith("/files/{sha256}"):
            sha = str(path_parameters.get("sha256", ""))
            if sha[:1] in "01234567":
                path_parameters = {**path_parameters, "incident_id": "current", "sha256": PHOTO_SHA}
        return path_parameters

    @loaded.hook("map_body")
    def hostile_values(ctx: Any, body: Any) -> Any:
        """Every other generated JSON object also carries a deeply nested value (over the depth limit,
        or just under it) and huge numbers and text (issue 11: these gave 500s once)."""
        if not isinstance(body, dict):
            return body
        pick = len(json.dumps(body, default=str)) % 4
        if pick == 0:
            HOSTILE["nested"] += 1
            return {**body, "nested": _nested(40)}
        if pick == 1:
            HOSTILE["huge"] += 1
            return {**body, "nested": _nested(30), "huge": 10**30, "text": "\x00" + "x" * 20_000}
        return body

    try:
        yield loaded
    finally:
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_spec(case: Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {STATE['token']}"})
    SEEN[f"{case.method.upper()} {case.path}"].add(response.status_code)
    case.validate_response(response, checks=CHECKS)


def test_fuzzing_reached_every_incident_operation(api_schema: Any) -> None:
    """Not only 404s: each incident operation did its job at least once (runs after the fuzz test)."""
    if not SEEN:
        pytest.skip("run together with test_api_matches_its_openapi_spec")
    ops = [f"{method.upper()} {path}" for path, methods in api_schema.raw_schema["paths"].items()
           if path.startswith("/api/v1/incidents") for method in methods]
    assert len(ops) == 11
    missing = {op: sorted(SEEN.get(op, set())) for op in ops if not any(200 <= s < 300 for s in SEEN.get(op, ()))}
    assert not missing, missing
    assert HOSTILE["nested"] > 0 and HOSTILE["huge"] > 0, HOSTILE
