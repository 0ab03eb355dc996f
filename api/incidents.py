"""Incident pages and endpoints: countdown, checklists, notes and photos from a phone, drafts, report.

Register with ``app.register_blueprint(bp)`` in ``create_app``. Registering also attaches the
incident manager to the engine's journal, so a panic, an isolation or a high-score detection opens
an incident at once. Pages are plain server-rendered forms (no script: the CSP stays strict); the
JSON endpoints under ``/api/v1/incidents`` serve the provider's scripts and the tablet and follow
the rules of :mod:`api.v1`: bearer token or session cookie (+ CSRF) via :func:`api.security.require`,
``{"error", "detail"}`` errors, ``Idempotency-Key`` on every state-changing call.

Who may do what (documented per operation in :mod:`api.openapi`):

* ``INCIDENT_PERMISSION`` (staff, provider, admin): read incidents and the report, open one by hand,
  add notes and photos, tick checklist items, edit the report drafts (the guide wants them
  "editable by staff": the practice knows how many patients and which data are affected).
* ``DEADLINE_PERMISSION`` (provider, admin): move the moment of knowledge and record that the
  authority report was filed. Both change the legal 72-hour clock; a stressed mis-tap must not
  silence an overdue deadline, so they stay with the people who answer for it.

A closed incident is a finished record: changes answer 409.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, make_response, redirect, render_template, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from notaus.api.auth import DEADLINE_PERMISSION, INCIDENT_PERMISSION, allowed
from notaus.api.errors import ApiError
from notaus.api.http import field, idempotent, idempotent_by, json_body, reply
from notaus.api.i18n import strings
from notaus.api.security import CSRF_COOKIE, Caller, check_csrf, identify, require, services
from notaus.api.ui_words import event_detail, event_word, incident_title, local_time, value_word
from notaus.controller.checklists import CHECKLISTS, ITEMS
from notaus.controller.incident import MAX_UPLOAD_BYTES, Incident, IncidentManager, StoredFile, parse_time, utcnow
from notaus.controller.report_export import PdfFailed, PdfUnavailable, export, render_html
from notaus.controller.reporting import SECTIONS, countdown, drafts, facts

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("incidents", __name__)

#: the exported report is a document, not an app: no script, no requests, no forms, not framable.
#: ``allow-same-origin`` only so its "way back" link keeps the SameSite=Strict session (an opaque
#: origin would land a kiosk on the sign-in page); without ``allow-scripts`` nothing can run in it.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'; sandbox allow-same-origin")
#: uploaded files are served as opaque downloads; this CSP keeps them inert even if a browser renders one.
FILE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: multipart overhead allowed on top of the photo itself (caption, boundaries, headers)
UPLOAD_OVERHEAD = 64 * 1024
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // (1024 * 1024)
LANGS = ("de", "en")
MAX_NOTE = 5000
MAX_DRAFT_SECTION = 20000
#: clock skew tolerated between a phone and this box before a time counts as "in the future"
CLOCK_SKEW = timedelta(minutes=5)
#: no incident of this service happened before this (year 1 would make the 72-hour clock meaningless)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@bp.record_once
def _attach(state: Any) -> None:
    svc = state.app.extensions.get("notaus")
    if svc is not None:
        IncidentManager.for_engine(svc.engine)


@bp.before_request
def _allow_uploads() -> None:
    """Photos from a phone are larger than the API's 64 KiB body limit."""
    if request.method == "POST" and request.path.endswith("/photos"):
        request.max_content_length = MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD


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


def _open_incident(mgr: IncidentManager, incident_id: str) -> Incident:
    """The incident a change is for; 409 once it is closed (its record and report are final)."""
    inc = _incident(mgr, incident_id)
    if not inc.is_open:
        raise ApiError(409, f"Incident '{inc.id}' is closed; open a new one (POST /api/v1/incidents) "
                            "for anything that happened since.", error="incident_closed")
    return inc


def _lang() -> str:
    from notaus.api.security import page_lang

    return page_lang()


def _api_lang() -> str:
    """``?lang=de|en`` if given (400 otherwise), else the page language (cookie, browser, policy)."""
    lang = request.args.get("lang")
    if lang is None or lang == "":
        return _lang()
    if lang not in LANGS:
        raise ApiError(400, "'lang' is de or en.")
    return lang


def _summary(mgr: IncidentManager, inc: Incident, lang: str) -> dict[str, Any]:
    f = facts(mgr, inc, lang)
    return {**inc.to_dict(), "countdown": f["countdown"], "hosts": f["hosts"], "actions": f["actions"],
            "detections": f["detections"], "warnings": f["warnings"], "notes": f["notes"], "evidence": f["evidence"],
            "checklists": f["checklists"], "journal_head": f["journal_head"],
            "drafts": drafts(mgr, f, services().engine.policy, lang),
            "timeline": [{"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "hash": e.hash,
                          "what": event_word(e.kind, lang), "detail": event_detail(e.kind, e.data, lang)}
                         for e in f["entries"]]}


def _with_countdown(inc: Incident) -> dict[str, Any]:
    return {**inc.to_dict(), "countdown": countdown(inc)}


def _guard(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a manager call; its ValueError (bad time, empty note) is the client's mistake: 400."""
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "not found") from None


# ------------------------------------------------------------------------------- photo upload
def _upload() -> tuple[FileStorage, bytes, str]:
    """The multipart photo, read once per request: 413 too large, 415 not multipart, 400 without a file."""
    cached = g.get("incident_upload")
    if cached is not None:
        return cast(tuple[FileStorage, bytes, str], cached)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Send the photo as multipart/form-data with the field 'file' "
                            "(curl -F file=@foto.jpg).")
    upload = request.files.get("file")
    caption = request.form.get("caption") or ""
    if upload is None:
        raise ApiError(400, "Send the photo as multipart/form-data field 'file'.", error="missing_field")
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, _too_large())
    if not data:
        raise ApiError(400, "The file is empty; choose the photo again.", error="bad_field")
    if len(caption) > 500:
        raise ApiError(400, "Field 'caption' is longer than 500 characters.", error="bad_field")
    g.incident_upload = (upload, data, caption.strip())
    return upload, data, caption.strip()


def _too_large() -> str:
    return (f"The photo is larger than {MAX_UPLOAD_MB} MB. Send it in a lower resolution "
            "(phone camera setting) or as several smaller pictures.")


@bp.errorhandler(RequestEntityTooLarge)
def _body_too_large(_exc: RequestEntityTooLarge) -> Response:
    """413 with advice that fits the endpoint (werkzeug raises it while reading the body)."""
    photo = request.path.endswith("/photos")
    if request.path.startswith("/incidents/"):           # a page form: back to the page with the message
        return _form_error(request.path.rsplit("/", 2)[-2], _too_large() if photo else _text_too_long())
    detail = _too_large() if photo else "The request body is too large (limit 64 KiB)."
    resp = jsonify(ApiError(413, detail).body())
    resp.status_code = 413
    return resp


def _text_too_long() -> str:
    return (f"The text is too long: a note may have at most {MAX_NOTE} characters. "
            "Split it into several notes.")


def _form_error(incident_id: str, message: str) -> Response:
    return make_response(redirect(f"/incidents/{quote(incident_id)}?error={quote(message[:200])}", code=303))


def _past_time(value: str, name: str) -> str:
    """An ISO time that is not in the future (a later moment of knowledge would stretch the deadline)."""
    try:
        when = parse_time(value)
    except ValueError as exc:
        raise ApiError(400, f"Field '{name}': {exc}.", error="bad_field") from None
    if when > utcnow() + CLOCK_SKEW:
        raise ApiError(400, f"Field '{name}' lies in the future; give the time it really happened "
                            "(e.g. 2024-05-03T08:15+02:00).", error="bad_field")
    if when < EARLIEST_TIME:
        raise ApiError(400, f"Field '{name}' lies before {EARLIEST_TIME.year}; give the time it really happened "
                            "(e.g. 2024-05-03T08:15+02:00).", error="bad_field")
    return when.isoformat()


def _upload_identity() -> bytes:
    """What identifies a photo upload across retries (each retry has a new multipart boundary)."""
    upload, data, caption = _upload()
    return json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "name": upload.filename or "",
                       "caption": caption}).encode()


_idempotent_upload = idempotent_by(_upload_identity)


# ----------------------------------------------------------------------------------- JSON API
@bp.get("/api/v1/incidents")
@require(INCIDENT_PERMISSION)
def list_incidents() -> tuple[Response, int]:
    mgr = _mgr()
    return reply({"incidents": [_with_countdown(i) for i in mgr.all()],
                  "current": (c.id if (c := mgr.current()) else None),
                  "followup_until": (f.isoformat() if (f := mgr.followup_until()) else None)})


@bp.post("/api/v1/incidents")
@require(INCIDENT_PERMISSION)
@idempotent
def open_incident() -> tuple[Response, int]:
    """Open one by hand; if one is open already that one is answered with 200 (one incident at a time)."""
    body = json_body()
    note = field(body, "note", str, default="", max_len=MAX_NOTE)
    knowledge_at = field(body, "knowledge_at", str, default=None, max_len=100)
    knowledge_at = _past_time(knowledge_at, "knowledge_at") if knowledge_at else None
    mgr = _mgr()
    existing = mgr.current()
    inc = _guard(mgr.open, actor=_actor(identify()), note=note, knowledge_at=knowledge_at)
    return reply(_with_countdown(inc), 200 if existing is not None else 201)


@bp.get("/api/v1/incidents/<incident_id>")
@require(INCIDENT_PERMISSION)
def show_incident(incident_id: str) -> tuple[Response, int]:
    lang = _api_lang()
    mgr = _mgr()
    return reply(_summary(mgr, _incident(mgr, incident_id), lang))


@bp.post("/api/v1/incidents/<incident_id>/notes")
@require(INCIDENT_PERMISSION)
@idempotent
def add_note(incident_id: str) -> tuple[Response, int]:
    text = field(json_body(), "text", str, required=True, max_len=MAX_NOTE)
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    e = _guard(mgr.add_note, inc.id, text, actor=_actor(identify()))
    return reply({"incident": inc.id, "seq": e.seq, "ts": e.ts}, 201)


@bp.post("/api/v1/incidents/<incident_id>/photos")
@require(INCIDENT_PERMISSION)
@_idempotent_upload
def add_photo(incident_id: str) -> tuple[Response, int]:
    upload, data, caption = _upload()
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    f: StoredFile = _guard(mgr.add_file, inc.id, upload.filename or "foto", data, actor=_actor(identify()),
                           caption=caption)
    return reply(f.to_dict(), 201)


@bp.post("/api/v1/incidents/<incident_id>/checklist/<item>")
@require(INCIDENT_PERMISSION)
@idempotent
def tick(incident_id: str, item: str) -> tuple[Response, int]:
    if item not in ITEMS:
        raise ApiError(404, f"No checklist item '{item}'. Known: {', '.join(ITEMS)}.")
    body = json_body()
    done = field(body, "done", bool, default=True)
    note = field(body, "note", str, default="")
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    e = _guard(mgr.tick, inc.id, item, actor=_actor(identify()), done=done, note=note)
    return reply({"incident": inc.id, "item": item, "done": done, "seq": e.seq, "ts": e.ts})


@bp.put("/api/v1/incidents/<incident_id>/drafts/<kind>")
@require(INCIDENT_PERMISSION)
@idempotent
def save_draft(incident_id: str, kind: str) -> tuple[Response, int]:
    if kind not in SECTIONS:
        raise ApiError(404, "Draft kind is 'authority' or 'patients'.")
    sections = field(json_body(), "sections", dict, required=True)
    known = {s[0] for s in SECTIONS[kind]}
    unknown = sorted(set(sections) - known)
    if unknown:
        raise ApiError(400, f"Unknown sections {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
                       error="bad_field")
    for key, value in sections.items():
        if not isinstance(value, str):
            raise ApiError(400, f"Section '{key}' must be text.", error="bad_field")
        if len(value) > MAX_DRAFT_SECTION:
            raise ApiError(400, f"Section '{key}' is longer than {MAX_DRAFT_SECTION} characters.", error="bad_field")
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    e = _guard(mgr.save_draft, inc.id, kind, dict(sections), actor=_actor(identify()))
    return reply({"incident": inc.id, "kind": kind, "seq": e.seq, "ts": e.ts})


@bp.post("/api/v1/incidents/<incident_id>/knowledge")
@require(DEADLINE_PERMISSION)
@idempotent
def set_knowledge(incident_id: str) -> tuple[Response, int]:
    body = json_body()
    when = _past_time(field(body, "knowledge_at", str, required=True, max_len=100), "knowledge_at")
    reason = field(body, "reason", str, default="")
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    inc = _guard(mgr.set_knowledge, inc.id, when, actor=_actor(identify()), reason=reason)
    return reply(_with_countdown(inc))


@bp.post("/api/v1/incidents/<incident_id>/reported")
@require(DEADLINE_PERMISSION)
@idempotent
def ack_reported(incident_id: str) -> tuple[Response, int]:
    body = json_body()
    reference = field(body, "reference", str, default="", max_len=200)
    at = field(body, "at", str, default=None, max_len=100)
    at = _past_time(at, "at") if at else None
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    inc = _guard(mgr.ack_reported, inc.id, actor=_actor(identify()), reference=reference, when=at)
    return reply(_with_countdown(inc))


@bp.get("/api/v1/incidents/<incident_id>/report")
@require(INCIDENT_PERMISSION)
def report(incident_id: str) -> Response:
    lang = _api_lang()
    fmt = request.args.get("format") or "html"
    if fmt not in ("html", "pdf"):
        raise ApiError(400, "'format' is html or pdf.")
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    if fmt == "pdf":
        with tempfile.TemporaryDirectory(prefix="notaus-pdf-") as tmp:
            try:
                out = export(mgr, inc, services().engine.policy, Path(tmp) / f"vorfall-{inc.id}.pdf", "pdf", lang)
            except (PdfUnavailable, PdfFailed) as exc:
                raise ApiError(503, f"{exc} The HTML report (format=html) works all the same.",
                               error="pdf_unavailable") from None
            data = out.read_bytes()
        resp = make_response(data)
        resp.headers["Content-Type"] = "application/pdf"
        resp.headers["Content-Disposition"] = f'attachment; filename="vorfall-{inc.id}.pdf"'
    else:
        html = render_html(mgr, inc, services().engine.policy, lang)
        if not request.args.get("download"):
            html = _with_way_back(html, inc.id, lang)
        resp = make_response(html)
        resp.headers["Content-Type"] = "text/html; charset=utf-8"
        if request.args.get("download"):
            resp.headers["Content-Disposition"] = f'attachment; filename="vorfall-{inc.id}.html"'
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    return resp


def _with_way_back(html: str, incident_id: str, lang: str) -> str:
    """A link back to the incident page at the top of the report seen in a browser (a kiosk has no
    tab bar or back button); not in the downloaded file or the PDF, hidden when printed."""
    label = "← Back to the incident" if lang == "en" else "← Zurück zum Vorfall"
    link = (f'<p class="way-back"><a href="/incidents/{quote(incident_id)}?lang={lang}" id="way-back">{label}</a></p>'
            '<style>@media print { .way-back { display: none } }</style>')
    match = re.search(r"<body[^>]*>", html)
    if match is None:
        return link + html
    return html[:match.end()] + link + html[match.end():]


@bp.get("/api/v1/incidents/<incident_id>/files/<sha256>")
@require(INCIDENT_PERMISSION)
def get_file(incident_id: str, sha256: str) -> Response:
    """An uploaded file, always as an opaque attachment (it came from a phone, not from us)."""
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    for f in mgr.files(inc.id):
        if f.sha256 == sha256.lower():
            resp = send_file(mgr.file_path(f), mimetype="application/octet-stream", as_attachment=True,
                             download_name=f.name)
            resp.headers["Content-Security-Policy"] = FILE_CSP
            return resp
    raise ApiError(404, "No such file in this incident; GET /api/v1/incidents/{id} lists its evidence.")


# ------------------------------------------------------------------------------------- pages
def _page_caller(permission: str) -> Caller | None:
    try:
        caller = identify()
    except ApiError:
        return None
    if caller is None or not allowed(caller.role, permission):
        return None
    return caller


def _render(template: str, caller: Caller, **extra: Any) -> Response:
    lang = _lang()
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    policy = services().engine.policy
    html = render_template(template, t=strings(lang), lang=lang, other_lang="de" if lang == "en" else "en",
                           boot={"lang": lang, "t": strings(lang), "page": "incident"}, caller=caller,
                           practice=policy.practice, csrf=csrf, checklist_defs=CHECKLISTS,
                           perms=sorted(p for p in ("policy",) if allowed(caller.role, p)),
                           local=local_time, word=lambda kind: event_word(kind, lang),
                           val=lambda value: value_word(value, lang),
                           title=lambda text: incident_title(text, lang), **extra)
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    if not request.cookies.get(CSRF_COOKIE):
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=request.is_secure, path="/")
    return resp


def _login_redirect() -> Response:
    return make_response(redirect(f"/login?next={request.path}", code=303))


@bp.get("/incidents")
def incidents_page() -> Response:
    caller = _page_caller(INCIDENT_PERMISSION)
    if caller is None:
        return _login_redirect()
    mgr = _mgr()
    return _render("incidents/list.html", caller, incidents=[(i, countdown(i)) for i in mgr.all()])


@bp.get("/incidents/<incident_id>")
def incident_page(incident_id: str) -> Response:
    caller = _page_caller(INCIDENT_PERMISSION)
    if caller is None:
        return _login_redirect()
    mgr = _mgr()
    inc = _incident(mgr, incident_id)
    lang = _lang()
    # the form shows and takes the box's wall clock *with* its offset: a bare "08:15" would be read as UTC
    knowledge_local = parse_time(inc.knowledge_at).astimezone().isoformat(timespec="minutes")
    return _render("incidents/detail.html", caller, inc=inc, s=_summary(mgr, inc, lang),
                   knowledge_local=knowledge_local, can_write=inc.is_open,
                   can_deadline=inc.is_open and allowed(caller.role, DEADLINE_PERMISSION),
                   error=request.args.get("error", ""), saved=SAVED.get(request.args.get("saved", ""), ("", ""))[
                       1 if lang == "en" else 0], saved_action=request.args.get("saved", ""),
                   saved_item=request.args.get("item", ""))


#: ?saved=<action> after a form post -> the confirmation shown (and focused) on the page
SAVED: dict[str, tuple[str, str]] = {
    "note": ("Notiz gespeichert.", "Note saved."), "photos": ("Foto gespeichert.", "Photo saved."),
    "tick": ("Abgehakt und dokumentiert.", "Ticked and recorded."),
    "draft-authority": ("Entwurf gespeichert.", "Draft saved."),
    "draft-patients": ("Entwurf gespeichert.", "Draft saved."),
    "knowledge": ("Zeitpunkt der Kenntnis gespeichert.", "Moment of knowledge saved."),
    "reported": ("Meldung als erstattet eingetragen.", "Report recorded as filed."),
    "close": ("Vorfall abgeschlossen.", "Incident closed."),
}
#: where the page comes back after a form post (the changed place, not the top)
ANCHOR: dict[str, str] = {"note": "notes", "photos": "notes", "knowledge": "deadline", "reported": "deadline",
                          "draft-authority": "draft-authority", "draft-patients": "draft-patients",
                          "close": "incident-title"}


#: form action -> permission it needs (the same split as the JSON endpoints)
FORM_ACTIONS: dict[str, str] = {"tick": INCIDENT_PERMISSION, "note": INCIDENT_PERMISSION,
                                "photos": INCIDENT_PERMISSION, "draft-authority": INCIDENT_PERMISSION,
                                "draft-patients": INCIDENT_PERMISSION, "knowledge": DEADLINE_PERMISSION,
                                "reported": DEADLINE_PERMISSION, "close": DEADLINE_PERMISSION}


@bp.post("/incidents/<incident_id>/<action>")
def incident_form(incident_id: str, action: str) -> Response:
    if action not in FORM_ACTIONS:
        raise ApiError(404, f"Unknown action '{action}'.")
    caller = _page_caller(INCIDENT_PERMISSION)
    if caller is None:
        raise ApiError(403, "Sign in with a staff or provider token to change an incident.")
    if not allowed(caller.role, FORM_ACTIONS[action]):
        raise ApiError(403, f"The role '{caller.role}' may not do this ({FORM_ACTIONS[action]}). "
                            "Ask the IT provider.")
    check_csrf()
    mgr = _mgr()
    inc = _open_incident(mgr, incident_id)
    actor = _actor(caller)
    form = request.form
    try:
        if action == "tick":
            mgr.tick(inc.id, form.get("item", ""), actor=actor, done=form.get("done", "1") == "1",
                     note=form.get("note", ""))
        elif action == "note":
            text = form.get("text", "")
            if len(text) > MAX_NOTE:
                raise ValueError(_text_too_long())
            mgr.add_note(inc.id, text, actor=actor)
        elif action == "photos":
            upload = request.files.get("file")
            if upload is None:
                raise ValueError("no file chosen")
            mgr.add_file(inc.id, upload.filename or "foto", upload.read(), actor=actor,
                         caption=form.get("caption", "")[:500])
        elif action in ("draft-authority", "draft-patients"):
            kind = action.split("-", 1)[1]
            mgr.save_draft(inc.id, kind, {s[0]: form.get(s[0], "") for s in SECTIONS[kind] if s[0] in form},
                           actor=actor)
        elif action == "knowledge":
            mgr.set_knowledge(inc.id, _past_time(form.get("knowledge_at", ""), "knowledge_at"), actor=actor,
                              reason=form.get("reason", "")[:500])
        elif action == "close":
            reason = form.get("reason", "").strip()[:500]
            if not reason or form.get("confirm") != "1":
                raise ValueError("Zum Abschließen einen Grund eintragen und bestätigen. / "
                                 "To close, give a reason and confirm.")
            mgr.close_incident(inc.id, actor=actor, reason=reason)
        else:
            if form.get("confirm") != "1":
                # one click must not stop the legal 72-hour clock: the box says what it means
                raise ValueError("Bitte bestätigen, dass die Meldung abgeschickt ist. / "
                                 "Please confirm that the report has been sent.")
            mgr.ack_reported(inc.id, actor=actor, reference=form.get("reference", "")[:200])
    except ValueError as exc:
        return _form_error(inc.id, str(exc))
    except ApiError as exc:
        if exc.status != 400:
            raise
        return _form_error(inc.id, exc.detail)
    if action == "tick":
        item = form.get("item", "")
        return make_response(redirect(f"/incidents/{inc.id}?saved=tick&item={quote(item)}#item-{quote(item)}",
                                      code=303))
    return make_response(redirect(f"/incidents/{inc.id}?saved={action}#{ANCHOR.get(action, action)}", code=303))
