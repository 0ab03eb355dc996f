"""Staff page of the detector's findings (``/detections``), server-rendered from the detection store.

Kept in its own blueprint and template so the staff UI's other pages evolve independently; the JSON
twin is ``GET /api/v1/detections``.
"""

from __future__ import annotations

from flask import Blueprint, Response

from notaus.api.incidents import _login_redirect, _page_caller, _render
from notaus.api.security import services

bp = Blueprint("detections_ui", __name__)


@bp.get("/detections")
def detections_page() -> Response:
    caller = _page_caller("status")
    if caller is None:
        return _login_redirect()
    from notaus.controller.detection.store import store_for_engine

    return _render("detections.html", caller, detections=store_for_engine(services().engine).all(limit=200))
