"""The staff web UI: the big button, the status page, sign-in and kiosk enrolment.

Pages are server-rendered shells; ``static/app.js`` talks to API v1 with the session cookie and the
CSRF header. No inline script or style (the CSP forbids it): page data travels in a
``<script type="application/json">`` block, which browsers never execute.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for

from notaus.api.auth import is_agent, permissions_of
from notaus.api.errors import ApiError
from notaus.api.i18n import checklist, strings
from notaus.api.security import (
    CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    Caller,
    check_csrf,
    ensure_csrf_cookie,
    identify,
    page_lang,
    services,
)
from notaus.api.ui_words import staff_facts
from notaus.controller.checklists import provider_contact

ui = Blueprint("ui", __name__)
TEN_YEARS = 10 * 365 * 24 * 3600


def _lang() -> str:
    return page_lang()


def _caller() -> Caller | None:
    try:
        return identify()
    except ApiError:
        return None


def _page(template: str, caller: Caller | None, **extra: Any) -> Response:
    lang = _lang()
    t = strings(lang)
    policy = services().engine.policy
    provider_text = provider_contact(policy)   # as the tick journals it (controller.checklists)
    perms = permissions_of(caller.role if caller else None)
    boot = {"lang": lang, "t": t, "checklist": checklist(lang, provider_text), "permissions": perms,
            "role": caller.role if caller else None, "practice": policy.practice,
            **(staff_facts(policy) if caller else {})}
    other = "de" if lang == "en" else "en"
    html = render_template(template, t=t, lang=lang, other_lang=other, boot=boot, caller=caller,
                           perms=perms, practice=policy.practice, **extra)
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    if request.args.get("lang") in ("de", "en"):
        resp.set_cookie(LANG_COOKIE, lang, max_age=TEN_YEARS, samesite="Strict", secure=request.is_secure)
    return ensure_csrf_cookie(resp)


def _set_session(resp: Response, token: str) -> None:
    resp.set_cookie(SESSION_COOKIE, token, max_age=TEN_YEARS, httponly=True, samesite="Strict",
                    secure=request.is_secure, path="/")


@ui.get("/")
def index() -> Response:
    caller = _caller()
    if caller is None or is_agent(caller.role):
        return _page("login.html", None, error=None, next_url="/")
    return _page("index.html", caller)


@ui.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)


@ui.get("/status")
def status_page() -> Response:
    caller = _caller()
    if caller is None or is_agent(caller.role):
        return _page("login.html", None, error=None, next_url="/status")
    return _page("status.html", caller)


@ui.get("/policy")
def policy_page() -> Response:
    """The policy in force, read only (provider/admin): what the box will do, without a secret."""
    from notaus.api.auth import allowed
    from notaus.api.v1 import masked_policy, policy_summary

    caller = _caller()
    if caller is None or caller.role == "agent":
        return _page("login.html", None, error=None, next_url="/")
    if not allowed(caller.role, "policy"):
        raise ApiError(403, "Only the IT provider may view the policy.")


    policy = services().engine.policy
    return _page("policy.html", caller, summary=policy_summary(policy), version=policy.version,
                 document=json.dumps(masked_policy(policy), indent=2, ensure_ascii=False))


@ui.get("/login")
def login_form() -> Response:
    return _page("login.html", None, error=None, next_url=_safe_next(request.args.get("next")))


def _safe_next(value: str | None) -> str:
    return value if value in ("/", "/status") else "/"


@ui.post("/login")
def login() -> Response:
    check_csrf()
    token = (request.form.get("token") or "").strip()
    found = services().tokens.verify(token)
    next_url = _safe_next(request.form.get("next"))
    if found is None or found[1] == "agent":
        wait = services().auth_fail_limiter.hit(request.remote_addr or "unknown")
        if wait is not None:
            raise ApiError(429, "Too many wrong tokens from this address; wait a minute.")
        resp = _page("login.html", None, error=strings(_lang())["login_bad"], next_url=next_url)
        resp.status_code = 401
        return resp
    session = services().tokens.create_session(token)
    if session is None:                                   # revoked in between
        raise ApiError(401, "Unknown or revoked token.")
    services().engine.journal.append("ui.login", {"name": found[0], "role": found[1]}, actor=f"{found[1]}:{found[0]}")
    resp = make_response(redirect(next_url, code=303))
    _set_session(resp, session)
    return resp


@ui.post("/logout")
def logout() -> Response:
    """Ends the session on the server too: the cookie's secret is deleted, a copy of it no longer works."""
    check_csrf()
    caller = _caller()
    if services().tokens.end_session(request.cookies.get(SESSION_COOKIE)) and caller is not None:
        services().engine.journal.append("ui.logout", {"name": caller.name, "role": caller.role},
                                         actor=f"{caller.role}:{caller.name}")
    resp = make_response(redirect(url_for("ui.login_form"), code=303))
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@ui.get("/kiosk/enroll")
def enroll_form() -> Response:
    """Opening the link only shows a button: link previews and prefetchers must not consume it."""
    code = request.args.get("token", "")
    name = services().tokens.peek_enrollment(code) if code else None
    resp = _page("enroll.html", None, code=code if name else "", kiosk_name=name,
                 error=None if name else strings(_lang())["enroll_bad"])
    if not name:
        resp.status_code = 404
    return resp


@ui.post("/kiosk/enroll")
def enroll() -> Response:
    check_csrf()
    redeemed = services().tokens.redeem_enrollment(request.form.get("token", ""))
    if redeemed is None:
        resp = _page("enroll.html", None, code="", kiosk_name=None, error=strings(_lang())["enroll_bad"])
        resp.status_code = 404
        return resp
    name, token = redeemed
    session = services().tokens.create_session(token)
    services().engine.journal.append("kiosk.enrolled", {"name": name}, actor=f"staff:{name}")
    resp = make_response(redirect("/", code=303))
    _set_session(resp, session or token)
    # a fresh CSRF secret for the new identity
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp
