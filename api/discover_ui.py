"""The provider's discovery page: run ``notaus discover`` from the browser and read the draft.

``GET /provider/discover`` shows the last draft (kept in ``<state_dir>/discovery/``) with every
suggestion's reasons; ``POST`` (CSRF form) asks the router and switches again. Only the ``policy``
permission (provider, admin) may see or run it: the draft lists every machine of the practice.
Nothing is applied: the provider copies the draft, reviews it and signs it as any policy.
Register with ``app.register_blueprint(bp)``.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request

from notaus.api.auth import allowed, kiosk_names
from notaus.api.errors import ApiError
from notaus.api.i18n import strings
from notaus.api.security import CSRF_COOKIE, Caller, check_csrf, identify, services

bp = Blueprint("discover_ui", __name__)
PERMISSION = "policy"


def _caller() -> Caller | None:
    try:
        caller = identify()
    except ApiError:
        return None
    return caller if caller is not None and allowed(caller.role, PERMISSION) else None


def _dir() -> Path:
    from notaus.policies.context import state_dir as resolve_state_dir

    svc = services()
    base = Path(svc.config["state_dir"]) if svc.config.get("state_dir") else \
        resolve_state_dir(svc.engine.policy, svc.engine.base_dir)
    return base / "discovery"


def _render(caller: Caller, **extra: Any) -> Response:
    from notaus.api.ui import _lang

    lang = _lang()
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    policy = services().engine.policy
    html = render_template("discover.html", t=strings(lang), lang=lang, other_lang="de" if lang == "en" else "en",
                           boot={"lang": lang, "t": strings(lang), "page": "discover"}, caller=caller,
                           practice=policy.practice, csrf=csrf, **extra)
    resp = make_response(html)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    if not request.cookies.get(CSRF_COOKIE):
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=request.is_secure, path="/")
    return resp


@bp.get("/provider/discover")
def page() -> Response:
    caller = _caller()
    if caller is None:
        return make_response(redirect(f"/login?next={request.path}", code=303))
    folder = _dir()
    result: dict[str, Any] | None = None
    draft = ""
    if (folder / "discovery.json").is_file():
        result = json.loads((folder / "discovery.json").read_text(encoding="utf-8"))
        draft = (folder / "draft.yaml").read_text(encoding="utf-8")
    return _render(caller, result=result, draft=draft, error=request.args.get("error", ""))


@bp.post("/provider/discover")
def run() -> Response:
    caller = _caller()
    if caller is None:
        raise ApiError(403, "Only the IT provider may run discovery.", error="forbidden")
    if caller.via == "cookie":  # as api.security.require: a bearer token cannot be forged by another site
        check_csrf()
    from notaus.controller.coverage import compare
    from notaus.controller.discover import discover, render_draft
    from notaus.drivers.base import DriverError

    engine = services().engine
    folder = _dir()
    try:
        result = discover(engine.policy, base_dir=engine.base_dir, kiosks=kiosk_names(folder.parent),
                          probe=request.form.get("probe") == "1")
    except (DriverError, ValueError) as exc:
        engine.journal.append("discover.failed", {"actor": caller.name, "error": str(exc)})
        return _render(caller, result=None, draft="", error=str(exc))
    folder.mkdir(parents=True, exist_ok=True)
    doc = result.to_dict()
    doc["findings"] = [f.to_dict() for f in compare(engine.policy, result.hosts)]
    from notaus.api.ui import _lang

    (folder / "draft.yaml").write_text(render_draft(result, engine.policy, lang=_lang()), encoding="utf-8")
    (folder / "discovery.json").write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    engine.journal.append("discover.run", {"actor": caller.name, "hosts": len(result.hosts),
                                           "probe": result.probed, "findings": len(doc["findings"])})
    return make_response(redirect("/provider/discover", code=303))
