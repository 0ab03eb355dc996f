"""The shared test rigs, in one place: a simulated practice (TR-064 simulator + real fritzconnection),
an engine on it, and the Flask app on top.

``fritz_sim``/``engine`` here drive a small practice; ``sim`` is the API practice's router (the hosts of
:mod:`tests.api.api_practice`). Folders override ``engine`` with their own policy (``tests/api``,
``tests/incident``); ``app``/``client``/``make_app`` then sit on that folder's engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notaus.api.app import create_app
from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.loader import load_policy_text
from notaus.policies.schema import Policy
from tests.api.api_practice import SIM_HOSTS

HOSTS: list[dict[str, Any]] = [
    {"name": "empfang-pc", "ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01", "role": "workstation"},
    {"name": "sprechzimmer-1", "ip": "192.168.178.21", "mac": "aa:bb:cc:dd:ee:02", "role": "workstation"},
    {"name": "ti-konnektor", "ip": "192.168.178.50", "mac": "aa:bb:cc:dd:ee:50", "role": "ti-konnektor",
     "protected": True},
    {"name": "telefon-empfang", "ip": "192.168.178.60", "mac": "aa:bb:cc:dd:ee:60", "role": "phone"},
]


def practice_policy(tmp_path: Path, port: int, *, password: str = "geheim", extra: str = "",
                    timeout: float = 2.0) -> Policy:
    hosts = "\n".join(
        f"  - {{name: {h['name']}, ip: {h['ip']}, mac: \"{h['mac']}\", role: {h['role']}"
        + (", protected: true" if h.get("protected") else "") + "}" for h in HOSTS)
    text = f"""
controller:
  state_dir: {tmp_path / 'state'}
  ip: 192.168.178.2
  verify_timeout: 3
  parallel_timeout: 8
devices:
  - {{name: fritzbox, driver: fritzbox, address: 127.0.0.1, port: {port}, user: notaus, password: {password},
     timeout: {timeout}}}
hosts:
{hosts}
{extra}
"""
    return load_policy_text(text, "test-policy.yaml")


@pytest.fixture
def fritz_sim() -> Iterator[Tr064Simulator]:
    sim = Tr064Simulator(user="notaus", password="geheim", hosts=[{k: h[k] for k in ("name", "ip", "mac")}
                                                                   for h in HOSTS],
                         numbers=["0301234567", "0301234568"], phones=["Empfang"],
                         reconnect_delay=0.3, hostfilter_delay=0.2)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def make(port: int, **kw: Any) -> Engine:
        engine = Engine.from_policy(practice_policy(tmp_path, port, **kw), base_dir=tmp_path)
        engines.append(engine)
        return engine

    yield make
    for e in engines:
        e.close()


@pytest.fixture
def engine(fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> Engine:
    return make_engine(fritz_sim.port)


@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    """The API practice's FRITZ!Box (fast host filter and reconnect, so tests do not wait)."""
    s = Tr064Simulator(hosts=SIM_HOSTS, hostfilter_delay=0.05, reconnect_delay=0.05).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``make_app(engine, **config)``: the real app (state in ``tmp_path/api``, no status cache), closed after."""
    apps: list[Flask] = []

    def make(engine: Engine, scheduler: Any = None, **config: Any) -> Flask:
        cfg = {"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0, **config}
        application = create_app(engine, config=cfg, scheduler=scheduler)
        application.testing = True
        apps.append(application)
        return application

    yield make
    for application in apps:
        application.extensions["notaus"].close()


@pytest.fixture
def app(engine: Engine, make_app: Callable[..., Flask]) -> Flask:
    return make_app(engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
