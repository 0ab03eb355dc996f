"""`notaus drill` through the real CLI against the TR-064 simulator, with and without a running service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from notaus.controller.engine import Engine
from notaus.controller.scheduler import Scheduler
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.loader import load_policy
from tests.test_scheduler import sim, wan  # noqa: F401 - fixture re-use
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]


def write_policy(tmp: Path, sim: Tr064Simulator) -> Path:  # noqa: F811
    path = tmp / "praxis.yaml"
    path.write_text(yaml.safe_dump({
        "controller": {"state_dir": "var"},
        "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": sim.port,
                     "user": "notaus", "password": "richtig"}],
        "schedules": {"enforce_seconds": 1, "health_minutes": 60},
    }))
    return path


def drill(cfg: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NOTAUS_ACTOR": "test-team"}
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", "--config", str(cfg), "drill", "--yes",
                           "--json", *extra], capture_output=True, text=True, timeout=90, env=env)


def test_drill_cuts_and_restores_by_itself(tmp_path: Path, sim: Tr064Simulator) -> None:  # noqa: F811
    cfg = write_policy(tmp_path, sim)
    res = drill(cfg, "--minutes", "0.03")
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert docs[0]["ok"] and docs[0]["panic"]["outcome"] == "done"
    assert docs[-1]["ok"] and docs[-1]["end"]["data"]["outcome"] == "done"
    assert wan(sim) == "Connected"
    assert sim.snapshot()["calls"].get("WANPPPConnection1.ForceTermination", 0) >= 1


def test_drill_hands_restore_to_running_service(tmp_path: Path, sim: Tr064Simulator) -> None:  # noqa: F811
    cfg = write_policy(tmp_path, sim)
    engine = Engine.from_policy(load_policy(cfg), base_dir=tmp_path)
    service = Scheduler(engine, Path(engine.state.path)).start()
    try:
        res = drill(cfg, "--minutes", "0.03")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["ok"]
        assert wan(sim) == "Disconnected"
        wait_for(lambda: engine.journal.entries(kind="drill.end"), what="the service ending the drill")
        assert engine.journal.entries(kind="drill.end")[0].data["outcome"] == "done"
        assert wan(sim) == "Connected"
    finally:
        service.shutdown()
        engine.close()
