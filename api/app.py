"""Flask app factory: wires the engine, token store, idempotency store and agent gate together.

``create_app(engine)`` is all ``notaus serve`` needs; tests call it with a real engine built from a
policy whose router is the TR-064 simulator. State files live in the policy's state directory
(or ``config["state_dir"]``): ``tokens.sqlite``, ``idempotency.sqlite``, ``agents.sqlite``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from notaus.api.auth import TokenStore
from notaus.api.errors import register_error_handlers
from notaus.api.guardrails import AgentGate, GateStore
from notaus.api.http import reject_deep_json
from notaus.api.idempotency import IdempotencyStore
from notaus.api.ratelimit import RateLimiter
from notaus.api.security import security_headers
from notaus.controller.engine import Engine
from notaus.controller.observer import StatusObserver
from notaus.policies.context import state_dir as resolve_state_dir

if TYPE_CHECKING:
    from notaus.controller.scheduler import Scheduler

DEFAULTS: dict[str, Any] = {
    "state_dir": None,                # default: engine.policy.controller.state_dir
    "status_cache_seconds": 1.0,      # engine.status() is shared by all pollers for this long
    "status_observer_seconds": 0.0,   # > 0: one loop reads the devices this often (controller.observer);
                                      # status, UI and /metrics read its latest observation (``notaus serve``)
    "agent_requests_per_minute": 60,  # per agent token, beyond: 429
    "auth_failures_per_minute": 20,   # per client address, beyond: 429
    "max_body_bytes": 64 * 1024,
}


@dataclass
class Services:
    """Everything a request handler needs, stored in ``app.extensions["notaus"]``."""

    engine: Engine
    tokens: TokenStore
    idempotency: IdempotencyStore
    gate: AgentGate
    agent_limiter: RateLimiter
    auth_fail_limiter: RateLimiter
    config: dict[str, Any]
    scheduler: Scheduler | None = None   # when served: its status() for the UI, its policy hooks
    observer: StatusObserver | None = None   # the one device observer, when ``status_observer_seconds`` > 0
    _status_lock: threading.Lock = field(default_factory=threading.Lock)
    _status_cache: tuple[float, dict[str, Any]] | None = None

    def status(self) -> dict[str, Any]:
        """``engine.status()`` cached for ``status_cache_seconds`` (0 disables the cache).

        Many tablets and PCs poll while a panic runs; one engine call per second is enough, and it
        keeps device sessions free for the containment itself.
        """
        if self.observer is not None:
            return self.observer.document()
        ttl = float(self.config["status_cache_seconds"])
        if ttl <= 0:
            return dict(self.engine.status())
        now = time.monotonic()
        cached = self._status_cache
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        with self._status_lock:
            cached = self._status_cache
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            value = dict(self.engine.status())
            self._status_cache = (time.monotonic(), value)
            return value

    def invalidate_status(self) -> None:
        self._status_cache = None
        if self.observer is not None:
            self.observer.refresh()

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()
        self.tokens.close()
        self.idempotency.close()
        self.gate.store.close()


def _state_dir(engine: Engine, config: dict[str, Any]) -> Path:
    if config.get("state_dir"):
        return Path(config["state_dir"])
    return resolve_state_dir(engine.policy, engine.base_dir)


def create_app(engine: Engine, *, config: dict[str, Any] | None = None, scheduler: Scheduler | None = None) -> Flask:
    cfg = {**DEFAULTS, **(config or {})}
    state = _state_dir(engine, cfg)
    state.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = int(cfg["max_body_bytes"])
    app.config["JSON_SORT_KEYS"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    tokens = TokenStore(cfg.get("tokens_path") or state / "tokens.sqlite")
    svc = Services(
        engine=engine,
        tokens=tokens,
        idempotency=IdempotencyStore(state / "idempotency.sqlite"),
        gate=AgentGate(engine.policy, engine.journal, engine, GateStore(state / "agents.sqlite")),
        agent_limiter=RateLimiter(int(cfg["agent_requests_per_minute"]), 60.0),
        auth_fail_limiter=RateLimiter(int(cfg["auth_failures_per_minute"]), 60.0),
        config=cfg,
        scheduler=scheduler,
    )
    if float(cfg["status_observer_seconds"]) > 0:
        from notaus.api.status_view import service_view

        svc.observer = StatusObserver(engine, interval=float(cfg["status_observer_seconds"]),
                                      augment=lambda: {"service": service_view(engine, scheduler)}).start()
    app.extensions["notaus"] = svc

    from notaus.api.ui import ui
    from notaus.api.v1 import ops, v1

    app.register_blueprint(v1)
    app.register_blueprint(ops)
    app.register_blueprint(ui)
    from notaus.api.incidents import bp as incidents_bp

    app.register_blueprint(incidents_bp)
    from notaus.api.detections import bp as detections_bp

    app.register_blueprint(detections_bp)
    from notaus.api.discover_ui import bp as discover_bp

    app.register_blueprint(discover_bp)
    register_error_handlers(app)
    app.before_request(reject_deep_json)
    app.after_request(security_headers)
    return app
