"""Speedport: the same fail-fast and honesty as the FRITZ!Box, through the engine.

``req_connect=offline`` is documented for the Speedport Hybrid (Stricted/speedport-hybrid-php-api);
the Smart 3/4 clients only send ``reconnect`` (Andre0512/speedport-api), so whether Smart firmware
obeys it is unconfirmed: the simulator's ``offline_ignored`` plays a firmware that says ok and stays
online, and the engine must not call that a cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notaus.controller.engine import Engine
from notaus.drivers.sim.speedport import SpeedportSimulator
from notaus.policies.loader import load_policy_text


def _engine(tmp_path: Path, sim: SpeedportSimulator, timeout: float = 1.0) -> Engine:
    policy = load_policy_text(f"""
controller: {{state_dir: {tmp_path}/state, verify_timeout: 0.6}}
devices: [{{name: speedport, driver: speedport, address: 127.0.0.1, port: {sim.port}, password: geheim,
            timeout: {timeout}}}]
""")
    return Engine.from_policy(policy)


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for e in made:
        e.close()


def test_offline_accepted_but_line_stays_up_is_unverified_with_what_to_do(tmp_path: Path,
                                                                         engines: list[Engine]) -> None:
    with SpeedportSimulator(password="geheim", offline_ignored=True) as sim:
        engine = _engine(tmp_path, sim)
        engines.append(engine)
        result = engine.panic("full", actor="test")
        cut = next(d for d in result.devices if d.action == "cut_wan")
        assert cut.outcome == "unverified"
        assert "not confirmed for Speedport Smart 3/4" in cut.message and "Kabel ziehen" in cut.message
        assert result.outcome == "partial" and result.exit_code == 2
        assert sim.state.online


def test_hanging_speedport_fails_after_one_timeout(tmp_path: Path, engines: list[Engine]) -> None:
    with SpeedportSimulator(password="geheim") as sim:
        engine = _engine(tmp_path, sim)
        engines.append(engine)
        sim.hang = True
        result = engine.panic("full", actor="test")
        sim.hang = False
        assert result.outcome == "failed" and "kabel am router ziehen" in result.message.lower()
        assert {d.error_kind for d in result.devices} == {"unreachable"}
        assert sim.hung_requests == 1
        assert engine.status()["state"] == "teilweise"   # the panic is wanted; nothing confirms it
