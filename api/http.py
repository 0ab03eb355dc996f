"""Request plumbing shared by the v1 endpoints: JSON bodies, field checks, idempotent replies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, jsonify, request

from notaus.api.errors import ApiError
from notaus.api.idempotency import body_fingerprint
from notaus.api.security import identify, services

F = TypeVar("F", bound=Callable[..., Any])
IDEMPOTENCY_HEADER = "Idempotency-Key"


#: deepest nesting of objects/arrays accepted in a JSON body (ours need 3; the parser recurses per level)
MAX_JSON_DEPTH = 32
#: bodies of these media types are forms; the JSON endpoints refuse them instead of reading nothing
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")
#: control characters no text field may carry (tab, line feed and carriage return are text)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def json_depth(raw: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in ``raw`` outside strings, without parsing (so without recursion)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def reject_deep_json() -> None:
    """``before_request``: a JSON body nested deeper than :data:`MAX_JSON_DEPTH` is a 400, never a 500.

    Runs for JSON bodies (the policy bundle is checked by :func:`policies.signing.parse_bundle`, which
    may be larger than the body limit in force here).
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.mimetype != "application/json":
        return
    if request.method == "PUT" and request.path == "/api/v1/policy":
        return
    raw = request.get_data(cache=True)
    if raw and json_depth(raw) > MAX_JSON_DEPTH:
        raise ApiError(400, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.", error="bad_json")


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}``. 415 for other media types, 400 for bad JSON.

    A form-encoded body is refused with 415 (not silently read as ``{}``: a cookie-authenticated
    form post of ``done=false`` must not be journaled as the default ``done: true``).
    """
    if request.mimetype in FORM_TYPES and (request.content_length or request.form or request.files):
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json' "
                            "(form-encoded bodies are not accepted here).")
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ApiError(400, f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.", error="bad_json")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.", error="bad_json") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:    # "\ud800": valid JSON, but no text the journal or SQLite can store
        raise ApiError(400, "The body contains an invalid character (a lone UTF-16 surrogate).",
                       error="bad_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.", error="bad_json")
    return data


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = False,
          default: Any = None, choices: tuple[Any, ...] | None = None, max_len: int = 500) -> Any:
    """One checked field; 400 with a sentence naming the field if missing/wrong."""
    if name not in body or body[name] is None:
        if required:
            raise ApiError(400, f"Field '{name}' is required.", error="missing_field")
        return default
    value = body[name]
    if kind is bool and not isinstance(value, bool):
        raise ApiError(400, f"Field '{name}' must be true or false.", error="bad_field")
    if isinstance(value, bool) and kind is not bool and kind != (bool,):
        raise ApiError(400, f"Field '{name}' has the wrong type.", error="bad_field")
    if not isinstance(value, kind):
        raise ApiError(400, f"Field '{name}' has the wrong type.", error="bad_field")
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ApiError(400, f"Field '{name}' contains control characters (e.g. NUL); send plain text.",
                           error="bad_field")
        value = value.strip()
        if len(value) > max_len:
            raise ApiError(400, f"Field '{name}' is longer than {max_len} characters.", error="bad_field")
        if required and not value:
            raise ApiError(400, f"Field '{name}' must not be empty.", error="missing_field")
    if choices is not None and value not in choices:
        raise ApiError(400, f"Field '{name}' must be one of: {', '.join(map(str, choices))}.", error="bad_field")
    return value


def reply(body: dict[str, Any] | list[Any], status: int = 200) -> tuple[Response, int]:
    return jsonify(body), status


def idempotent_by(content: Callable[[], bytes],
                  stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Callable[[F], F]:
    """Honour ``Idempotency-Key``: replay the stored answer, 422 if the same key carries another request.

    ``content`` gives what identifies the request (the raw body for JSON; for a multipart upload the
    file's hash, name and caption, since every retry gets a new boundary). Must run *after*
    authentication (keys are scoped to the token name). Only answers below 500 and other than 429 are
    stored: a transient failure may be retried with the same key. ``stored`` turns the answer into
    what is kept (and replayed): a one-time secret in it is kept out of the store.
    """

    def decorate(fn: F) -> F:
        return cast(F, _idempotent_wrapper(fn, content, stored))

    return decorate


def _idempotent_wrapper(fn: Callable[..., Any], content: Callable[[], bytes],
                        stored_as: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return fn(*args, **kwargs)
        if len(key) > 200:
            raise ApiError(400, "Idempotency-Key is longer than 200 characters.")
        caller = identify()
        owner = caller.name if caller else "-"
        store = services().idempotency
        fp = body_fingerprint(request.method, request.path, content())
        stored = store.begin(owner, key, fp)
        if stored is not None:
            if stored.body_hash != fp:
                raise ApiError(422, "This Idempotency-Key was used for a different request; use a new key.",
                               error="idempotency_key_reused")
            if stored.status is None or stored.response is None:
                raise ApiError(409, "The first request with this Idempotency-Key is still running; retry shortly.",
                               error="idempotency_in_progress", headers={"Retry-After": "1"})
            resp = jsonify(stored.response)
            resp.status_code = stored.status
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        try:
            result = fn(*args, **kwargs)
        except ApiError as err:
            if err.status == 429:
                store.abandon(owner, key)
            else:
                store.finish(owner, key, err.status, err.body())
            raise
        except BaseException:
            store.abandon(owner, key)
            raise
        resp, status = _as_response(result)
        if status < 500 and status != 429 and resp.is_json:
            body = cast(dict[str, Any], resp.get_json())
            store.finish(owner, key, status, stored_as(body) if stored_as is not None else body)
        else:
            store.abandon(owner, key)
        return resp

    return wrapper


#: the usual case: the raw request body identifies the request
idempotent = idempotent_by(lambda: request.get_data(cache=True))


def _as_response(result: Any) -> tuple[Response, int]:
    if isinstance(result, tuple):
        resp, status = result[0], int(result[1])
        resp.status_code = status
        return resp, status
    return result, int(result.status_code)
