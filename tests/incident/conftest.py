"""A real engine against the TR-064 simulator, a policy file on disk for the CLI, and the incident manager."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from notaus.controller.engine import Engine  # noqa: E402
from notaus.controller.incident import IncidentManager  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402
from notaus.policies.loader import load_policy  # noqa: E402

DPO = {"name": "Dr. Datenschutz GmbH", "phone": "0221 555 66", "email": "dsb@example.org"}


def policy_doc(sim_port: int, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "practice": "Praxis Dr. Test",
        "controller": {"state_dir": "./var", "ip": "192.168.178.2", "verify_timeout": 5, "parallel_timeout": 15,
                       "retries": 1},
        "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": sim_port,
                     "user": "notaus", "password": "notaus", "timeout": 3}],
        "hosts": [
            {"name": "empfang-pc", "ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01"},
            {"name": "sprechzimmer-1", "ip": "192.168.178.21", "mac": "aa:bb:cc:dd:ee:02"},
            {"name": "ti-konnektor", "ip": "192.168.178.50", "mac": "aa:bb:cc:dd:ee:50", "role": "ti-konnektor"},
            {"name": "voip-empfang", "ip": "192.168.178.60", "mac": "aa:bb:cc:dd:ee:60", "role": "phone"},
        ],
        "contacts": {"it_provider": {"name": "IT Müller", "phone": "0301112233"}, "data_protection_officer": DPO},
        "schedules": {"followup_days": 14},
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def policy_file(sim: Tr064Simulator, tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy_doc(sim.port), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def engine(policy_file: Path) -> Iterator[Engine]:
    eng = Engine.from_policy(load_policy(policy_file), base_dir=policy_file.parent)
    try:
        yield eng
    finally:
        eng.close()


@pytest.fixture
def incidents(engine: Engine) -> Iterator[IncidentManager]:
    mgr = IncidentManager.for_engine(engine)
    try:
        yield mgr
    finally:
        mgr.close()


def bearer(app: Flask, role: str, name: str | None = None) -> dict[str, str]:
    """A new token of ``role`` as an Authorization header."""
    token = app.extensions["notaus"].tokens.create(role, name or f"t-{role}")
    return {"Authorization": f"Bearer {token}"}
