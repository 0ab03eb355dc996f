"""Incident pages and endpoints: countdown, checklists, notes and photos from a phone, drafts, report.

Register with ``app.register_blueprint(bp)`` in ``create_app``. Registering also attaches the
incident manager to the engine's journal, so a panic, an isolation or a high-score detection opens
an incident at once. Pages are plain server-rendered forms (no script: the CSP stays strict); the
JSON endpoints under ``/api/v1/incidents`` serve the provider's scripts and the tablet.

Permissions: reading needs ``journal``, writing needs ``checklist`` (staff, provider, admin).
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, send_file

from api.auth import allowed
from api.errors import ApiError
from api.http import field, json_body, reply
from api.i18n import strings
from api.security import CSRF_COOKIE, Caller, check_csrf, identify, require, services
from controller.checklists import CHECKLISTS, ITEMS
from controller.incident import MAX_UPLOAD_BYTES, Incident, IncidentManager
from controller.report_export import ChromiumMissing, PdfFailed, export, render_html
from controller.reporting import SECTIONS, countdown, drafts, facts

bp = Blueprint("incidents", __name__)
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


@bp.record_once
def _attach(state: Any) -> None:
    svc = state.app.extensions.get("notaus")
    if svc is not None:
        IncidentManager.for_engine(svc.engine)


@bp.before_request
def _allow_uploads() -> None:
    """Photos from a phone are larger than the API's 64 KiB body limit."""
    if request.method == "POST" and request.path.endswith("/photos"):
        request.max_content_length = MAX_UPLOAD_BYTES + 64 * 1024


def _mgr() -> IncidentManager:
    mgr = IncidentManager.for_engine(services().engine)
    mgr.sync()
    return mgr


def _actor(caller: Caller | None) -> str:
    return f"{caller.role}:{caller.name}" if caller else "unknown"


def _incident(mgr: IncidentManager, incident_id: str) -> Incident:
    try:
        if incident_id == "current":
            inc = mgr.current()
            if inc is None:
                raise KeyError(incident_id)
            return inc
        return mgr.get(incident_id)
    except KeyError:
        raise ApiError(404, f"No incident '{incident_id}'. GET /api/v1/incidents lists them.") from None


def _lang() -> str:
    from api.ui import _lang as ui_lang

    return ui_lang()


def _summary(mgr: IncidentManager, inc: Incident, lang: str) -> dict[str, Any]:
    f = facts(mgr, inc, lang)
    return {**inc.to_dict(), "countdown": f["countdown"], "hosts": f["hosts"], "actions": f["actions"],
            "detections": f["detections"], "warnings": f["warnings"], "notes": f["notes"], "evidence": f["evidence"],
            "checklists": f["checklists"], "journal_head": f["journal_head"],
            "drafts": drafts(mgr, f, services().engine.policy, lang),
            "timeline": [{"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "hash": e.hash}
                         for e in f["entries"]]}


def _guard(mgr: IncidentManager, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "not found") from None


# ----------------------------------------------------------------------------------- JSON API
@bp.get("/api/v1/incidents")
@require("journal")
def list_incidents() -> tuple[Response, int]:
    mgr = _mgr()
    return reply({"incidents": [{**i.to_dict(), "countdown": countdown(i)} for i in mgr.all()],
                  "current": (c.id if (c := mgr.current()) else None),
                  "followup_until": (f.isoformat() if (f := mgr.followup_until()) else None)})


@bp.post("/api/v1/incidents")
@require("checklist")
def open_incident() -> tuple[Response, int]:
    body = json_body()
    mgr = _mgr()
    inc = _guard(mgr, mgr.open, actor=_actor(identify()), note=field(body, "note", str, default=""),
                 knowledge_at=field(body, "knowledge_at", str, default=None))
    return reply({**inc.to_dict(), "countdown": countdown(inc)}, 201)


@bp.get("/api/v1/incidents/<incident_id>")
@require("journal")
def show_incident(incident_id: str) -> tuple[Response, int]:
    mgr = _mgr()
    return reply(_summary(mgr, _incident(mgr, incident_id), request.args.get("lang") or _lang()))


@bp.post("/api/v1/incidents/<incident_id>/notes")
@require("checklist")
def add_note(incident_id: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    text = field(json_body(), "text", str, required=True, max_len=5000)
    e = _guard(mgr, mgr.add_note, inc.id, text, actor=_actor(identify()))
    return reply({"incident": inc.id, "seq": e.seq, "ts": e.ts}, 201)


@bp.post("/api/v1/incidents/<incident_id>/photos")
@require("checklist")
def add_photo(incident_id: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "Send the photo as multipart/form-data field 'file'.")
    f = _guard(mgr, mgr.add_file, inc.id, upload.filename or "foto", upload.read(), actor=_actor(identify()),
               caption=(request.form.get("caption") or "")[:500])
    return reply(f.to_dict(), 201)


@bp.post("/api/v1/incidents/<incident_id>/checklist/<item>")
@require("checklist")
def tick(incident_id: str, item: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    if item not in ITEMS:
        raise ApiError(404, f"No checklist item '{item}'. Known: {', '.join(ITEMS)}.")
    body = json_body()
    done = field(body, "done", bool, default=True)
    e = mgr.tick(inc.id, item, actor=_actor(identify()), done=done, note=field(body, "note", str, default=""))
    return reply({"incident": inc.id, "item": item, "done": done, "seq": e.seq, "ts": e.ts})


@bp.put("/api/v1/incidents/<incident_id>/drafts/<kind>")
@require("checklist")
def save_draft(incident_id: str, kind: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    if kind not in SECTIONS:
        raise ApiError(404, "Draft kind is 'authority' or 'patients'.")
    sections = field(json_body(), "sections", dict, required=True)
    allowed_keys = {s[0] for s in SECTIONS[kind]}
    unknown = sorted(set(sections) - allowed_keys)
    if unknown:
        raise ApiError(400, f"Unknown sections {', '.join(unknown)}; known: {', '.join(sorted(allowed_keys))}.")
    e = _guard(mgr, mgr.save_draft, inc.id, kind, {k: str(v) for k, v in sections.items()},
               actor=_actor(identify()))
    return reply({"incident": inc.id, "kind": kind, "seq": e.seq})


@bp.post("/api/v1/incidents/<incident_id>/knowledge")
@require("checklist")
def set_knowledge(incident_id: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    body = json_body()
    inc = _guard(mgr, mgr.set_knowledge, inc.id, field(body, "knowledge_at", str, required=True),
                 actor=_actor(identify()), reason=field(body, "reason", str, default=""))
    return reply({**inc.to_dict(), "countdown": countdown(inc)})


@bp.post("/api/v1/incidents/<incident_id>/reported")
@require("checklist")
def ack_reported(incident_id: str) -> tuple[Response, int]:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    body = json_body()
    inc = _guard(mgr, mgr.ack_reported, inc.id, actor=_actor(identify()),
                 reference=field(body, "reference", str, default=""), when=field(body, "at", str, default=None))
    return reply({**inc.to_dict(), "countdown": countdown(inc)})


@bp.get("/api/v1/incidents/<incident_id>/report")
@require("journal")
def report(incident_id: str) -> Response:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    lang = request.args.get("lang") or _lang()
    fmt = request.args.get("format", "html")
    if fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="notaus-pdf-") as tmp:
            try:
                out = export(mgr, inc, services().engine.policy, Path(tmp) / f"vorfall-{inc.id}.pdf", "pdf", lang)
            except (ChromiumMissing, PdfFailed) as exc:
                raise ApiError(503, str(exc)) from None
            data = out.read_bytes()
        resp = make_response(data)
        resp.headers["Content-Type"] = "application/pdf"
        resp.headers["Content-Disposition"] = f'attachment; filename="vorfall-{inc.id}.pdf"'
        return resp
    if fmt != "html":
        raise ApiError(400, "format is html or pdf")
    resp = make_response(render_html(mgr, inc, services().engine.policy, lang))
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    if request.args.get("download"):
        resp.headers["Content-Disposition"] = f'attachment; filename="vorfall-{inc.id}.html"'
    return resp


@bp.get("/api/v1/incidents/<incident_id>/files/<sha256>")
@require("journal")
def get_file(incident_id: str, sha256: str) -> Response:
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    for f in mgr.files(inc.id):
        if f.sha256 == sha256:
            return send_file(mgr.file_path(f), as_attachment=True, download_name=f.name)
    raise ApiError(404, "No such file in this incident.")


# ------------------------------------------------------------------------------------- pages
def _page_caller(permission: str) -> Caller | None:
    try:
        caller = identify()
    except ApiError:
        return None
    if caller is None or caller.role == "agent" or not allowed(caller.role, permission):
        return None
    return caller


def _render(template: str, caller: Caller, **extra: Any) -> Response:
    lang = _lang()
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    policy = services().engine.policy
    html = render_template(template, t=strings(lang), lang=lang, other_lang="de" if lang == "en" else "en",
                           boot={"lang": lang, "t": strings(lang), "page": "incident"}, caller=caller,
                           practice=policy.practice, csrf=csrf, checklist_defs=CHECKLISTS, **extra)
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    if not request.cookies.get(CSRF_COOKIE):
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=request.is_secure, path="/")
    return resp


def _login_redirect() -> Response:
    return make_response(redirect(f"/login?next={request.path}", code=303))


@bp.get("/incidents")
def incidents_page() -> Response:
    caller = _page_caller("journal")
    if caller is None:
        return _login_redirect()
    mgr = _mgr()
    return _render("incidents/list.html", caller, incidents=[(i, countdown(i)) for i in mgr.all()])


@bp.get("/incidents/<incident_id>")
def incident_page(incident_id: str) -> Response:
    caller = _page_caller("journal")
    if caller is None:
        return _login_redirect()
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    lang = _lang()
    return _render("incidents/detail.html", caller, inc=inc, s=_summary(mgr, inc, lang),
                   can_write=allowed(caller.role, "checklist"), error=request.args.get("error", ""))


@bp.post("/incidents/<incident_id>/<action>")
def incident_form(incident_id: str, action: str) -> Response:
    caller = _page_caller("checklist")
    if caller is None:
        raise ApiError(403, "Sign in with a staff or provider token to change an incident.")
    check_csrf()
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    actor = _actor(caller)
    form = request.form
    try:
        if action == "tick":
            mgr.tick(inc.id, form.get("item", ""), actor=actor, done=form.get("done", "1") == "1",
                     note=form.get("note", ""))
        elif action == "note":
            mgr.add_note(inc.id, form.get("text", ""), actor=actor)
        elif action == "photos":
            upload = request.files.get("file")
            if upload is None:
                raise ValueError("no file chosen")
            mgr.add_file(inc.id, upload.filename or "foto", upload.read(), actor=actor,
                         caption=form.get("caption", ""))
        elif action in ("draft-authority", "draft-patients"):
            kind = action.split("-", 1)[1]
            mgr.save_draft(inc.id, kind, {s[0]: form.get(s[0], "") for s in SECTIONS[kind] if s[0] in form},
                           actor=actor)
        elif action == "knowledge":
            mgr.set_knowledge(inc.id, form.get("knowledge_at", ""), actor=actor, reason=form.get("reason", ""))
        elif action == "reported":
            mgr.ack_reported(inc.id, actor=actor, reference=form.get("reference", ""))
        else:
            raise ApiError(404, f"Unknown action '{action}'.")
    except ValueError as exc:
        return make_response(redirect(f"/incidents/{inc.id}?error={str(exc)[:200]}", code=303))
    return make_response(redirect(f"/incidents/{inc.id}#{action}", code=303))
