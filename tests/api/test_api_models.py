"""The generated part of the OpenAPI document (api/models.py) describes what the API really answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs
from flask import Flask

from notaus.api.models import MODELS, component_schemas
from notaus.api.openapi import spec
from notaus.controller.engine import Engine


def _validator(name: str) -> Any:
    document = spec()
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                               "components": document["components"]})


def test_model_schemas_are_the_documents_components() -> None:
    components = spec()["components"]["schemas"]
    generated = component_schemas()
    assert {m.__name__ for m in MODELS} <= set(components)
    assert all(components[name] == schema for name, schema in generated.items())


def test_real_answers_match_the_generated_schemas(engine: Engine, make_app: Callable[..., Flask]) -> None:
    app = make_app(engine, status_observer_seconds=30)
    svc = app.extensions["notaus"]
    h = {"Authorization": f"Bearer {svc.tokens.create('provider', 't-provider')}"}
    client = app.test_client()
    status = client.get("/api/v1/status", headers=h).get_json()
    _validator("Status").validate(status)
    _validator("Observation").validate(status["observation"])
    for device in status["devices"]:
        _validator("Device").validate(device)
    iso = client.post("/api/v1/isolations", json={"host": "empfang-pc", "reason": "test"}, headers=h)
    assert iso.status_code == 200, iso.get_json()
    _validator("OperationResult").validate(iso.get_json())
    isolations = client.get("/api/v1/isolations", headers=h).get_json()["isolations"]
    assert isolations and all(_validator("Isolation").is_valid(i) for i in isolations)
    refused = client.post("/api/v1/restore", json={"reason": " "}, headers=h)
    _validator("Error").validate(refused.get_json())
    # a body the request model refuses is one the handler refuses too
    assert not _validator("RestoreRequest").is_valid({"reason": ""})
    assert client.post("/api/v1/restore", json={"reason": ""}, headers=h).status_code == 400
    assert not _validator("PanicRequest").is_valid({"profile": "half"})
    assert client.post("/api/v1/panic", json={"profile": "half"}, headers=h).status_code == 400
