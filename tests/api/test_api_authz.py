"""Authorization matrix: every endpoint × every role × no token × a wrong token.

Allowed callers send a request that passes authorization but stops cheaply afterwards (a missing
field -> 400, panic without confirm -> 428, an unknown id -> 404), and each must get exactly that
answer, so the matrix proves *who* gets past the door without running forty real panics. Forbidden
roles must get 403, no token and a wrong token 401. The endpoint list is checked against both the
OpenAPI document and Flask's URL map, so an endpoint added without a spec entry or a matrix row
fails here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from notaus.api.app import create_app
from notaus.api.auth import PERMISSIONS
from notaus.api.openapi import DEADLINE_PERMISSION, INCIDENT_PERMISSION, POLICY_PERMISSION
from notaus.controller.engine import Engine
from notaus.controller.incident import IncidentManager
from notaus.drivers.sim.tr64 import Tr064Simulator

from .api_practice import ROLES, SIM_HOSTS, practice_policy

PHOTO = b"\xff\xd8\xff\xe0 matrix photo"


@dataclass(frozen=True)
class Call:
    """One endpoint as the spec names it, the values for its path, and what an allowed caller gets."""

    method: str
    template: str                      # path as in the OpenAPI document
    permission: str
    expect: int                        # status for an allowed role (a cheap stop after the door)
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    multipart: dict[str, Any] | None = None
    query: str = ""

    def path(self, ids: dict[str, str]) -> str:
        values = {k: ids.get(v, v) for k, v in self.params.items()}
        return self.template.format(**values) + (f"?{self.query}" if self.query else "")

    def kwargs(self) -> dict[str, Any]:
        if self.multipart is not None:
            data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in self.multipart.items()}
            return {"data": data, "content_type": "multipart/form-data"}
        return {"json": self.json}

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


INC = {"incident_id": "<incident>"}        # replaced by the id of the incident the fixture opened
ENDPOINTS: list[Call] = [
    Call("GET", "/api/v1/whoami", "status", 200),
    Call("GET", "/api/v1/status", "status", 200),
    Call("GET", "/api/v1/isolations", "status", 200),
    Call("GET", "/api/v1/detections", "status", 200),
    Call("GET", "/api/v1/journal", "journal", 200, query="limit=5"),
    Call("GET", "/api/v1/approvals", "approve", 200),
    Call("GET", "/api/v1/checklist", "checklist", 200),
    Call("POST", "/api/v1/panic", "panic", 428, json={"profile": "full"}),
    Call("POST", "/api/v1/restore", "restore", 400, json={}),
    Call("POST", "/api/v1/isolations", "isolate", 400, json={}),
    Call("DELETE", "/api/v1/isolations/{host}", "release", 400, {"host": "ws01"}, json={"reason": 7}),
    Call("POST", "/api/v1/approvals/{id}", "approve", 404, {"id": "nonexistent"}, json={"decision": "reject"}),
    Call("POST", "/api/v1/checklist/{item}", "checklist", 400, {"item": "calm"}, json={"done": "yes"}),
    Call("POST", "/api/v1/kiosk/enrollments", "kiosk", 400, json={}),
    Call("GET", "/api/v1/policy", POLICY_PERMISSION, 200),
    Call("PUT", "/api/v1/policy", POLICY_PERMISSION, 400, json={}),         # not a bundle
    Call("GET", "/metrics", "metrics", 200),
    # incidents: reading and working them (staff too), the deadline (provider/admin only)
    Call("GET", "/api/v1/incidents", INCIDENT_PERMISSION, 200),
    Call("POST", "/api/v1/incidents", INCIDENT_PERMISSION, 400, json={"knowledge_at": "yesterday"}),
    Call("GET", "/api/v1/incidents/{incident_id}", INCIDENT_PERMISSION, 200, INC),
    Call("POST", "/api/v1/incidents/{incident_id}/notes", INCIDENT_PERMISSION, 400, INC, json={}),
    Call("POST", "/api/v1/incidents/{incident_id}/photos", INCIDENT_PERMISSION, 400, INC,
         multipart={"caption": "no file field"}),
    Call("POST", "/api/v1/incidents/{incident_id}/checklist/{item}", INCIDENT_PERMISSION, 400,
         {**INC, "item": "police"}, json={"done": "yes"}),
    Call("PUT", "/api/v1/incidents/{incident_id}/drafts/{kind}", INCIDENT_PERMISSION, 400,
         {**INC, "kind": "patients"}, json={}),
    Call("POST", "/api/v1/incidents/{incident_id}/knowledge", DEADLINE_PERMISSION, 400, INC, json={}),
    Call("POST", "/api/v1/incidents/{incident_id}/reported", DEADLINE_PERMISSION, 400, INC,
         json={"at": "not a time"}),
    Call("GET", "/api/v1/incidents/{incident_id}/report", INCIDENT_PERMISSION, 200, INC, query="format=html"),
    Call("GET", "/api/v1/incidents/{incident_id}/files/{sha256}", INCIDENT_PERMISSION, 200,
         {**INC, "sha256": "<photo>"}),
]
PUBLIC = [("GET", "/healthz"), ("GET", "/api/v1/openapi.json")]
#: Flask rules that are pages or static files, not API operations
NOT_API = ("/static/",)


@dataclass
class Matrix:
    app: Flask
    tokens: dict[str, str]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    sim = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.05, reconnect_delay=0.05).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp / "var"), base_dir=tmp)
    app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0,
                                     "agent_requests_per_minute": 10_000,
                                     "auth_failures_per_minute": 10_000})   # one wrong token per row
    toks = {role: app.extensions["notaus"].tokens.create(role, f"m-{role}") for role in ROLES}
    mgr = IncidentManager.for_engine(engine)
    inc = mgr.open(actor="test:matrix", note="matrix")
    photo = mgr.add_file(inc.id, "bild.jpg", PHOTO, actor="test:matrix")
    try:
        yield Matrix(app, toks, {"<incident>": inc.id, "<photo>": photo.sha256})
    finally:
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


def _spec_operations(app: Flask) -> set[tuple[str, str]]:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def test_matrix_covers_every_spec_operation(matrix: Matrix) -> None:
    covered = {(c.method, c.template) for c in ENDPOINTS} | set(PUBLIC)
    assert _spec_operations(matrix.app) == covered


def test_every_flask_api_route_is_in_the_spec(matrix: Matrix) -> None:
    """The gap that hid the incident endpoints: a route served but not documented."""
    served = set()
    for rule in matrix.app.url_map.iter_rules():
        path = str(rule.rule)
        if not (path.startswith("/api/") or path in ("/metrics", "/healthz")) or path.startswith(NOT_API):
            continue
        served |= {(m, _shape(path)) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert served == {(m, _shape(p)) for m, p in _spec_operations(matrix.app)}


def _shape(path: str) -> str:
    """A path with its parameters blanked: Flask's ``<req_id>`` and the spec's ``{id}`` are one route."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_each_view_requires_the_permission_the_matrix_names(matrix: Matrix) -> None:
    adapter = matrix.app.url_map.bind("localhost")
    for call in ENDPOINTS:
        endpoint, _ = adapter.match(call.path(matrix.ids).split("?")[0], method=call.method)
        view = matrix.app.view_functions[endpoint]
        assert getattr(view, "permission", None) == call.permission, call.label


@pytest.mark.parametrize("call", ENDPOINTS, ids=[c.label for c in ENDPOINTS])
def test_role_matrix(matrix: Matrix, call: Call) -> None:
    client = matrix.app.test_client()
    seen: dict[str, int] = {}
    for role in (*ROLES, None, "bogus"):
        headers = {}
        if role == "bogus":
            headers["Authorization"] = "Bearer not-a-real-token"
        elif role is not None:
            headers["Authorization"] = f"Bearer {matrix.tokens[role]}"
        resp = client.open(call.path(matrix.ids), method=call.method, headers=headers, **call.kwargs())
        seen[str(role)] = resp.status_code
        payload = resp.get_json(silent=True) if resp.is_json else None
        if role in (None, "bogus"):
            assert resp.status_code == 401, (role, resp.status_code)
            assert payload is not None and payload["error"] == "unauthorized"
            assert "Bearer" in resp.headers["WWW-Authenticate"]
        elif role in PERMISSIONS[call.permission]:
            assert resp.status_code == call.expect, (role, resp.status_code, payload)
        else:
            assert resp.status_code == 403, (role, resp.status_code, payload)
            assert payload is not None and payload["error"] == "forbidden" and payload["detail"]
    # the table is not trivially all-allowed or all-denied
    assert len(set(seen.values())) >= 2, seen


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_endpoints_need_no_token(matrix: Matrix, method: str, path: str) -> None:
    assert matrix.app.test_client().open(path, method=method).status_code == 200


def test_agent_role_may_only_isolate() -> None:
    assert {p for p, roles in PERMISSIONS.items() if "agent" in roles} == {"isolate"}
    assert PERMISSIONS["restore"] == {"provider", "admin"}
    assert PERMISSIONS[POLICY_PERMISSION] == {"provider", "admin"}


def test_incident_roles() -> None:
    """Staff work an incident; only provider/admin move the legal 72-hour clock."""
    assert PERMISSIONS[INCIDENT_PERMISSION] == {"staff", "provider", "admin"}
    assert PERMISSIONS[DEADLINE_PERMISSION] == {"provider", "admin"}
