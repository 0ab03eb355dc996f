"""API v1 endpoints (blueprint ``v1``) and the operational ones (``/metrics``, ``/healthz``).

Status codes for operations, documented in the OpenAPI spec:

* ``POST /api/v1/panic`` without ``"confirm": true`` -> 428 with the plan and what stops working;
  with it -> 200 when every device step is verified, **207** when the outcome is ``partial`` or
  ``failed`` (the body's ``outcome`` says which; per-device results are always in ``devices``),
  409 when the engine refused.
* isolate/release/restore follow the same rule (200 done, 207 partial/failed, 409 refused).
* ``PUT /api/v1/policy`` answers with the status :mod:`policies.update` assigns to the outcome
  (200 applied, 400 malformed, 403 signature/key, 409 replay/downgrade, 422 invalid policy).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, jsonify, request

from notaus.api.auth import POLICY_PERMISSION, is_agent, permissions_of
from notaus.api.errors import ApiError
from notaus.api.guardrails import GateConflict
from notaus.api.http import field, idempotent, idempotent_by, json_body, reply
from notaus.api.i18n import CHECKLIST
from notaus.api.metrics import render_metrics
from notaus.api.openapi import spec
from notaus.api.outcomes import outcome_body
from notaus.api.security import identify, require, services
from notaus.api.status_view import ServiceViewCache, build_status, isolations_view
from notaus.controller.checklists import ITEMS, provider_contact
from notaus.controller.engine import Engine
from notaus.policies.schema import Policy
from notaus.policies.signing import MAX_BUNDLE_BYTES

v1 = Blueprint("v1", __name__, url_prefix="/api/v1")
ops = Blueprint("ops", __name__)

SERVICE_CACHE = "notaus.service_view"
#: the largest journal sequence number SQLite can hold (a larger ?after= is a 400, not an overflow)
MAX_SEQ = 2**63 - 1


def _caller_actor() -> str:
    caller = identify()
    assert caller is not None  # guarded by @require
    return f"{caller.role}:{caller.name}"


def _service_cache() -> ServiceViewCache:
    cache: ServiceViewCache | None = current_app.extensions.get(SERVICE_CACHE)
    if cache is None:
        cache = current_app.extensions.setdefault(SERVICE_CACHE, ServiceViewCache())
    return cache


def _invalidate() -> None:
    """After a state change every poller must see it at once (engine status and service view)."""
    services().invalidate_status()
    _service_cache().invalidate()


def _op_reply(result: Any) -> tuple[Response, int]:
    _invalidate()
    body = result.to_dict()
    return reply(*outcome_body(body, result.outcome, result.message or _first_device_message(body)))


def _first_device_message(body: dict[str, Any]) -> str:
    for dev in body.get("devices") or []:
        if dev.get("message"):
            return str(dev["message"])
    return ""


# ----------------------------------------------------------------------------------- read side
@v1.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())


@v1.get("/whoami")
@require("status")
def whoami() -> tuple[Response, int]:
    caller = identify()
    assert caller is not None
    perms = permissions_of(caller.role)
    return reply({"name": caller.name, "role": caller.role, "via": caller.via, "permissions": perms})


@v1.get("/status")
@require("status")
def status() -> tuple[Response, int]:
    svc = services()
    if svc.observer is not None:   # the service's one observer: devices and service view of its last round
        obs = svc.observer.latest()
        return reply(build_status(svc.observer.document(obs), svc.gate, svc.engine.policy, obs.extras.get("service")))
    service = _service_cache().get(svc.engine, svc.scheduler, float(svc.config["status_cache_seconds"]))
    return reply(build_status(svc.status(), svc.gate, svc.engine.policy, service))


@v1.get("/isolations")
@require("status")
def list_isolations() -> tuple[Response, int]:
    svc = services()
    return reply({"isolations": isolations_view(svc.status(), svc.gate), "pending": svc.gate.pending()})


@v1.get("/journal")
@require("journal")
def journal() -> tuple[Response, int]:
    try:
        after = int(request.args.get("after", "0"))
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise ApiError(400, "'after' and 'limit' must be whole numbers.") from None
    if not 0 <= after <= MAX_SEQ or not 1 <= limit <= 1000:
        raise ApiError(400, f"'after' must be between 0 and {MAX_SEQ} and 'limit' between 1 and 1000.")
    kind = request.args.get("kind") or None
    if kind is not None and len(kind) > 100:
        raise ApiError(400, "'kind' is too long.")
    engine = services().engine
    entries = [e.to_dict() for e in engine.journal.entries(after=after, limit=limit, kind=kind)]
    head = engine.journal.head()
    return reply({"entries": entries, "next_after": entries[-1]["seq"] if entries else after,
                  "head": head.seq if head else 0})


@v1.get("/detections")
@require("status")
def detections() -> tuple[Response, int]:
    from notaus.controller.detection.store import store_for_engine

    try:
        limit = int(request.args.get("limit", "200"))
    except ValueError:
        raise ApiError(400, "'limit' must be a whole number.") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "'limit' must be between 1 and 1000.")
    items = store_for_engine(services().engine).all(limit=limit)
    return reply({"detections": [d.to_dict() for d in items]})


@v1.get("/approvals")
@require("approve")
def approvals() -> tuple[Response, int]:
    return reply({"pending": services().gate.pending()})


@v1.get("/checklist")
@require("checklist")
def checklist_state() -> tuple[Response, int]:
    return reply({"items": _checklist_state(), "checklists": _all_checklists()})


def _checklist_state() -> list[dict[str, Any]]:
    ticks = {t["id"]: t for t in _all_ticks()}    # this incident's ticks only (api.checklist_scope)
    provider = provider_contact(services().engine.policy)
    return [{"id": key, "de": ITEMS[key].text("de", provider), "en": ITEMS[key].text("en", provider),
             **ticks.get(key, {"done": False, "ts": None, "actor": None})} for key in CHECKLIST]


def _all_checklists() -> list[dict[str, Any]]:
    from notaus.controller.checklists import checklist_state

    ticks = {item["id"]: item for item in _all_ticks()}
    lang = "en" if request.args.get("lang") == "en" else "de"
    return checklist_state(ticks, lang, provider_contact(services().engine.policy))


def _all_ticks() -> list[dict[str, Any]]:
    """The last tick per item *of this incident*: a new incident starts with an empty checklist."""
    from notaus.api.checklist_scope import ticks_after

    journal = services().engine.journal
    last: dict[str, dict[str, Any]] = {}
    after, incident = ticks_after(services().engine)
    while True:
        batch = journal.entries(after=after, limit=1000, kind="checklist.tick")
        for e in batch:
            if incident is not None and e.data.get("incident") not in (None, incident):
                continue
            last[str(e.data.get("item", ""))] = {"id": e.data.get("item", ""), "done": bool(e.data.get("done")),
                                                 "ts": e.ts, "actor": e.actor, "note": e.data.get("note", "")}
        if len(batch) < 1000:
            break
        after = batch[-1].seq
    return list(last.values())


# ----------------------------------------------------------------------------------- write side
@v1.post("/panic")
@require("panic")
@idempotent
def panic() -> tuple[Response, int]:
    body = json_body()
    engine = services().engine
    profile = field(body, "profile", str, default="full", choices=tuple(engine.policy.profiles))
    confirm = field(body, "confirm", bool, default=False)
    if not confirm:
        try:
            plan = engine.plan_panic(profile)
        except ValueError as exc:   # e.g. keep-phones on a router that cannot block single machines
            raise ApiError(409, str(exc)) from None
        pd = plan.to_dict()
        has_phones = any(h.role == "phone" for h in engine.policy.hosts) or any(
            w.code == "phones" for w in plan.warnings)
        raise ApiError(
            428, "Nothing happened yet. Read the warnings, then send the same request with \"confirm\": true.",
            extra={"profile": profile, "plan": pd, "warnings": pd.get("warnings", []),
                   "keep_phones_available": bool(has_phones and _profile_possible(engine, "keep-phones"))})
    result = engine.panic(profile, actor=_caller_actor())
    return _op_reply(result)


def _profile_possible(engine: Engine, profile: str) -> bool:
    if profile not in engine.policy.profiles:
        return False
    try:
        engine.plan_panic(profile)
    except ValueError:
        return False
    return True


@v1.post("/restore")
@require("restore")
@idempotent
def restore() -> tuple[Response, int]:
    body = json_body()
    reason = field(body, "reason", str, required=True)
    stage = field(body, "stage", str, default="all", choices=("wan", "hosts", "all"))
    result = services().engine.restore(actor=_caller_actor(), reason=reason, stage=stage)
    return _op_reply(result)


@v1.post("/isolations")
@require("isolate")
@idempotent
def isolate() -> tuple[Response, int]:
    body = json_body()
    host = field(body, "host", str, required=True, max_len=200)
    reason = field(body, "reason", str, default="")
    source = field(body, "source", str, default="")
    evidence = field(body, "evidence", dict, default=None)
    caller = identify()
    assert caller is not None
    svc = services()
    if is_agent(caller.role):
        decision = svc.gate.request(host, agent=caller.name, reason=reason, source=source or caller.name,
                                    evidence=evidence)
        _invalidate()
        return reply(*outcome_body(decision.to_dict(), decision.decision, decision.detail))
    result = svc.engine.isolate(host, actor=_caller_actor(), reason=reason, source=source or "manual",
                                evidence=evidence)
    return _op_reply(result)


@v1.delete("/isolations/<path:host>")
@require("release")
@idempotent
def release(host: str) -> tuple[Response, int]:
    body = json_body()
    reason = field(body, "reason", str, default="") or request.args.get("reason", "")[:500]
    svc = services()
    result = svc.engine.release(host, actor=_caller_actor(), reason=reason)
    if result.outcome in ("done", "partial"):
        svc.gate.mark_released(host)
    return _op_reply(result)


@v1.post("/approvals/<req_id>")
@require("approve")
@idempotent
def decide(req_id: str) -> tuple[Response, int]:
    body = json_body()
    decision = field(body, "decision", str, required=True, choices=("approve", "reject"))
    reason = field(body, "reason", str, default="")
    svc = services()
    try:
        if decision == "approve":
            out = svc.gate.approve(req_id, actor=_caller_actor())
            _invalidate()
            return reply(*outcome_body(out.to_dict(), out.decision, out.detail))
        return reply({"decision": "rejected", "request": svc.gate.reject(req_id, actor=_caller_actor(),
                                                                         reason=reason)})
    except KeyError:
        raise ApiError(404, f"No agent request {req_id}. GET /api/v1/approvals lists the open ones.") from None
    except GateConflict as exc:
        raise ApiError(409, str(exc)) from None


@v1.post("/checklist/<item>")
@require("checklist")
@idempotent
def tick(item: str) -> tuple[Response, int]:
    """Any item of the guide's checklists (``controller.checklists``); same journal shape as the incident page."""
    if item not in ITEMS:
        raise ApiError(404, f"No checklist item '{item}'. Known: {', '.join(ITEMS)}.")
    body = json_body()
    done = field(body, "done", bool, default=True)
    note = field(body, "note", str, default="")
    text = ITEMS[item].text("de", provider_contact(services().engine.policy))   # what the tablet showed
    data: dict[str, Any] = {"item": item, "done": done, "text": text, "note": note}
    incident = _open_incident_id()
    if incident:
        data["incident"] = incident
    entry = services().engine.journal.append("checklist.tick", data, actor=_caller_actor())
    return reply({"item": item, "done": done, "seq": entry.seq, "ts": entry.ts})


def _open_incident_id() -> str | None:
    from notaus.controller.incident import IncidentManager

    current = IncidentManager.for_engine(services().engine).current()
    return current.id if current is not None else None


def _without_code(body: dict[str, Any]) -> dict[str, Any]:
    """What the idempotency store keeps of an enrolment: never the one-time code itself."""
    out = {k: v for k, v in body.items() if k != "url"}
    out["detail"] = "The one-time link was shown once and is not stored; create a new one if it was lost."
    return out


@v1.post("/kiosk/enrollments")
@require("kiosk")
@idempotent_by(lambda: request.get_data(cache=True), stored=_without_code)
def enroll_kiosk() -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", str, required=True, max_len=80)
    caller = identify()
    assert caller is not None
    code = services().tokens.create_enrollment(name, created_by=caller.name)
    services().engine.journal.append("kiosk.enrollment", {"name": name}, actor=_caller_actor())
    return reply({"name": name, "url": f"/kiosk/enroll?token={code}", "expires_minutes": 30}, 201)


# ----------------------------------------------------------------------------------- policy
@v1.before_request
def _allow_policy_bundles() -> None:
    """Signed bundles may be larger than the API's 64 KiB body limit (policies with many hosts)."""
    if request.method == "PUT" and request.path == "/api/v1/policy":
        request.max_content_length = MAX_BUNDLE_BYTES + 1024


def _policy_context() -> tuple[Any, Any, Any]:
    from notaus.policies.signing import load_public_keys
    from notaus.policies.store import PolicyStore
    from notaus.policies.update import provider_key_locations

    engine = services().engine
    state_dir = engine.state_dir
    return engine, PolicyStore(state_dir), load_public_keys(*provider_key_locations(state_dir))


@v1.put("/policy")
@require(POLICY_PERMISSION)
@idempotent
def put_policy() -> tuple[Response, int]:
    """Apply a signed bundle (the raw bytes ``notaus policy sign`` wrote); a refusal changes nothing."""
    from notaus.policies.update import apply_bundle

    engine, store, keys = _policy_context()
    svc = services()
    reloaded: list[bool] = []

    def applied(policy: Any, version: Any) -> None:
        sched = svc.scheduler
        if sched is None:
            return
        hook = sched.on_policy_applied
        if hook is not None:
            hook(policy, version)
            reloaded.append(True)
        sched.sync_jobs(policy)

    result = apply_bundle(request.get_data(cache=True), store=store, keys=keys, journal=engine.journal,
                          baseline=engine.policy, actor=_caller_actor(), source="api", on_applied=applied)
    body = result.to_dict()
    if result.ok:
        body["running_version"] = engine.policy.version
        body["restart_required"] = not reloaded and engine.policy.version != result.version
        if body["restart_required"]:
            body["message"] += (" Gilt für Geräte und Inventar nach dem Neustart des Dienstes "
                                "(systemctl restart notaus).")
        _invalidate()
    else:
        body["error"] = result.code
    return reply(body, result.http_status)


@v1.get("/policy")
@require(POLICY_PERMISSION)
def get_policy() -> tuple[Response, int]:
    """The policy in force: version, where it came from, and a summary without secrets."""
    from notaus.policies.loader import PolicyError
    from notaus.policies.update import current_policy

    engine, store, keys = _policy_context()
    applied = store.current()
    try:
        policy = current_policy(store, engine.policy) or engine.policy
        problem = None
    except PolicyError as exc:
        policy, problem = engine.policy, str(exc)
    return reply({
        "version": policy.version,
        "running_version": engine.policy.version,
        "restart_required": policy.version != engine.policy.version,
        "source": "applied" if applied is not None and problem is None else "installed",
        "applied": applied.to_dict() if applied else None,
        "rollback_to": [p.version for p in store.previous()],
        "high_water": store.high_water(),
        "pinned_keys": sorted(keys),
        "problem": problem,
        "summary": policy_summary(policy),
        "policy": masked_policy(policy),
    })


def masked_policy(policy: Policy) -> dict[str, Any]:
    """The whole document as ``notaus policy show`` prints it: secrets and URL credentials masked."""
    from notaus.policies.diff import masked

    doc: dict[str, Any] = masked(policy.model_dump(mode="json"))
    schedules = doc.get("schedules") or {}
    if schedules.get("policy_url"):
        schedules["policy_url"] = _mask_url(str(schedules["policy_url"]))
    return doc


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def policy_summary(policy: Policy) -> dict[str, Any]:
    """What a provider checks at a glance after an update; never a password."""
    provider, dpo = policy.contacts.it_provider, policy.contacts.data_protection_officer
    return {
        "practice": policy.practice,
        "devices": [{"name": d.name, "driver": d.driver, "address": d.address} for d in policy.devices],
        "hosts": len(policy.hosts),
        "protected": sorted(h.name for h in policy.hosts if policy.is_protected(h)),
        "profiles": sorted(policy.profiles),
        "guardrails": policy.guardrails.model_dump(mode="json"),
        "detection": {"isolate_score": policy.detection.isolate_score},
        "agents": sorted(policy.agents),
        "schedules": {"enforce_seconds": policy.schedules.enforce_seconds,
                      "health_minutes": policy.schedules.health_minutes,
                      "policy_pull": bool(policy.schedules.policy_url),
                      "drill_cron": policy.schedules.drill_cron},
        "contacts": {"it_provider": " ".join(x for x in (provider.name, provider.phone) if x),
                     "data_protection_officer": " ".join(x for x in (dpo.name, dpo.phone) if x)},
    }


# ----------------------------------------------------------------------------------- operations
@ops.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness of this process only (no device calls): the process answers and the journal opens."""
    head = services().engine.journal.head()
    return reply({"ok": True, "journal_head": head.seq if head else 0,
                  "time": datetime.now(UTC).isoformat()})


@ops.get("/metrics")
@require("metrics")
def metrics() -> Response:
    svc = services()
    return Response(render_metrics(svc), mimetype="text/plain", content_type="text/plain; version=0.0.4")
