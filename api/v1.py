"""API v1 endpoints (blueprint ``v1``) and the operational ones (``/metrics``, ``/healthz``).

Status codes for operations, documented in the OpenAPI spec:

* ``POST /api/v1/panic`` without ``"confirm": true`` -> 428 with the plan and what stops working;
  with it -> 200 when every device step is verified, **207** when the outcome is ``partial`` or
  ``failed`` (the body's ``outcome`` says which; per-device results are always in ``devices``),
  409 when the engine refused.
* isolate/release/restore follow the same rule (200 done, 207 partial/failed, 409 refused).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.auth import PERMISSIONS
from api.errors import ApiError
from api.guardrails import GateConflict
from api.http import field, idempotent, json_body, reply
from api.i18n import CHECKLIST
from api.metrics import render_metrics
from api.openapi import spec
from api.security import identify, require, services
from api.status_view import build_status, isolations_view

v1 = Blueprint("v1", __name__, url_prefix="/api/v1")
ops = Blueprint("ops", __name__)

OUTCOME_STATUS = {"done": 200, "partial": 207, "failed": 207, "refused": 409}


def _caller_actor() -> str:
    caller = identify()
    assert caller is not None  # guarded by @require
    return f"{caller.role}:{caller.name}"


def _op_reply(result: Any) -> tuple[Response, int]:
    services().invalidate_status()
    body = result.to_dict()
    status = OUTCOME_STATUS.get(result.outcome, 207)
    if status == 409:
        body = {"error": "refused", "detail": result.message or _first_device_message(body) or
                "The engine refused this operation.", **body}
    return reply(body, status)


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
    perms = sorted(p for p, roles in PERMISSIONS.items() if caller.role in roles)
    return reply({"name": caller.name, "role": caller.role, "via": caller.via, "permissions": perms})


@v1.get("/status")
@require("status")
def status() -> tuple[Response, int]:
    svc = services()
    return reply(build_status(svc.status(), svc.gate, svc.engine.policy))


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
    if after < 0 or not 1 <= limit <= 1000:
        raise ApiError(400, "'after' must be >= 0 and 'limit' between 1 and 1000.")
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
    engine = services().engine
    getter = getattr(engine, "detections", None)
    items = list(getter()) if callable(getter) else []
    return reply({"detections": [d if isinstance(d, dict) else getattr(d, "to_dict", lambda d=d: d)()
                                 for d in items]})


@v1.get("/approvals")
@require("approve")
def approvals() -> tuple[Response, int]:
    return reply({"pending": services().gate.pending()})


@v1.get("/checklist")
@require("checklist")
def checklist_state() -> tuple[Response, int]:
    return reply({"items": _checklist_state()})


def _checklist_state() -> list[dict[str, Any]]:
    journal = services().engine.journal
    ticks: dict[str, dict[str, Any]] = {}
    after = 0
    while True:
        batch = journal.entries(after=after, limit=1000, kind="checklist.tick")
        for e in batch:
            ticks[e.data.get("item", "")] = {"done": bool(e.data.get("done")), "ts": e.ts, "actor": e.actor}
        if len(batch) < 1000:
            break
        after = batch[-1].seq
    return [{"id": key, "de": de, "en": en, **ticks.get(key, {"done": False, "ts": None, "actor": None})}
            for key, (de, en) in CHECKLIST.items()]


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
        plan = engine.plan_panic(profile)
        pd = plan.to_dict()
        has_phones = any(h.role == "phone" for h in engine.policy.hosts) or any(
            w.code == "phones" for w in plan.warnings)
        raise ApiError(
            428, "Nothing happened yet. Read the warnings, then send the same request with \"confirm\": true.",
            extra={"profile": profile, "plan": pd, "warnings": pd.get("warnings", []),
                   "keep_phones_available": bool(has_phones and "keep-phones" in engine.policy.profiles)})
    result = engine.panic(profile, actor=_caller_actor())
    return _op_reply(result)


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
    if caller.role == "agent":
        decision = svc.gate.request(host, agent=caller.name, reason=reason, source=source or caller.name,
                                    evidence=evidence)
        svc.invalidate_status()
        body_out = decision.to_dict()
        code = {"isolated": 200, "duplicate": 200, "queued": 202, "partial": 207, "failed": 207,
                "refused": 409}[decision.decision]
        if code == 409:
            body_out = {"error": "refused", "detail": decision.detail, **body_out}
        return reply(body_out, code)
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
            svc.invalidate_status()
            code = {"isolated": 200, "partial": 207, "failed": 207, "refused": 409}.get(out.decision, 200)
            data = out.to_dict()
            if code == 409:
                data = {"error": "refused", "detail": out.detail, **data}
            return reply(data, code)
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
    if item not in CHECKLIST:
        raise ApiError(404, f"No checklist item '{item}'. Known: {', '.join(CHECKLIST)}.")
    body = json_body()
    done = field(body, "done", bool, default=True)
    note = field(body, "note", str, default="")
    entry = services().engine.journal.append(
        "checklist.tick", {"item": item, "done": done, "text": CHECKLIST[item][0], "note": note},
        actor=_caller_actor())
    return reply({"item": item, "done": done, "seq": entry.seq, "ts": entry.ts})


@v1.post("/kiosk/enrollments")
@require("kiosk")
@idempotent
def enroll_kiosk() -> tuple[Response, int]:
    body = json_body()
    name = field(body, "name", str, required=True, max_len=80)
    caller = identify()
    assert caller is not None
    code = services().tokens.create_enrollment(name, created_by=caller.name)
    services().engine.journal.append("kiosk.enrollment", {"name": name}, actor=_caller_actor())
    return reply({"name": name, "url": f"/kiosk/enroll?token={code}", "expires_minutes": 30}, 201)


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
