"""Authorization matrix: every endpoint × every role × no token.

Allowed callers send a request that passes authorization but stops cheaply afterwards (a missing
field -> 400, panic without confirm -> 428), so the matrix proves *who* gets past the door without
running forty real panics. Forbidden roles must get 403, no token 401, a wrong token 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api.app import create_app
from api.auth import PERMISSIONS
from api.openapi import POLICY_PERMISSION
from controller.engine import Engine
from drivers.sim.tr64 import Tr064Simulator

from .api_practice import ROLES, SIM_HOSTS, practice_policy

# (method, path, json body or None, permission)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/api/v1/whoami", None, "status"),
    ("GET", "/api/v1/status", None, "status"),
    ("GET", "/api/v1/isolations", None, "status"),
    ("GET", "/api/v1/detections", None, "status"),
    ("GET", "/api/v1/journal?limit=5", None, "journal"),
    ("GET", "/api/v1/approvals", None, "approve"),
    ("GET", "/api/v1/checklist", None, "checklist"),
    ("POST", "/api/v1/panic", {"profile": "full"}, "panic"),
    ("POST", "/api/v1/restore", {}, "restore"),
    ("POST", "/api/v1/isolations", {}, "isolate"),
    ("DELETE", "/api/v1/isolations/ws01", {"reason": "matrix"}, "release"),
    ("POST", "/api/v1/approvals/nonexistent", {"decision": "reject"}, "approve"),
    ("POST", "/api/v1/checklist/calm", {"done": True}, "checklist"),
    ("POST", "/api/v1/kiosk/enrollments", {}, "kiosk"),
    ("GET", "/api/v1/policy", None, POLICY_PERMISSION),
    ("PUT", "/api/v1/policy", {}, POLICY_PERMISSION),         # not a bundle: 400 once past the door
    ("GET", "/metrics", None, "metrics"),
]
PUBLIC = [("GET", "/healthz"), ("GET", "/api/v1/openapi.json")]


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    sim = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.05, reconnect_delay=0.05).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp / "var"), base_dir=tmp)
    app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0,
                                     "agent_requests_per_minute": 10_000})
    toks = {role: app.extensions["notaus"].tokens.create(role, f"m-{role}") for role in ROLES}
    try:
        yield app, toks
    finally:
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


def test_matrix_covers_every_spec_operation(matrix_app: tuple[Flask, dict[str, str]]) -> None:
    app, _ = matrix_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    in_spec = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(m, p.split("?")[0]) for m, p, _, _ in ENDPOINTS} | set(PUBLIC)
    normalized = {(m, p.replace("ws01", "{host}").replace("nonexistent", "{id}").replace("calm", "{item}"))
                  for m, p in covered}
    assert in_spec == normalized


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ENDPOINTS])
def test_role_matrix(matrix_app: tuple[Flask, dict[str, str]], method: str, path: str,
                     body: dict[str, Any] | None, permission: str) -> None:
    app, toks = matrix_app
    client = app.test_client()
    seen: dict[str, int] = {}
    for role in (*ROLES, None, "bogus"):
        headers = {}
        if role == "bogus":
            headers["Authorization"] = "Bearer not-a-real-token"
        elif role is not None:
            headers["Authorization"] = f"Bearer {toks[role]}"
        resp = client.open(path, method=method, json=body, headers=headers)
        seen[str(role)] = resp.status_code
        payload = resp.get_json(silent=True) if resp.is_json else None
        if role in (None, "bogus"):
            assert resp.status_code == 401, (role, resp.status_code)
            assert payload is not None and payload["error"] == "unauthorized"
            assert "Bearer" in resp.headers["WWW-Authenticate"]
        elif role in PERMISSIONS[permission]:
            assert resp.status_code not in (401, 403), (role, resp.status_code, payload)
            assert resp.status_code < 500, (role, resp.status_code, payload)
        else:
            assert resp.status_code == 403, (role, resp.status_code, payload)
            assert payload is not None and payload["error"] == "forbidden" and payload["detail"]
    # the table is not trivially all-allowed or all-denied
    assert len(set(seen.values())) >= 2, seen


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_endpoints_need_no_token(matrix_app: tuple[Flask, dict[str, str]], method: str, path: str) -> None:
    app, _ = matrix_app
    assert app.test_client().open(path, method=method).status_code == 200


def test_agent_role_may_only_isolate() -> None:
    assert {p for p, roles in PERMISSIONS.items() if "agent" in roles} == {"isolate"}
    assert PERMISSIONS["restore"] == {"provider", "admin"}
    assert PERMISSIONS[POLICY_PERMISSION] == {"provider", "admin"}
