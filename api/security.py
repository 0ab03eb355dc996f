"""Who is calling, may they, and is a cookie-borne request really from our own page?

Bearer tokens (``Authorization: Bearer …``) are for scripts, agents and the provider; they are not
sent automatically by a browser and therefore need no CSRF protection. The session cookie (kiosk
tablet or a staff PC after sign-in) *is* sent automatically, so every state-changing request that
authenticates by cookie must carry the double-submit token (header ``X-CSRF-Token`` equal to the
``notaus_csrf`` cookie) and, if the browser sends one, an ``Origin`` of this very host.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, current_app, g, request

from notaus.api.auth import allowed, is_agent
from notaus.api.errors import ApiError

SESSION_COOKIE = "notaus_session"
CSRF_COOKIE = "notaus_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    via: str        # "bearer" | "cookie"


def services() -> Any:
    return current_app.extensions["notaus"]


def _client_key() -> str:
    return request.remote_addr or "unknown"


def identify() -> Caller | None:
    """The caller from bearer token or session cookie; raises 401/429 for a bad token."""
    if "caller" in g:
        return cast(Caller | None, g.caller)
    svc = services()
    header = request.headers.get("Authorization", "")
    token: str | None = None
    via = "bearer"
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "Use 'Authorization: Bearer <token>'. Ask the IT provider for a token.",
                           headers={"WWW-Authenticate": 'Bearer realm="notaus"'})
        token = value.strip()
    elif request.cookies.get(SESSION_COOKIE):
        token = request.cookies[SESSION_COOKIE]
        via = "cookie"
    if token is None:
        g.caller = None
        return None
    # a browser session (after sign-in or kiosk enrolment); a raw token in the cookie still works (older kiosks)
    found = svc.tokens.verify_session(token) if via == "cookie" else None
    if found is None:
        found = svc.tokens.verify(token)
    if found is None:
        wait = svc.auth_fail_limiter.hit(_client_key())
        if wait is not None:
            raise ApiError(429, "Too many wrong tokens from this address; wait a minute.",
                           headers={"Retry-After": str(int(wait) + 1)})
        raise ApiError(401, "Unknown or revoked token. Ask the IT provider for a new one "
                            "(notaus token create --role staff --name …).",
                       headers={"WWW-Authenticate": 'Bearer realm="notaus", error="invalid_token"'})
    g.caller = Caller(found[0], found[1], via)
    return cast(Caller, g.caller)


def require(permission: str) -> Callable[[F], F]:
    """Decorator: 401 without a valid token, 403 if the role lacks ``permission``, CSRF for cookies."""

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = identify()
            if caller is None:
                raise ApiError(401, "Sign in or send 'Authorization: Bearer <token>'.",
                               headers={"WWW-Authenticate": 'Bearer realm="notaus"'})
            if not allowed(caller.role, permission):
                raise ApiError(403, f"The role '{caller.role}' may not do this ({permission}). "
                                    "Ask the IT provider.")
            if caller.via == "cookie" and request.method not in SAFE_METHODS:
                check_csrf()
            if is_agent(caller.role):
                wait = services().agent_limiter.hit(caller.name)
                if wait is not None:
                    raise ApiError(429, "Too many requests from this agent; retry later.",
                                   headers={"Retry-After": str(int(wait) + 1)})
            return fn(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return deco


def check_csrf() -> None:
    """Double-submit token plus same-origin check for cookie-authenticated posts."""
    origin = request.headers.get("Origin")
    # "null" is what Chromium sends for form posts under our own Referrer-Policy: no-referrer, so
    # it cannot be refused; the double-submit token below is the check that always applies.
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise ApiError(403, "Request from another web site refused (Origin mismatch).", error="csrf")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER) or (request.form.get("csrf", "") if request.form else "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise ApiError(403, "Missing or wrong CSRF token; reload the page and try again.", error="csrf")


def ensure_csrf_cookie(resp: Response) -> Response:
    """Give every page view a CSRF cookie the page's script can read and echo back."""
    if not request.cookies.get(CSRF_COOKIE):
        resp.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=False, samesite="Strict",
                        secure=request.is_secure, path="/")
    return resp


def security_headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        resp.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith("/api/") or request.path in ("/metrics", "/healthz"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


#: the cookie that remembers a person's choice of language on this device
LANG_COOKIE = "notaus_lang"


def page_lang() -> str:
    """The page's language: ``?lang=``, then the cookie, then the browser, then the policy's default."""
    from notaus.api.i18n import pick_lang

    policy_default = services().engine.policy.controller.language
    return pick_lang(request.args.get("lang"), request.cookies.get(LANG_COOKIE),
                     request.accept_languages, policy_default)
