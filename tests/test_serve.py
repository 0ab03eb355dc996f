"""``notaus serve`` as a real process: tokens, panic over HTTP, a containment that survives a restart,
and a signed policy pushed by the provider that the service applies by restarting itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from notaus.drivers.sim.tr64 import Tr064Simulator

from .test_cli import ROOT, write_policy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, policy: Path, env: dict[str, str]) -> None:
        self.policy, self.env = policy, env
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Service:
        self.proc = subprocess.Popen([sys.executable, "-m", "notaus.controller.cli", "--config", str(self.policy),
                                      "serve",
                                      "--listen", f"127.0.0.1:{self.port}"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.wait_up()
        return self

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url("/healthz"), timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("service did not come up")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    p = subprocess.run([sys.executable, "-m", "notaus.controller.cli", *args, "--json"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr + p.stdout
    return dict(json.loads(p.stdout))


@pytest.fixture
def setup(fritz_sim: Tr064Simulator, tmp_path: Path) -> Iterator[tuple[Service, dict[str, str], Path]]:
    policy = write_policy(tmp_path, fritz_sim.port)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTAUS_PROVIDER_KEYS": str(tmp_path / "keys")}
    (tmp_path / "keys").mkdir()
    svc = Service(policy, env)
    yield svc, env, policy
    svc.stop()


def test_service_panic_restart_and_signed_policy(setup: tuple[Service, dict[str, str], Path],
                                                 fritz_sim: Tr064Simulator, tmp_path: Path) -> None:
    svc, env, policy = setup
    staff = cli(env, "--config", str(policy), "token", "create", "--role", "staff", "--name", "empfang")["token"]
    provider = cli(env, "--config", str(policy), "token", "create", "--role", "provider", "--name", "it")["token"]
    svc.start()
    h = {"Authorization": f"Bearer {staff}"}
    r = requests.post(svc.url("/api/v1/panic"), json={"profile": "full"}, headers=h, timeout=30)
    assert r.status_code == 428 and any(w["code"] == "phones" for w in r.json()["warnings"])
    r = requests.post(svc.url("/api/v1/panic"), json={"profile": "full", "confirm": True}, headers=h, timeout=30)
    assert r.status_code == 200 and r.json()["outcome"] == "done", r.text

    # the service dies hard; the box reconnects meanwhile; the restarted service cuts again on its own
    assert svc.proc is not None
    svc.proc.kill()
    svc.proc.wait()
    fritz_sim.simulate_user_reconnect()
    deadline = time.monotonic() + 5
    while fritz_sim.snapshot()["wan"]["status"] != "Connected" and time.monotonic() < deadline:
        time.sleep(0.05)
    svc.start()
    assert fritz_sim.snapshot()["wan"]["status"] == "Disconnected"   # re-asserted before serving
    status = requests.get(svc.url("/api/v1/status"), headers=h, timeout=10).json()
    assert status["contained"] is True

    # the provider pushes a signed policy (version 1 -> 2) over the API; the service restarts into it
    keys = cli(env, "policy", "keygen", "--out", str(tmp_path / "keys" / "it"))
    new = tmp_path / "policy-v2.yaml"
    new.write_text("version: 2\n" + policy.read_text().replace("controller: {state_dir: state}",
                                                                "controller: {state_dir: state, verify_timeout: 4}"))
    bundle = tmp_path / "b.json"
    cli(env, "--config", str(policy), "policy", "sign", "--key", keys["private_key"], str(new), "-o", str(bundle))
    ph = {"Authorization": f"Bearer {provider}", "Content-Type": "application/json"}
    r = requests.put(svc.url("/api/v1/policy"), data=bundle.read_bytes(), headers=ph, timeout=30)
    assert r.status_code == 200, r.text
    time.sleep(1.5)                       # the service finishes the answer, then restarts in place
    svc.wait_up()
    info = requests.get(svc.url("/api/v1/policy"), headers=ph, timeout=10).json()
    assert info["version"] == 2 and info["running_version"] == 2, info
    status = requests.get(svc.url("/api/v1/status"), headers=h, timeout=10).json()
    assert status["contained"] is True   # containment survived the policy restart

    # a tampered bundle changes nothing
    doc = json.loads(bundle.read_text())
    doc["version"] = 3
    r = requests.put(svc.url("/api/v1/policy"), data=json.dumps(doc), headers=ph, timeout=30)
    assert r.status_code in (403, 422), r.text
    v = cli(env, "--config", str(policy), "journal", "verify")
    assert v["ok"] is True
