"""The served API reads status from the one observer: age in the document and /metrics, fresh after a panic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator


@pytest.fixture
def observed_app(engine: Engine, make_app: Callable[..., Flask]) -> Flask:
    return make_app(engine, status_observer_seconds=30)


def test_status_and_metrics_come_from_the_observer(observed_app: Flask, sim: Tr064Simulator) -> None:
    svc = observed_app.extensions["notaus"]
    staff = {"Authorization": f"Bearer {svc.tokens.create('staff', 't-staff')}"}
    client = observed_app.test_client()
    first = client.get("/api/v1/status", headers=staff).get_json()
    assert first["observation"]["source"] == "observer" and first["state"] == "verbunden"
    assert "service" in first and first["devices"][0]["age_seconds"] >= 0
    calls = sum(sim.calls.values())
    for _ in range(20):
        assert client.get("/api/v1/status", headers=staff).status_code == 200
    assert sum(sim.calls.values()) == calls          # pollers do not reach the router
    admin = {"Authorization": f"Bearer {svc.tokens.create('admin', 't-admin')}"}
    metrics = client.get("/metrics", headers=admin).get_data(as_text=True)
    assert "notaus_status_age_seconds " in metrics and "notaus_status_stale 0" in metrics

    r = client.post("/api/v1/panic", json={"profile": "full", "confirm": True}, headers=staff)
    assert r.status_code == 200, r.get_json()
    after: dict[str, Any] = client.get("/api/v1/status", headers=staff).get_json()
    assert after["contained"] is True and after["state"] == "getrennt"   # a reading taken after the panic
    assert svc.observer.rounds >= 2
