"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``.

Kept as code next to the endpoints so a change to one is seen with the other; Schemathesis checks
in ``tests/api`` that real responses match it.
"""

from __future__ import annotations

from typing import Any

from notaus.api.auth import DEADLINE_PERMISSION, INCIDENT_PERMISSION, PERMISSIONS, POLICY_PERMISSION
from notaus.api.models import component_schemas

JSON = "application/json"

__all__ = ["DEADLINE_PERMISSION", "INCIDENT_PERMISSION", "POLICY_PERMISSION", "spec"]


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


#: hand-written components; those of api.models (status pieces, operation results, request bodies)
#: are generated from their pydantic models and added below
SCHEMAS: dict[str, Any] = {
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
        "state": {"enum": ["verbunden", "getrennt", "teilweise", "unbekannt"]},
        "state_code": {"enum": ["connected", "disconnected", "partial", "unknown"]},
        "contained": {"type": "boolean"}, "containment": {"type": ["object", "null"]},
        "devices": {"type": "array", "items": _ref("Device")},
        "isolations": {"type": "array", "items": _ref("Isolation")},
        "pending_approvals": {"type": "array", "items": _ref("AgentRequest")},
        "drift": {"type": "array", "items": {"type": "object"}},
        "service": _ref("Service"), "observation": _ref("Observation"),
        # the staff page's state tile, from the same facts (see api.status_view.state_tile)
        "tile": {"type": "object", "required": ["code", "verified", "isolated"], "properties": {
            "code": {"enum": ["online", "cut", "blocked", "partial", "unknown"]},
            "since": {"type": ["string", "null"]}, "profile": {"type": ["string", "null"]},
            "verified": {"type": "boolean"}, "isolated": {"type": "integer"},
            "kept_roles": {"type": "array", "items": {"type": "string"}}}},
        "contacts": {"type": "object"},
        "journal_head": {"type": ["string", "null"]}, "generated": {"type": "string"},
        "attention": {"type": "array", "items": {"type": "object"}}}},
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

INCIDENT_SCHEMAS: dict[str, Any] = {
    "Incident": {"type": "object", "required": ["id", "seq_start", "opened_at", "knowledge_at", "trigger", "status",
                                                "countdown"], "properties": {
        "id": {"type": "string"}, "seq_start": {"type": "integer"}, "seq_end": {"type": ["integer", "null"]},
        "opened_at": {"type": "string"}, "knowledge_at": {"type": "string"},
        "trigger": {"enum": ["panic", "isolation", "detection", "manual"]},
        "trigger_seq": {"type": ["integer", "null"]}, "status": {"enum": ["open", "closed"]},
        "title": {"type": "string"}, "reported_at": {"type": ["string", "null"]},
        "report_reference": {"type": ["string", "null"]}, "closed_at": {"type": ["string", "null"]},
        "countdown": _ref("Countdown")}},
    "IncidentList": {"type": "object", "required": ["incidents", "current", "followup_until"], "properties": {
        "incidents": {"type": "array", "items": _ref("Incident")},
        "current": {"type": ["string", "null"], "description": "id of the open incident"},
        "followup_until": {"type": ["string", "null"],
                           "description": "detection stays more sensitive until then (guide: follow-up)"}}},
    "Draft": {"type": "object", "required": ["sections", "missing"], "properties": {
        "sections": {"type": "array", "items": {"type": "object", "required": ["key", "label", "text"],
                                                "properties": {"key": {"type": "string"},
                                                               "label": {"type": "string"},
                                                               "text": {"type": "string"}}}},
        "edited_at": {"type": ["string", "null"]}, "edited_by": {"type": ["string", "null"]},
        "missing": {"type": "integer", "description": "sections still holding a […] placeholder"}}},
    "IncidentDetail": {"allOf": [_ref("Incident"), {"type": "object", "required": [
        "hosts", "actions", "detections", "warnings", "notes", "evidence", "checklists", "journal_head", "drafts",
        "timeline"], "properties": {
        "hosts": {"type": "array", "items": {"type": "object", "required": ["host"]}},
        "actions": {"type": "array", "items": {"type": "object"}},
        "detections": {"type": "array", "items": {"type": "object"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "object", "required": ["seq", "ts", "actor", "text"]}},
        "evidence": {"type": "array", "items": {"type": "object", "required": ["kind", "sha256", "present"]}},
        "checklists": {"type": "array", "items": {"type": "object", "required": ["id", "title", "items", "done",
                                                                                 "total"]}},
        "journal_head": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["seq", "hash"]}]},
        "drafts": {"type": "object", "required": ["authority", "patients"],
                   "properties": {"authority": _ref("Draft"), "patients": _ref("Draft")}},
        "timeline": {"type": "array", "items": {"type": "object", "required": ["seq", "ts", "kind", "actor",
                                                                               "hash"]}}}}]},
    "StoredFile": {"type": "object", "required": ["sha256", "incident", "name", "kind", "size", "uploaded_at"],
                   "properties": {
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "incident": {"type": "string"},
        "name": {"type": "string"}, "stored": {"type": "string"}, "kind": {"type": "string"},
        "size": {"type": "integer", "minimum": 1}, "uploaded_at": {"type": "string"}, "actor": {"type": "string"},
        "seq": {"type": ["integer", "null"]}}},
    "Journaled": {"type": "object", "required": ["incident", "seq", "ts"], "properties": {
        "incident": {"type": "string"}, "seq": {"type": "integer"}, "ts": {"type": "string"}}},
}
SCHEMAS.update(INCIDENT_SCHEMAS)
SCHEMAS.update(component_schemas())


def _incident_paths() -> dict[str, Any]:
    """``/api/v1/incidents*``: the incident record, its checklists, evidence, drafts and report."""
    from notaus.api.incidents import FILE_CSP, REPORT_CSP, UPLOAD_OVERHEAD
    from notaus.controller.checklists import ITEMS
    from notaus.controller.incident import MAX_UPLOAD_BYTES
    from notaus.controller.reporting import SECTIONS

    inc_id = {"name": "incident_id", "in": "path", "required": True,
              "description": "an incident id, or `current` for the open one",
              "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$",
                         "examples": ["current"]}}
    lang = {"name": "lang", "in": "query", "required": False,
            "description": "language of texts; default: the page language (cookie, browser, policy)",
            "schema": {"enum": ["de", "en"]}}
    write = {**WRITE_ERRORS, "404": _err("no such incident (or item, or draft kind)"),
             "409": _err("the incident is closed (incident_closed), or the first request with this "
                         "Idempotency-Key is still running")}
    read = {**AUTH_ERRORS, "404": _err("no such incident")}
    changed = _ok("changed; the incident with its countdown", _ref("Incident"))
    time_help = "ISO 8601, e.g. 2024-05-03T08:15+02:00 (UTC if no offset); not in the future"
    keys = sorted({key for kind in SECTIONS.values() for key, _, _ in kind})
    csp = {"description": "always this restrictive policy", "required": True,
           "schema": {"const": REPORT_CSP}}
    r, d = _roles(INCIDENT_PERMISSION), _roles(DEADLINE_PERMISSION)
    return {
        "/api/v1/incidents": {
            "get": {"summary": "all incidents, newest first, with their 72-hour countdown. " + r,
                    "responses": {"200": _ok("incidents", _ref("IncidentList")), **AUTH_ERRORS}},
            "post": {"summary": ("open an incident by hand (one is opened on its own by a panic, an isolation or a "
                                 "high-score detection). If one is open already, that one is answered (200). "
                                 "`knowledge_at` may only move the moment of knowledge back in time. " + r),
                     "parameters": [IDEMPOTENCY],
                     "requestBody": {"required": False, "content": {JSON: {"schema": {
                         "type": "object", "properties": {
                             "note": {"type": "string", "maxLength": 5000},
                             "knowledge_at": {"type": "string", "maxLength": 100, "description": time_help}}}}}},
                     "responses": {"201": _ok("opened", _ref("Incident")),
                                   "200": _ok("an incident was open already: that one", _ref("Incident")),
                                   **WRITE_ERRORS}}},
        "/api/v1/incidents/{incident_id}": {"get": {
            "summary": ("the incident: countdown, hosts, actions, detections, notes, evidence, checklists with "
                        "ticks, drafts of both notifications, the journal timeline and head. " + r),
            "parameters": [inc_id, lang],
            "responses": {"200": _ok("incident", _ref("IncidentDetail")), "400": _err("bad lang"), **read}}},
        "/api/v1/incidents/{incident_id}/notes": {"post": {
            "summary": "add a note (journaled as incident.note). " + r,
            "parameters": [inc_id, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 5000}}}}}},
            "responses": {"201": _ok("journaled", _ref("Journaled")), **write}}},
        "/api/v1/incidents/{incident_id}/photos": {"post": {
            "summary": (f"upload a photo or file (at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB), kept under its "
                        "SHA-256 and journaled as incident.photo. Send multipart/form-data (curl -F "
                        "file=@foto.jpg -F caption=…). The Idempotency-Key fingerprint is the file's hash, "
                        "name and caption, so a retry with a new multipart boundary replays. " + r),
            "parameters": [inc_id, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream",
                             "maxLength": MAX_UPLOAD_BYTES},
                    "caption": {"type": "string", "maxLength": 500}}},
                "encoding": {"file": {"contentType": "image/*, application/octet-stream"}}}}},
            "responses": {"201": _ok("stored", _ref("StoredFile")),
                          **write,
                          "400": _err("no file field, an empty file, or a caption over 500 characters"),
                          "413": _err(f"larger than {MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD} bytes in all, or a "
                                      f"file over {MAX_UPLOAD_BYTES} bytes"),
                          "415": _err("not multipart/form-data")}}},
        "/api/v1/incidents/{incident_id}/checklist/{item}": {"post": {
            "summary": ("tick (or untick with done=false) a checklist item of the guide within this incident; "
                        "journaled as checklist.tick. " + r),
            "parameters": [inc_id, {"name": "item", "in": "path", "required": True, "schema": {"enum": list(ITEMS)}},
                           IDEMPOTENCY],
            "requestBody": {"required": False, "content": {JSON: {"schema": {
                "type": "object", "properties": {"done": {"type": "boolean"},
                                                 "note": {"type": "string", "maxLength": 500}}}}}},
            "responses": {"200": _ok("journaled", {"allOf": [_ref("Journaled"), {
                "type": "object", "required": ["item", "done"],
                "properties": {"item": {"type": "string"}, "done": {"type": "boolean"}}}]}), **write}}},
        "/api/v1/incidents/{incident_id}/drafts/{kind}": {"put": {
            "summary": ("save edited sections of the authority report (Art. 33) or the patient notification "
                        "(Art. 34); other sections keep the generated text. The full text is journaled "
                        "(incident.draft). Keys per kind: " + "; ".join(
                            f"{k}: {', '.join(s[0] for s in v)}" for k, v in SECTIONS.items()) + ". " + r),
            "parameters": [inc_id, {"name": "kind", "in": "path", "required": True,
                                    "schema": {"enum": list(SECTIONS)}}, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["sections"], "properties": {"sections": {
                    "type": "object", "propertyNames": {"enum": keys},
                    "additionalProperties": {"type": "string", "maxLength": 20000}}}}}}},
            "responses": {"200": _ok("saved", {"allOf": [_ref("Journaled"), {
                "type": "object", "required": ["kind"], "properties": {"kind": {"enum": list(SECTIONS)}}}]}),
                **write, "400": _err("bad JSON, or a section this kind does not have")}}},
        "/api/v1/incidents/{incident_id}/knowledge": {"post": {
            "summary": ("correct the moment of knowledge; the 72-hour deadline runs from it (journaled as "
                        "incident.knowledge with the previous value and the reason). " + d),
            "parameters": [inc_id, IDEMPOTENCY],
            "requestBody": {"required": True, "content": {JSON: {"schema": {
                "type": "object", "required": ["knowledge_at"], "properties": {
                    "knowledge_at": {"type": "string", "minLength": 1, "maxLength": 100, "description": time_help},
                    "reason": {"type": "string", "maxLength": 500}}},
                "example": {"knowledge_at": "2024-05-03T08:15+02:00",
                            "reason": "Lösegeldforderung am Empfang gesehen, bevor der Knopf gedrückt wurde"}}}},
            "responses": {"200": changed, **write, "400": _err("not a time, in the future, or bad JSON")}}},
        "/api/v1/incidents/{incident_id}/reported": {"post": {
            "summary": ("record that the report to the data protection authority was filed; stops the "
                        "reminders (journaled as incident.reported). " + d),
            "parameters": [inc_id, IDEMPOTENCY],
            "requestBody": {"required": False, "content": {JSON: {"schema": {
                "type": "object", "properties": {
                    "reference": {"type": "string", "maxLength": 200, "description": "the authority's file number"},
                    "at": {"type": "string", "maxLength": 100, "description": time_help + "; default: now"}}},
                "example": {"reference": "LDA-2024-0815", "at": "2024-05-04T10:00+02:00"}}}},
            "responses": {"200": changed, **write, "400": _err("not a time, in the future, or bad JSON")}}},
        "/api/v1/incidents/{incident_id}/report": {"get": {
            "summary": ("the self-contained report (timeline, actions, checklists, detections, evidence with "
                        "SHA-256, the journal's head hash to check with `notaus journal verify`). HTML inline "
                        "(or as a download with download=1), PDF as a download rendered by Chromium. Both carry "
                        "a restrictive Content-Security-Policy: no script, no requests, sandboxed. " + r),
            "parameters": [inc_id, lang,
                           {"name": "format", "in": "query", "required": False, "schema": {"enum": ["html", "pdf"]}},
                           {"name": "download", "in": "query", "required": False,
                            "description": "any non-empty value: send the HTML as an attachment",
                            "schema": {"type": "string", "maxLength": 10}}],
            "responses": {
                "200": {"description": "the report", "headers": {
                    "Content-Security-Policy": csp,
                    "Content-Disposition": {"description": "attachment for PDF and for download=1",
                                            "schema": {"type": "string"}}},
                    "content": {"text/html": {"schema": {"type": "string"}},
                                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "400": _err("bad format or lang"), **read,
                "503": _err("PDF asked for but ReportLab is missing or failed (pdf_unavailable); HTML works")}}},
        "/api/v1/incidents/{incident_id}/files/{sha256}": {"get": {
            "summary": ("an uploaded photo or file by its SHA-256 (listed in the incident's evidence); always an "
                        "application/octet-stream attachment with a sandboxing CSP. " + r),
            "parameters": [inc_id, {"name": "sha256", "in": "path", "required": True,
                                    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}],
            "responses": {
                "200": {"description": "the file as uploaded", "headers": {
                    "Content-Security-Policy": {**csp, "schema": {"const": FILE_CSP}},
                    "Content-Disposition": {"required": True, "schema": {"type": "string",
                                                                         "pattern": "^attachment"}}},
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                **{**read, "404": _err("no such incident or file")}}}},
    }


def spec() -> dict[str, Any]:
    from notaus.controller.checklists import ITEMS

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
                "requestBody": {"required": False, "content": {JSON: {"schema": _ref("PanicRequest")}}},
                "responses": {**_op_responses(),
                              "428": _ok("not confirmed: the plan and what stops working",
                                         _ref("ConfirmationRequired"))}}},
            "/api/v1/restore": {"post": {
                "summary": "staged restore: wan, hosts or all. " + _roles("restore"),
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("RestoreRequest")}}},
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
                         "requestBody": {"required": True, "content": {JSON: {"schema": _ref("IsolateRequest")}}},
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
            "/api/v1/detections": {"get": {"summary": "the detector's findings, newest first, read back from the "
                                                      "journal: host, destination and name, score, band, evidence, "
                                                      "decision, isolation outcome, incident ([] if none). "
                                                      + _roles("status"),
                                           "parameters": [{"name": "limit", "in": "query",
                                                           "schema": {"type": "integer", "minimum": 1,
                                                                      "maximum": 1000}}],
                                           "responses": {"200": _ok("detections", {
                                               "type": "object", "required": ["detections"],
                                               "properties": {"detections": {"type": "array", "items": {
                                                   "type": "object",
                                                   "required": ["seq", "ts", "src", "dst", "dst_port", "proto",
                                                                "name", "kind", "score", "band", "evidence",
                                                                "decision", "outcome", "incident"]}}}}),
                                                         "400": _err("bad limit"), **AUTH_ERRORS}}},
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
            **_incident_paths(),
            "/healthz": {"get": {"summary": "process liveness (no device calls)", "security": [],
                                 "responses": {"200": _ok("alive", {"type": "object", "required": ["ok"]})}}},
            "/metrics": {"get": {"summary": "Prometheus text format. " + _roles("metrics"),
                                 "responses": {"200": {"description": "metrics",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}},
                                               **AUTH_ERRORS}}},
        },
    }
