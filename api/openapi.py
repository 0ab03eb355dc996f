"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``.

Kept as code next to the endpoints so a change to one is seen with the other; Schemathesis checks
in ``tests/api`` that real responses match it.
"""

from __future__ import annotations

from typing import Any

from api.auth import PERMISSIONS

JSON = "application/json"

#: who may read and replace the policy: the provider's roles. ``api.auth`` may name it ``policy``;
#: until then it is the same role set as ``restore`` (provider, admin).
POLICY_PERMISSION = "policy" if "policy" in PERMISSIONS else "restore"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _err(desc: str) -> dict[str, Any]:
    return {"description": desc, "content": {JSON: {"schema": _ref("Error")}}}


def _ok(desc: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": desc, "content": {JSON: {"schema": schema}}}


AUTH_ERRORS = {"401": _err("no or unknown token"), "403": _err("role lacks the permission, or CSRF check failed"),
               "429": _err("too many requests (agent rate limit or wrong tokens)")}
WRITE_ERRORS = {**AUTH_ERRORS, "400": _err("bad JSON or field"), "409": _err("refused, or a conflicting state"),
                "413": _err("body too large"), "415": _err("body is not application/json"),
                "422": _err("Idempotency-Key reused with a different body")}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "Retry-safe key; a replay returns the stored answer (header Idempotent-Replayed).",
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


def _roles(permission: str) -> str:
    return "Roles: " + ", ".join(sorted(PERMISSIONS[permission])) + "."


def _op_responses() -> dict[str, Any]:
    return {"200": _ok("done: every step verified on the device", _ref("OperationResult")),
            "207": _ok("partial or failed: see outcome and devices", _ref("OperationResult")),
            "409": _ok("refused by a guard (reason in detail)", _ref("Refused")),
            **{k: v for k, v in WRITE_ERRORS.items() if k != "409"}}


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "detail"],
              "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}},
    "Warning": {"type": "object", "required": ["code", "de", "en"],
                "properties": {"code": {"type": "string"}, "de": {"type": "string"}, "en": {"type": "string"}}},
    "DeviceResult": {"type": "object", "required": ["device", "action", "outcome"], "properties": {
        "device": {"type": "string"}, "action": {"type": "string"},
        "outcome": {"enum": ["done", "failed", "unverified", "not_supported", "skipped"]},
        "message": {"type": "string"}, "target": {"type": "string"}, "host": {"type": "string"},
        "detail": {"type": "string"}, "error_kind": {"type": "string"}, "seconds": {"type": "number"}}},
    "OperationResult": {"type": "object", "required": ["operation", "outcome", "devices", "exit_code"], "properties": {
        "operation": {"type": "string"}, "outcome": {"enum": ["done", "partial", "failed", "refused"]},
        "devices": {"type": "array", "items": _ref("DeviceResult")},
        "warnings": {"type": "array", "items": _ref("Warning")},
        "message": {"type": "string"}, "seconds": {"type": "number"}, "data": {"type": "object"},
        "exit_code": {"type": "integer"}}},
    "Refused": {"allOf": [_ref("Error"), {"type": "object", "properties": {
        "outcome": {"const": "refused"}}}]},
    "Plan": {"type": "object", "required": ["profile", "steps", "warnings"], "properties": {
        "profile": {"type": "string"}, "steps": {"type": "array", "items": {"type": "object"}},
        "warnings": {"type": "array", "items": _ref("Warning")},
        "notes": {"type": "array", "items": {"type": "string"}}}},
    "ConfirmationRequired": {"allOf": [_ref("Error"), {"type": "object",
                                                       "required": ["plan", "warnings", "profile"], "properties": {
        "profile": {"type": "string"}, "plan": _ref("Plan"), "warnings": {"type": "array", "items": _ref("Warning")},
        "keep_phones_available": {"type": "boolean"}}}]},
    "Device": {"type": "object", "required": ["name", "reachable"], "properties": {
        "name": {"type": "string"}, "driver": {"type": "string"}, "reachable": {"type": "boolean"},
        "wan": {"type": "string"}, "wlan": {"type": "string"},
        "blocked_hosts": {"type": "array", "items": {"type": "string"}},
        "ports_down": {"type": "array", "items": {"type": "string"}}, "error": {"type": "string"}}},
    "Isolation": {"type": "object", "required": ["host"], "properties": {
        "host": {"type": "string"}, "ip": {"type": ["string", "null"]}, "mac": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
        "since": {"type": ["string", "null"]}, "verified": {"type": "boolean"},
        "methods": {"type": "array", "items": {"type": "string"}},
        "auto_release_at": {"type": ["string", "null"]}}},
    "AgentRequest": {"type": "object", "required": ["id", "host", "agent", "status", "created"], "properties": {
        "id": {"type": "string"}, "host": {"type": "string"}, "agent": {"type": "string"},
        "reason": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
        "evidence": {"type": ["object", "null"]}, "created": {"type": "string"},
        "status": {"enum": ["queued", "isolating", "isolated", "approved", "rejected", "refused", "failed",
                            "released"]},
        "automatic": {"type": "boolean"}, "release_due": {"type": ["string", "null"]}}},
    "GateDecision": {"type": "object", "required": ["decision", "request_id", "host", "detail"], "properties": {
        "decision": {"enum": ["isolated", "partial", "failed", "queued", "duplicate", "refused"]},
        "request_id": {"type": "string"}, "host": {"type": "string"}, "detail": {"type": "string"},
        "result": {"type": ["object", "null"]}, "auto_release_at": {"type": ["string", "null"]},
        "existing": {"type": ["object", "null"]}}},
    "Status": {"type": "object", "required": ["state", "state_code", "contained", "devices", "isolations",
                                              "pending_approvals"], "properties": {
        "state": {"enum": ["verbunden", "getrennt", "teilweise"]},
        "state_code": {"enum": ["connected", "disconnected", "partial", "unknown"]},
        "contained": {"type": "boolean"}, "containment": {"type": ["object", "null"]},
        "devices": {"type": "array", "items": _ref("Device")},
        "isolations": {"type": "array", "items": _ref("Isolation")},
        "pending_approvals": {"type": "array", "items": _ref("AgentRequest")},
        "drift": {"type": "array", "items": {"type": "object"}},
        "service": _ref("Service"),
        "journal_head": {"type": ["string", "null"]}, "generated": {"type": "string"}}},
    "JournalEntry": {"type": "object", "required": ["seq", "ts", "kind", "actor", "data", "prev_hash", "hash"],
                     "properties": {"seq": {"type": "integer"}, "ts": {"type": "string"}, "kind": {"type": "string"},
                                    "actor": {"type": "string"}, "data": {"type": "object"},
                                    "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
    "HealthWarning": {"type": "object", "required": ["device", "kind", "message", "title_de", "title_en",
                                                     "todo_de", "todo_en"], "properties": {
        "device": {"type": "string"}, "kind": {"type": "string"}, "message": {"type": "string"},
        "title_de": {"type": "string"}, "title_en": {"type": "string"},
        "todo_de": {"type": "string"}, "todo_en": {"type": "string"}}},
    "DriftEvent": {"type": "object", "required": ["at", "what", "reapplied", "text_de", "text_en"], "properties": {
        "at": {"type": "string"}, "seq": {"type": "integer"}, "device": {"type": ["string", "null"]},
        "what": {"type": "string"}, "expected": {"type": ["string", "null"]}, "observed": {"type": ["string", "null"]},
        "reapplied": {"type": "string"}, "text_de": {"type": "string"}, "text_en": {"type": "string"}}},
    "Countdown": {"type": "object", "required": ["deadline", "seconds_left", "overdue", "reported", "text_de",
                                                 "text_en"], "properties": {
        "knowledge_at": {"type": "string"}, "deadline": {"type": "string"}, "seconds_left": {"type": "integer"},
        "overdue": {"type": "boolean"}, "reported": {"type": "boolean"}, "reported_at": {"type": ["string", "null"]},
        "text_de": {"type": "string"}, "text_en": {"type": "string"}}},
    "Service": {"type": "object", "required": ["scheduler", "health", "drifts", "drill", "incident"], "properties": {
        "scheduler": {"type": "object", "required": ["present", "running"], "properties": {
            "present": {"type": "boolean"}, "running": {"type": "boolean"}, "updated": {"type": ["string", "null"]}}},
        "health": {"type": "object", "required": ["ok", "warnings"], "properties": {
            "ok": {"type": ["boolean", "null"]}, "checked_at": {"type": ["string", "null"]},
            "warnings": {"type": "array", "items": _ref("HealthWarning")}}},
        "drifts": {"type": "array", "items": _ref("DriftEvent")},
        "drift_total": {"type": "integer"},
        "drill": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["until", "seconds_left"], "properties": {
            "since": {"type": ["string", "null"]}, "until": {"type": "string"}, "seconds_left": {"type": "integer"},
            "profile": {"type": ["string", "null"]}, "text_de": {"type": "string"}, "text_en": {"type": "string"}}}]},
        "incident": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["id", "url", "countdown"],
                                                  "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "trigger": {"type": "string"},
            "url": {"type": "string"}, "countdown": _ref("Countdown")}}]},
        "job_errors": {"type": "array", "items": {"type": "object", "required": ["job", "message"]}}}},
    "PolicyApplyResult": {"type": "object", "required": ["ok", "code", "message", "detail", "version"],
                          "properties": {
        "ok": {"type": "boolean"}, "code": {"type": "string"}, "message": {"type": "string"},
        "detail": {"type": "string"}, "error": {"type": "string"}, "version": {"type": ["integer", "null"]},
        "previous_version": {"type": ["integer", "null"]}, "running_version": {"type": "integer"},
        "restart_required": {"type": "boolean"},
        "changes_de": {"type": "array", "items": {"type": "string"}},
        "changes_en": {"type": "array", "items": {"type": "string"}}}},
    "PolicyInfo": {"type": "object", "required": ["version", "running_version", "source", "summary", "policy"],
                   "properties": {
        "version": {"type": "integer"}, "running_version": {"type": "integer"},
        "restart_required": {"type": "boolean"}, "source": {"enum": ["applied", "installed"]},
        "applied": {"type": ["object", "null"]}, "rollback_to": {"type": "array", "items": {"type": "integer"}},
        "high_water": {"type": "integer"}, "pinned_keys": {"type": "array", "items": {"type": "string"}},
        "problem": {"type": ["string", "null"]}, "summary": {"type": "object"},
        "policy": {"type": "object", "description": "the whole document; password, community, auth_key and "
                                                    "priv_key values are \"***\""}}},
    "ChecklistItem": {"type": "object", "required": ["id", "de", "en", "done"], "properties": {
        "id": {"type": "string"}, "de": {"type": "string"}, "en": {"type": "string"}, "done": {"type": "boolean"},
        "ts": {"type": ["string", "null"]}, "actor": {"type": ["string", "null"]}}},
}


def spec() -> dict[str, Any]:
    from controller.checklists import ITEMS

    sec: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "notaus API", "version": "1.0.0", "description": (
            "Emergency stop for a practice network. Operations answer 200 when every device step is "
            "verified, 207 when the outcome is partial or failed (see `outcome`), 409 when refused. "
            "Errors are `{\"error\", \"detail\"}`. Every state-changing call accepts `Idempotency-Key`. "
            "Browsers authenticate with the session cookie and must echo the `notaus_csrf` cookie in "
            "`X-CSRF-Token`; bearer-token calls need no CSRF token.")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "security": sec,
        "paths": {
            "/api/v1/openapi.json": {"get": {"summary": "this document", "security": [],
                                             "responses": {"200": _ok("OpenAPI 3.1", {"type": "object"})}}},
            "/api/v1/whoami": {"get": {"summary": "the caller's name, role and permissions. " + _roles("status"),
                                       "responses": {"200": _ok("caller", {"type": "object", "required": [
                                           "name", "role", "permissions"]}), **AUTH_ERRORS}}},
            "/api/v1/status": {"get": {"summary": "connected / disconnected / partial, devices, isolations, queue. "
                                                  + _roles("status"),
                                       "responses": {"200": _ok("status", _ref("Status")), **AUTH_ERRORS}}},
            "/api/v1/panic": {"post": {
                "summary": "cut the practice off the internet. " + _roles("panic"),
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": False, "content": {JSON: {"schema": {
                    "type": "object", "properties": {"profile": {"enum": ["full", "keep-phones"]},
                                                     "confirm": {"type": "boolean"}}}}}},
                "responses": {**_op_responses(),
                              "428": _ok("not confirmed: the plan and what stops working",
                                         _ref("ConfirmationRequired"))}}},
            "/api/v1/restore": {"post": {
                "summary": "staged restore: wan, hosts or all. " + _roles("restore"),
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object", "required": ["reason"], "properties": {
                        "reason": {"type": "string", "minLength": 1, "maxLength": 500},
                        "stage": {"enum": ["wan", "hosts", "all"]}}}}}},
                "responses": _op_responses()}},
            "/api/v1/isolations": {
                "get": {"summary": "isolated machines and queued agent requests. " + _roles("status"),
                        "responses": {"200": _ok("isolations", {"type": "object", "required": ["isolations", "pending"],
                                                                "properties": {
                                                                    "isolations": {"type": "array",
                                                                                   "items": _ref("Isolation")},
                                                                    "pending": {"type": "array",
                                                                                "items": _ref("AgentRequest")}}}),
                                      **AUTH_ERRORS}},
                "post": {"summary": ("isolate a machine. Agents go through the guardrails: 200 isolated or "
                                     "duplicate, 202 queued for approval, 409 refused. " + _roles("isolate")),
                         "parameters": [IDEMPOTENCY],
                         "requestBody": {"required": True, "content": {JSON: {"schema": {
                             "type": "object", "required": ["host"], "properties": {
                                 "host": {"type": "string", "minLength": 1, "maxLength": 200},
                                 "reason": {"type": "string", "maxLength": 500},
                                 "source": {"type": "string", "maxLength": 500},
                                 "evidence": {"type": "object"}}}}}},
                         "responses": {**_op_responses(),
                                       "200": _ok("isolated (or duplicate for agents)",
                                                  {"oneOf": [_ref("OperationResult"), _ref("GateDecision")]}),
                                       "202": _ok("agent request queued for approval", _ref("GateDecision")),
                                       "207": _ok("partial or failed",
                                                  {"oneOf": [_ref("OperationResult"), _ref("GateDecision")]}),
                                       "409": _ok("refused", {"type": "object", "required": ["error", "detail"]})}}},
            "/api/v1/isolations/{host}": {"delete": {
                "summary": "release an isolated machine. " + _roles("release"),
                "parameters": [{"name": "host", "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                               {"name": "reason", "in": "query", "required": False,
                                "schema": {"type": "string", "maxLength": 500}}, IDEMPOTENCY],
                "responses": _op_responses()}},
            "/api/v1/approvals": {"get": {"summary": "agent requests waiting for a person. " + _roles("approve"),
                                          "responses": {"200": _ok("queue", {
                                              "type": "object", "required": ["pending"], "properties": {
                                                  "pending": {"type": "array", "items": _ref("AgentRequest")}}}),
                                              **AUTH_ERRORS}}},
            "/api/v1/approvals/{id}": {"post": {
                "summary": "approve (isolate now) or reject a queued agent request. " + _roles("approve"),
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 64}}, IDEMPOTENCY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object", "required": ["decision"], "properties": {
                        "decision": {"enum": ["approve", "reject"]},
                        "reason": {"type": "string", "maxLength": 500}}}}}},
                "responses": {**WRITE_ERRORS, "404": _err("no such request"),
                              "200": _ok("decided", {"type": "object"}),
                              "207": _ok("approved but isolation incomplete", _ref("GateDecision")),
                              "409": _ok("already decided, or refused", {"type": "object",
                                                                          "required": ["error", "detail"]})}}},
            "/api/v1/journal": {"get": {
                "summary": "journal entries, oldest first, paged with after/limit. " + _roles("journal"),
                "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                               {"name": "kind", "in": "query", "schema": {"type": "string", "maxLength": 100}}],
                "responses": {"200": _ok("page", {"type": "object", "required": ["entries", "next_after", "head"],
                                                  "properties": {"entries": {"type": "array",
                                                                             "items": _ref("JournalEntry")},
                                                                 "next_after": {"type": "integer"},
                                                                 "head": {"type": "integer"}}}),
                              "400": _err("bad paging parameter"), **AUTH_ERRORS}}},
            "/api/v1/detections": {"get": {"summary": "beaconing detections ([] if detection is off). "
                                                      + _roles("status"),
                                           "responses": {"200": _ok("detections", {
                                               "type": "object", "required": ["detections"],
                                               "properties": {"detections": {"type": "array"}}}), **AUTH_ERRORS}}},
            "/api/v1/checklist": {"get": {
                "summary": ("the staff tablet's immediate measures (items) and every checklist of the guide "
                            "(checklists), with ticks. " + _roles("checklist")),
                "parameters": [{"name": "lang", "in": "query", "schema": {"enum": ["de", "en"]}}],
                "responses": {"200": _ok("items", {
                    "type": "object", "required": ["items", "checklists"], "properties": {
                        "items": {"type": "array", "items": _ref("ChecklistItem")},
                        "checklists": {"type": "array", "items": {
                            "type": "object", "required": ["id", "title", "items", "done", "total"]}}}}),
                    **AUTH_ERRORS}}},
            "/api/v1/checklist/{item}": {"post": {
                "summary": "tick (or untick) an item; journaled as checklist.tick. " + _roles("checklist"),
                "parameters": [{"name": "item", "in": "path", "required": True,
                                "schema": {"enum": list(ITEMS)}}, IDEMPOTENCY],
                "requestBody": {"required": False, "content": {JSON: {"schema": {
                    "type": "object", "properties": {"done": {"type": "boolean"},
                                                     "note": {"type": "string", "maxLength": 500}}}}}},
                "responses": {"200": _ok("journaled", {"type": "object", "required": ["item", "done", "seq"]}),
                              "404": _err("unknown item"), **WRITE_ERRORS}}},
            "/api/v1/policy": {
                "get": {"summary": ("the policy in force: version, origin, rollback targets and a summary; "
                                    "secrets masked. " + _roles(POLICY_PERMISSION)),
                        "responses": {"200": _ok("policy", _ref("PolicyInfo")), **AUTH_ERRORS}},
                "put": {"summary": ("apply a signed policy bundle (the JSON file `notaus policy sign` writes, sent "
                                    "as is). Verified against the pinned provider keys; the version must be higher "
                                    "than every version applied before. A refusal changes nothing and is "
                                    "journaled. " + _roles(POLICY_PERMISSION)),
                        "parameters": [IDEMPOTENCY],
                        "requestBody": {"required": True, "content": {JSON: {"schema": {
                            "type": "object", "required": ["format", "version", "created", "key_id", "policy",
                                                           "signature"],
                            "properties": {"format": {"const": "notaus-policy-bundle/1"},
                                           "version": {"type": "integer", "minimum": 0},
                                           "created": {"type": "string"}, "key_id": {"type": "string"},
                                           "policy": {"type": "string"}, "signature": {"type": "string"}}}}}},
                        "responses": {
                            "200": _ok("applied", _ref("PolicyApplyResult")),
                            "400": _ok("not a bundle (bad_format), or a bad Idempotency-Key",
                                       {"anyOf": [_ref("PolicyApplyResult"), _ref("Error")]}),
                            "403": _ok("no pinned key, unknown key or bad signature; or the role may not",
                                       {"anyOf": [_ref("PolicyApplyResult"), _ref("Error")]}),
                            "409": _ok("replay or downgrade", {"anyOf": [_ref("PolicyApplyResult"), _ref("Error")]}),
                            "422": _ok("version mismatch, invalid policy, state_dir change; or Idempotency-Key "
                                       "reused", {"anyOf": [_ref("PolicyApplyResult"), _ref("Error")]}),
                            "500": _ok("could not store the new version; the old one stays in force",
                                       _ref("PolicyApplyResult")),
                            **{k: v for k, v in WRITE_ERRORS.items() if k in ("401", "413", "429")}}}},
            "/api/v1/kiosk/enrollments": {"post": {
                "summary": "one-time link that turns a tablet into the staff button. " + _roles("kiosk"),
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 80}}}}}},
                "responses": {"201": _ok("link", {"type": "object", "required": ["name", "url"]}),
                              **WRITE_ERRORS}}},
            "/healthz": {"get": {"summary": "process liveness (no device calls)", "security": [],
                                 "responses": {"200": _ok("alive", {"type": "object", "required": ["ok"]})}}},
            "/metrics": {"get": {"summary": "Prometheus text format. " + _roles("metrics"),
                                 "responses": {"200": {"description": "metrics",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}},
                                               **AUTH_ERRORS}}},
        },
    }
