"""Shared fixtures: a simulated practice (TR-064 simulator + real fritzconnection) and an engine on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.engine import Engine
from drivers.sim.tr64 import Tr064Simulator
from policies.loader import load_policy_text
from policies.schema import Policy

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
