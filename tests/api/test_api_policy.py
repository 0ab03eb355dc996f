"""``PUT /api/v1/policy`` and ``GET /api/v1/policy`` with real Ed25519 bundles.

The provider key is generated per test and pinned through ``NOTAUS_PROVIDER_KEYS`` (the same lookup
``notaus serve`` uses); bundles are made with ``policies.signing.sign_policy`` exactly as
``notaus policy sign`` makes them. The engine underneath drives the TR-064 simulator, whose
password is distinctive so the test can prove it never leaves the box through the API.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from notaus.api.app import create_app
from notaus.controller.engine import Engine
from notaus.controller.scheduler import Scheduler
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.signing import generate_keypair, load_private_key, sign_policy
from notaus.policies.store import PolicyStore

from .api_practice import ROLES, SIM_HOSTS, practice_policy

SECRET = "Fritz-Geheim-7731"


@pytest.fixture
def provider_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ed25519PrivateKey:
    """A provider key pair; only the public half is pinned on the box."""
    pinned = tmp_path / "pinned-keys"
    pinned.mkdir()
    laptop = tmp_path / "provider-laptop"
    laptop.mkdir()
    key_path, pub_path = generate_keypair(laptop / "provider")
    shutil.copy(pub_path, pinned / "provider.pub")
    monkeypatch.setenv("NOTAUS_PROVIDER_KEYS", str(pinned))
    return load_private_key(key_path)


@pytest.fixture
def box(tmp_path: Path, provider_key: Ed25519PrivateKey) -> Iterator[tuple[Flask, Engine, dict[str, str]]]:
    sim = Tr064Simulator(password=SECRET, hosts=SIM_HOSTS, hostfilter_delay=0.02, reconnect_delay=0.02).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp_path / "var", password=SECRET), base_dir=tmp_path)
    app = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0})
    toks = {role: app.extensions["notaus"].tokens.create(role, f"t-{role}") for role in ROLES}
    try:
        yield app, engine, toks
    finally:
        app.extensions["notaus"].close()
        engine.close()
        sim.stop()


def policy_text(engine: Engine, version: int, **changes: Any) -> str:
    """The running policy as YAML with a new version and some guardrail changes."""
    doc = engine.policy.model_dump(mode="json", exclude_none=True)
    doc["version"] = version
    doc["guardrails"].update(changes)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def bundle(engine: Engine, key: Ed25519PrivateKey, version: int, **changes: Any) -> bytes:
    return sign_policy(policy_text(engine, version, **changes), version, key)


def put(client: FlaskClient, token: str, data: bytes, **headers: str) -> Any:
    return client.put("/api/v1/policy", data=data, content_type="application/json",
                      headers={"Authorization": f"Bearer {token}", **headers})


def kinds(engine: Engine) -> list[str]:
    return [e.kind for e in engine.journal.entries(limit=1000, kind="policy")]


def test_signed_bundle_applied_and_shown_without_secrets(box: tuple[Flask, Engine, dict[str, str]],
                                                         provider_key: Ed25519PrivateKey) -> None:
    app, engine, toks = box
    client = app.test_client()
    resp = put(client, toks["provider"], bundle(engine, provider_key, 2, max_auto_isolations=5))
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["ok"] is True and body["code"] == "applied" and body["version"] == 2
    assert body["previous_version"] == 0
    assert any("5" in c and "Isolierungen" in c for c in body["changes_de"]), body["changes_de"]
    assert body["restart_required"] is True and body["running_version"] == 0   # no engine reload hook here
    store = PolicyStore(engine.state_dir)
    current = store.current()
    assert current is not None and current.version == 2 and current.source == "api"
    applied = engine.journal.entries(kind="policy.applied")
    assert len(applied) == 1 and applied[0].actor == "provider:t-provider" and applied[0].data["version"] == 2

    resp = client.get("/api/v1/policy", headers={"Authorization": f"Bearer {toks['admin']}"})
    info = resp.get_json()
    assert resp.status_code == 200
    assert info["version"] == 2 and info["source"] == "applied" and info["high_water"] == 2
    assert info["rollback_to"] == [] and len(info["pinned_keys"]) == 1
    assert info["summary"]["guardrails"]["max_auto_isolations"] == 5
    assert info["summary"]["protected"] == ["praxisserver", "ti-konnektor"]
    assert [d["name"] for d in info["summary"]["devices"]] == ["fritzbox"]
    assert info["policy"]["devices"][0]["password"] == "***"
    assert SECRET not in resp.get_data(as_text=True)


def test_tampered_bundle_is_refused_and_changes_nothing(box: tuple[Flask, Engine, dict[str, str]],
                                                        provider_key: Ed25519PrivateKey) -> None:
    app, engine, toks = box
    doc = json.loads(bundle(engine, provider_key, 2, max_auto_isolations=3))
    doc["policy"] = doc["policy"].replace("max_auto_isolations: 3", "max_auto_isolations: 99")
    assert "max_auto_isolations: 99" in doc["policy"]
    resp = put(app.test_client(), toks["provider"], json.dumps(doc).encode())
    body = resp.get_json()
    assert resp.status_code == 403, body
    assert body["ok"] is False and body["code"] == body["error"] == "bad_signature"
    assert "verändert" in body["message"] and body["detail"]
    store = PolicyStore(engine.state_dir)
    assert store.current() is None and store.high_water() == 0
    assert not list(store.dir.glob("v*.yaml"))
    assert kinds(engine) == ["policy.rejected"]
    assert engine.journal.entries(kind="policy.rejected")[0].data["reason"] == "bad_signature"
    info = app.test_client().get("/api/v1/policy", headers={"Authorization": f"Bearer {toks['provider']}"})
    assert info.get_json()["version"] == 0 and info.get_json()["source"] == "installed"


def test_unpinned_key_is_refused(box: tuple[Flask, Engine, dict[str, str]]) -> None:
    app, engine, toks = box
    stranger = Ed25519PrivateKey.generate()
    resp = put(app.test_client(), toks["provider"], bundle(engine, stranger, 2))
    assert resp.status_code == 403 and resp.get_json()["code"] == "unknown_key"
    assert PolicyStore(engine.state_dir).current() is None


def test_replay_and_downgrade_are_refused(box: tuple[Flask, Engine, dict[str, str]],
                                          provider_key: Ed25519PrivateKey) -> None:
    app, engine, toks = box
    client = app.test_client()
    v3 = bundle(engine, provider_key, 3, max_auto_isolations=4)
    v2 = bundle(engine, provider_key, 2, max_auto_isolations=9)
    assert put(client, toks["provider"], v3).status_code == 200
    replay = put(client, toks["admin"], v3)
    assert replay.status_code == 409 and replay.get_json()["code"] == "replay"
    downgrade = put(client, toks["provider"], v2)
    assert downgrade.status_code == 409 and downgrade.get_json()["code"] == "downgrade"
    store = PolicyStore(engine.state_dir)
    current = store.current()
    assert current is not None and current.version == 3 and store.high_water() == 3
    assert kinds(engine) == ["policy.applied", "policy.rejected", "policy.rejected"]
    # the same request with the same Idempotency-Key is answered from the store, not applied twice
    v4 = bundle(engine, provider_key, 4)
    first = put(client, toks["provider"], v4, **{"Idempotency-Key": "pol-4"})
    again = put(client, toks["provider"], v4, **{"Idempotency-Key": "pol-4"})
    assert first.status_code == again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert kinds(engine).count("policy.applied") == 2


@pytest.mark.parametrize("role", ["staff", "agent"])
def test_staff_and_agents_may_not_touch_the_policy(box: tuple[Flask, Engine, dict[str, str]],
                                                   provider_key: Ed25519PrivateKey, role: str) -> None:
    app, engine, toks = box
    client = app.test_client()
    resp = put(client, toks[role], bundle(engine, provider_key, 2))
    assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"
    assert client.get("/api/v1/policy", headers={"Authorization": f"Bearer {toks[role]}"}).status_code == 403
    assert PolicyStore(engine.state_dir).current() is None
    assert kinds(engine) == []


def test_large_bundle_passes_the_body_limit(box: tuple[Flask, Engine, dict[str, str]],
                                            provider_key: Ed25519PrivateKey) -> None:
    """A practice with many hosts: the bundle exceeds the API's 64 KiB limit for other calls."""
    app, engine, toks = box
    doc = engine.policy.model_dump(mode="json", exclude_none=True)
    doc["version"] = 2
    doc["hosts"] += [{"name": f"pc-{i:04d}", "ip": f"10.{i // 250}.{i % 250}.10"} for i in range(2500)]
    data = sign_policy(yaml.safe_dump(doc, sort_keys=False), 2, provider_key)
    assert len(data) > 64 * 1024
    resp = put(app.test_client(), toks["provider"], data)
    assert resp.status_code == 200, resp.get_json()
    assert app.test_client().post("/api/v1/panic", data=b"{" + b" " * (70 * 1024) + b"}",
                                  content_type="application/json",
                                  headers={"Authorization": f"Bearer {toks['staff']}"}).status_code == 413


def test_applied_policy_replans_the_running_scheduler(box: tuple[Flask, Engine, dict[str, str]],
                                                      provider_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    app, engine, toks = box
    sched = Scheduler(engine, Path(engine.state.path)).start()
    try:
        served = create_app(engine, config={"state_dir": str(tmp_path / "api2"), "status_cache_seconds": 0},
                            scheduler=sched)
        token = served.extensions["notaus"].tokens.create("provider", "p2")
        doc = engine.policy.model_dump(mode="json", exclude_none=True)
        doc["version"] = 2
        doc["schedules"]["enforce_seconds"] = 42
        resp = put(served.test_client(), token, sign_policy(yaml.safe_dump(doc), 2, provider_key))
        assert resp.status_code == 200, resp.get_json()
        assert sched.policy.schedules.enforce_seconds == 42
        served.extensions["notaus"].close()
    finally:
        sched.shutdown()
