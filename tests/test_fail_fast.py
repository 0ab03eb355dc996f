"""Fail fast: a router that does not answer yields the verdict ("Kabel ziehen") after one timeout.

No timed assertions (the figure is in ``bench/bench_failfast.py``): these tests count what the dead
box was asked. A verdict within ``timeout`` + 1 s means exactly one request waited on: the first
call of the cold start, answered by nobody; no description download, no retry, no second open, no
request per panic step.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from tests.test_cli import run, write_policy


def _warm_cache(policy: Path) -> None:
    """The service or doctor ran once while the box answered: the TR-064 description is on disk."""
    s = run("--config", str(policy), "status", "--json")
    assert s.returncode in (0, 2), s.stderr


def test_cold_cli_panic_against_a_hanging_box_asks_once_and_says_pull_the_cable(
        fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    _warm_cache(policy)
    assert list((tmp_path / "state" / "cache" / "fritzbox").rglob("*_cache.*")), "description kept on disk"
    documents_before = fritz_sim.documents_served
    fritz_sim.hang = True
    p = run("--config", str(policy), "panic", "--yes", "--json")
    fritz_sim.hang = False
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and doc["outcome"] == "failed"
    assert "kabel am router ziehen" in doc["message"].lower()
    assert {d["error_kind"] for d in doc["devices"]} == {"unreachable"}
    assert fritz_sim.hung_requests == 1                      # one timeout, not one per step or retry
    assert fritz_sim.documents_served == documents_before    # the description came from disk


def test_without_a_cached_description_the_cold_panic_still_waits_only_once(
        fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, fritz_sim.port)
    fritz_sim.hang = True
    p = run("--config", str(policy), "panic", "--yes", "--json")
    fritz_sim.hang = False
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and "kabel am router ziehen" in doc["message"].lower()
    assert fritz_sim.hung_requests == 1


def test_engine_steps_after_a_silent_box_fail_at_once_and_leave_no_worker_behind(
        fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port, timeout=1.0)
    fritz_sim.hang = True
    result = engine.panic("full", actor="test")
    fritz_sim.hang = False
    assert result.outcome == "failed"
    assert [d.error_kind for d in result.devices] == ["unreachable", "unreachable"]
    # the WAN step goes first and waits once; the WLANs come last (a tablet on the WLAN sees the cut
    # first), and after that timeout the box is not asked again: no WLAN call, no retry
    assert fritz_sim.hung_requests == 1
    # the driver's worker is a daemon: a request still hanging never keeps a finished command alive
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("fritz-"))


def test_status_shows_an_unreachable_router_as_unknown_never_connected(
        fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(fritz_sim.port, timeout=1.0)
    assert engine.status()["state"] == "verbunden"
    fritz_sim.hang = True
    doc = engine.status()
    fritz_sim.hang = False
    assert doc["state"] == "unbekannt"
    assert doc["devices"][0]["reachable"] is False and doc["devices"][0]["wan"] == "unknown"
