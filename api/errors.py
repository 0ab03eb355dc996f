"""One error shape for every failure: ``{"error": <machine code>, "detail": <sentence to act on>}``.

Clients (the staff UI, an EDR agent, a provider's script) branch on ``error`` and show ``detail``;
Flask's HTML error pages never reach them.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

#: default machine codes per status
CODES: dict[int, str] = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "unprocessable", 428: "confirmation_required", 429: "too_many_requests",
    500: "internal_error",
}


class ApiError(Exception):
    """Raise anywhere in a request to answer with the JSON error shape."""

    def __init__(self, status: int, detail: str, *, error: str | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error or CODES.get(status, "error")
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **self.extra}


def error_response(err: ApiError) -> Response:
    resp = jsonify(err.body())
    resp.status_code = err.status
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


_HTTP_DETAIL: dict[int, str] = {
    404: "No such endpoint or object. The API is described at /api/v1/openapi.json.",
    405: "This method is not allowed here. The API is described at /api/v1/openapi.json.",
    413: "The request body is too large (limit 64 KiB).",
}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, error_response)

    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        err = ApiError(status, _HTTP_DETAIL.get(status, exc.description or "request failed"))
        resp = error_response(err)
        if status == 405 and exc.get_response().headers.get("Allow"):
            resp.headers["Allow"] = exc.get_response().headers["Allow"]
        return resp

    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error: %s", exc)
        return error_response(ApiError(500, "Internal error in notaus; it is logged. Look at the status page "
                                            "to see what is in force, and tell the IT provider."))

    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
