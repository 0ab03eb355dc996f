"""The one status observer (controller.observer) against real TR-064 simulators.

What it must show: readers share one reading (the devices are not asked per reader), every document
says how old it is, a hanging device is reported stale / "no answer" while the other device's
reading stays current, and after a change readers get a reading taken afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notaus.controller.engine import Engine
from notaus.controller.observer import StatusObserver
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import Policy
from tests.waiting import wait_for


def _policy(state_dir: Path, ports: list[int]) -> Policy:
    return Policy.model_validate({
        "controller": {"state_dir": str(state_dir), "ip": "192.168.178.2", "parallel_timeout": 2, "retries": 0},
        "devices": [{"name": f"box{i}", "driver": "fritzbox", "address": "127.0.0.1", "port": port,
                     "user": "notaus", "password": "notaus", "timeout": 10} for i, port in enumerate(ports)],
        "hosts": [{"name": "empfang-pc", "ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01"}],
    })


@pytest.fixture
def sims() -> Iterator[list[Tr064Simulator]]:
    started = [Tr064Simulator(reconnect_delay=30, hostfilter_delay=0.01).start() for _ in range(2)]
    try:
        yield started
    finally:
        for s in started:
            s.stop()


@pytest.fixture
def engine(sims: list[Tr064Simulator], tmp_path: Path) -> Iterator[Engine]:
    eng = Engine.from_policy(_policy(tmp_path / "var", [s.port for s in sims]), base_dir=tmp_path)
    try:
        yield eng
    finally:
        eng.close()


def _device(doc: dict, name: str) -> dict:
    return next(d for d in doc["devices"] if d["name"] == name)


def test_readers_share_one_reading_with_its_age(engine: Engine, sims: list[Tr064Simulator]) -> None:
    obs = StatusObserver(engine, interval=60)          # no loop: one round, then only readers
    first = obs.run_once()
    calls_before = sum(sims[0].calls.values())
    docs = [obs.document(first) for _ in range(50)]
    assert sum(sims[0].calls.values()) == calls_before   # 50 readers, no device call
    doc = docs[-1]
    assert doc["observation"]["source"] == "observer" and doc["observation"]["stale"] is False
    assert doc["observation"]["age_seconds"] >= 0
    box = _device(doc, "box0")
    assert box["reachable"] is True and box["wan"] == "up" and box["stale"] is False
    assert "observed_at" in box and box["age_seconds"] >= 0
    obs.stop()


def test_stale_when_no_round_came_in_time(engine: Engine) -> None:
    obs = StatusObserver(engine, interval=60, stale_after=0.05)
    first = obs.run_once()
    time.sleep(0.1)                                     # the loop "fell behind": nothing newer exists
    doc = obs.document(first)
    assert doc["observation"]["stale"] is True and doc["observation"]["age_seconds"] >= 0.05
    assert set(doc["observation"]["stale_devices"]) == {"box0", "box1"}
    obs.stop()


def test_hanging_device_does_not_stall_the_other(engine: Engine, sims: list[Tr064Simulator]) -> None:
    obs = StatusObserver(engine, interval=0.2, stale_after=1.0).start()
    try:
        wait_for(lambda: obs.rounds >= 1, what="first round")
        sims[1].hang = True                             # box1 accepts and never answers
        sims[0].state.force_termination()               # box0 changes: its WAN goes down
        wait_for(lambda: _device(obs.document(), "box0")["wan"] == "down", what="box0 reading while box1 hangs")
        doc = wait_for(lambda: (d := obs.document()) and not _device(d, "box1")["reachable"] and d,
                       what="box1 reported as not answering")
        assert "no answer" in _device(doc, "box1")["error"]
        assert _device(doc, "box1")["stale"] is True and "box1" in doc["observation"]["stale_devices"]
        assert doc["observation"]["stale"] is True       # honest: one device's state is not current
        assert _device(doc, "box0")["stale"] is False and _device(doc, "box0")["reachable"] is True
    finally:
        sims[1].hang = False
        obs.stop()


def test_reader_after_a_change_gets_a_reading_taken_afterwards(engine: Engine) -> None:
    obs = StatusObserver(engine, interval=30).start()   # long interval: only the change triggers a round
    try:
        wait_for(lambda: obs.rounds >= 1, what="first round")
        assert obs.document()["state"] == "verbunden"
        assert engine.panic("full", actor="test").outcome == "done"   # journals panic.result -> refresh
        doc = obs.document()
        assert doc["state"] == "getrennt" and doc["contained"] is True
        assert all(d["wan"] == "down" for d in doc["devices"])
    finally:
        obs.stop()
