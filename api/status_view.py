"""The status document the API and the UI show: engine status, the agent queue, and what the
service's background jobs know *before* an emergency.

``state_code`` is the language-neutral form of the engine's ``state`` (verbunden/getrennt/teilweise)
so the UI can translate it and monitoring can alert on it.

``service`` (see :func:`service_view`) carries the scheduler's findings so staff see them at a
glance: a device the box cannot control (wrong password, unreachable) as a red banner with what to
do, enforcement that had to re-apply a cut ("Router hat sich neu verbunden – wieder getrennt"), a
running drill with its end time, and the 72-hour reporting countdown of an open incident. Every
person-facing text comes in German and English (``text_de``/``text_en``); the UI picks one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notaus.api.guardrails import AgentGate
    from notaus.controller.engine import Engine
    from notaus.controller.journal import Journal
    from notaus.controller.scheduler import Scheduler
    from notaus.policies.schema import Policy

from notaus.controller.actions import FACT_ACTION

log = logging.getLogger(__name__)

STATE_CODES = {"verbunden": "connected", "getrennt": "disconnected", "teilweise": "partial", "unbekannt": "unknown"}

#: how far back drift notices reach, and how many are shown
DRIFT_WINDOW = timedelta(hours=24)
DRIFT_MAX = 5
#: journal entries scanned for drift notices (newest first); enough for a day of a busy box
DRIFT_SCAN = 5000

#: drift "what" -> the re-applying step's action (as in device.result of operation "enforce")
DRIFT_ACTION = {what: action.value for what, action in FACT_ACTION.items()}

#: error kind -> (title de, title en, what to do de, what to do en); {device} and {provider} are filled in
HEALTH_ADVICE: dict[str, tuple[str, str, str, str]] = {
    "auth_failed": (
        "Not-Aus kann „{device}“ nicht steuern: Benutzername oder Passwort falsch",
        "The emergency stop cannot control “{device}”: wrong user name or password",
        "Im Ernstfall würde das Trennen an diesem Gerät scheitern. IT-Dienstleister anrufen ({provider}): "
        "Zugangsdaten in der Richtlinie (devices → password) korrigieren, dann `notaus doctor`. "
        "Bis dahin im Notfall das Internetkabel am Router ziehen.",
        "A disconnect would fail on this device. Call the IT provider ({provider}): fix the credentials in "
        "the policy (devices → password), then run `notaus doctor`. Until then, in an emergency pull the "
        "internet cable at the router."),
    "not_permitted": (
        "Not-Aus darf „{device}“ nicht umschalten: fehlende Rechte",
        "The emergency stop may not switch “{device}”: missing rights",
        "Der Benutzer hat auf dem Gerät zu wenig Rechte (FRITZ!Box: Recht „FRITZ!Box Einstellungen“). "
        "IT-Dienstleister anrufen ({provider}). Bis dahin im Notfall das Internetkabel am Router ziehen.",
        "The device user lacks rights (FRITZ!Box: “FRITZ!Box settings”). Call the IT provider ({provider}). "
        "Until then, in an emergency pull the internet cable at the router."),
    "unreachable": (
        "„{device}“ ist für Not-Aus nicht erreichbar",
        "“{device}” is not reachable for the emergency stop",
        "Strom und Netzwerkkabel von Gerät und Not-Aus-Box prüfen. Bleibt die Meldung, IT-Dienstleister "
        "anrufen ({provider}). Im Notfall das Internetkabel am Router ziehen.",
        "Check power and network cables of the device and the emergency-stop box. If this stays, call the IT "
        "provider ({provider}). In an emergency pull the internet cable at the router."),
    "timeout": (
        "„{device}“ antwortet Not-Aus nicht rechtzeitig",
        "“{device}” does not answer the emergency stop in time",
        "Gerät eventuell überlastet oder im Neustart. Bleibt die Meldung, IT-Dienstleister anrufen ({provider}).",
        "The device may be busy or restarting. If this stays, call the IT provider ({provider})."),
}
HEALTH_DEFAULT = (
    "Prüfung von „{device}“ fehlgeschlagen",
    "Check of “{device}” failed",
    "IT-Dienstleister informieren ({provider}); er kann mit `notaus doctor` die Ursache finden.",
    "Tell the IT provider ({provider}); `notaus doctor` shows the cause.")


def isolations_view(status: dict[str, Any], gate: AgentGate | None = None) -> list[dict[str, Any]]:
    items = [dict(i) for i in status.get("isolations") or []]
    if gate is not None:
        due = {r["host"]: r.get("release_due") for r in gate.active()}
        for item in items:
            item["auto_release_at"] = due.get(item.get("host"))
    return items


def build_status(status: dict[str, Any], gate: AgentGate, policy: Policy,
                 service: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(status)
    out["state_code"] = STATE_CODES.get(str(status.get("state")), "unknown")
    out["isolations"] = isolations_view(status, gate)
    out["pending_approvals"] = [{**p, **host_facts(policy, str(p.get("host", "")))} for p in gate.pending()]
    provider, dpo = policy.contacts.it_provider, policy.contacts.data_protection_officer
    out["contacts"] = {"it_provider": {"name": provider.name, "phone": provider.phone},
                       "data_protection_officer": {"name": dpo.name, "phone": dpo.phone}}
    out["tile"] = state_tile(status, policy)
    if service is not None:
        out["service"] = {**service, "drifts": live_drifts(service.get("drifts") or [], status)}
    out["generated"] = datetime.now(UTC).isoformat()
    return out


#: roles whose isolation stops more than one PC: the approval asks twice as loudly
CRITICAL_ROLES = ("phone", "ti-konnektor", "server", "router", "switch", "controller")


def host_facts(policy: Any, host: str) -> dict[str, Any]:
    """The machine's role as the policy knows it, so an approval shows *what* would be blocked."""
    entry = next((h for h in policy.hosts if host in (h.name, h.ip)), None)
    role = entry.role if entry is not None else "unknown"
    return {"role": role, "critical": role in CRITICAL_ROLES,
            "protected": bool(entry is not None and policy.is_protected(entry))}


def state_tile(status: dict[str, Any], policy: Any) -> dict[str, Any]:
    """The start page's state tile, from the same facts as ``status`` (nothing is guessed here).

    ``code``: ``online`` (no cut), ``cut`` (internet cut, verified on every router), ``blocked``
    (keep-phones: PCs blocked at the router, internet on for the kept roles), ``partial`` (a cut
    was ordered but not everything reads back as done) or ``unknown`` (no device answers).
    """
    containment = status.get("containment") or None
    devices = list(status.get("devices") or [])
    reachable = [d for d in devices if d.get("reachable")]
    profile = str(containment.get("profile")) if containment else None
    prof = policy.profiles.get(profile) if profile else None
    if containment:
        cuts_wan = bool(prof.cut_wan) if prof is not None else True
        code = ("cut" if cuts_wan else "blocked") if status.get("contained") else "partial"
    elif devices and not reachable:
        code = "unknown"
    else:
        code = "online"
    return {"code": code, "since": containment.get("since") if containment else None,
            "profile": profile, "verified": bool(status.get("contained")),
            "checked_on": [d.get("name") for d in reachable],
            "kept_roles": list(prof.keep_roles) if prof is not None and not prof.cut_wan else [],
            "isolated": len(status.get("isolations") or []),
            "unverified_isolations": sum(1 for i in status.get("isolations") or [] if not i.get("verified")),
            "wan": [{"device": d.get("name"), "wan": d.get("wan", "unknown"), "wlan": d.get("wlan", "unknown")}
                    for d in devices if d.get("wan") not in (None, "unknown")]}


def live_drifts(drifts: list[dict[str, Any]], status: dict[str, Any]) -> list[dict[str, Any]]:
    """Drift notices expire with their cause: none after a restore, none from before the current cut."""
    containment = status.get("containment") or None
    if not containment and not status.get("isolations"):
        return []
    if not containment:   # only single isolations left: the cut's notices (internet, WLAN) are history
        return [d for d in drifts if d.get("what") in ("host_block", "port", "vlan")]
    since = containment.get("since")
    if not since:
        return drifts
    start = _parse(str(since))
    return [d for d in drifts if _parse(str(d.get("at"))) >= start]


# ----------------------------------------------------------------------------------- service
def _parse(ts: str) -> datetime:
    value = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hhmm(ts: str) -> str:
    """Wall-clock time of the box, as staff read it on the clock on the wall."""
    return _parse(ts).astimezone().strftime("%H:%M")


def _provider_text(policy: Policy) -> str:
    p = policy.contacts.it_provider
    return " ".join(x for x in (p.name, p.phone) if x) or "Telefonnummer siehe Richtlinie"


def health_warnings(results: list[dict[str, Any]], policy: Policy) -> list[dict[str, Any]]:
    """Failed device checks as banners: what is wrong and what to do, in both languages."""
    provider = _provider_text(policy)
    out = []
    for r in results:
        if r.get("ok", True):
            continue
        device = str(r.get("device", "?"))
        kind = str(r.get("kind") or "device_error")
        title_de, title_en, todo_de, todo_en = HEALTH_ADVICE.get(kind, HEALTH_DEFAULT)
        fill = {"device": device, "provider": provider}
        out.append({"device": device, "kind": kind, "message": str(r.get("message", "")),
                    "title_de": title_de.format(**fill), "title_en": title_en.format(**fill),
                    "todo_de": todo_de.format(**fill), "todo_en": todo_en.format(**fill)})
    return out


def _drift_text(what: str, target: str, outcome: str, at: str) -> tuple[str, str]:
    hhmm = _hhmm(at)
    fixed = outcome == "done"
    de_what = {"wan": "Router hat sich neu verbunden", "wlan": "WLAN war wieder eingeschaltet",
               "host_block": f"Sperre für {target} war aufgehoben",
               "port": f"Switch-Port {target} war wieder eingeschaltet",
               "vlan": f"Quarantäne-VLAN an {target} war verändert"}.get(what, f"Abweichung ({what})")
    en_what = {"wan": "Router reconnected", "wlan": "WLAN was switched on again",
               "host_block": f"block of {target} was lifted", "port": f"switch port {target} was enabled again",
               "vlan": f"quarantine VLAN on {target} was changed"}.get(what, f"drift ({what})")
    if fixed:
        de_fix = {"wan": "wieder getrennt", "host_block": "wieder gesperrt", "vlan": "wieder gesetzt"}.get(
            what, "wieder abgeschaltet")
        en_fix = {"wan": "cut again", "host_block": "blocked again", "vlan": "set again"}.get(
            what, "switched off again")
    else:
        de_fix = "erneutes Trennen NICHT bestätigt – Internetkabel am Router ziehen, IT-Dienstleister anrufen"
        en_fix = "re-applying NOT confirmed – pull the internet cable at the router, call the IT provider"
    return f"{de_what} – {de_fix} ({hhmm})", f"{en_what} – {en_fix} ({hhmm})"


def drift_events(journal: Journal, now: datetime | None = None) -> list[dict[str, Any]]:
    """Recent drifts the enforcement found and what re-applying them gave, newest first.

    Read from the journal (``drift`` and the following ``device.result`` of operation ``enforce``),
    so drifts re-applied by any process are shown, and a restart does not forget them.
    """
    head = journal.head()
    if head is None:
        return []
    after = max(0, head.seq - DRIFT_SCAN)
    drifts = journal.entries(after=after, limit=DRIFT_SCAN, kind="drift")
    if not drifts:
        return []
    cutoff = (now or datetime.now(UTC)) - DRIFT_WINDOW
    recent = [d for d in drifts if _parse(d.ts) >= cutoff][-DRIFT_MAX:]
    if not recent:
        return []
    results = [e for e in journal.entries(after=recent[0].seq, limit=DRIFT_SCAN, kind="device.result")
               if e.data.get("operation") == "enforce"]
    out = []
    for d in reversed(recent):
        what = str(d.data.get("what", ""))
        action = DRIFT_ACTION.get(what)
        res = next((r for r in results if r.seq > d.seq and r.data.get("device") == d.data.get("device")
                    and r.data.get("action") == action), None)
        outcome = str(res.data.get("outcome")) if res is not None else "unknown"
        expected = str(d.data.get("expected", "")).split(" ")[0]
        if res is None:
            target = expected
        elif what in ("port", "vlan"):
            target = str(res.data.get("target") or expected)
        else:
            target = str(res.data.get("host") or res.data.get("target") or expected)
        de, en = _drift_text(what, target, outcome, d.ts)
        out.append({"at": d.ts, "seq": d.seq, "device": d.data.get("device"), "what": what,
                    "expected": d.data.get("expected"), "observed": d.data.get("observed"),
                    "reapplied": outcome, "text_de": de, "text_en": en})
    return out


#: how many of the latest findings ``/api/v1/detections`` and ``/metrics`` show
DETECTIONS_MAX = 200


def recent_detections(journal: Journal, limit: int = DETECTIONS_MAX) -> list[dict[str, Any]]:
    """The latest findings the detection journaled (kind ``detection``, from any process), oldest first."""
    head = journal.head()
    if head is None:
        return []
    entries = journal.entries(after=max(0, head.seq - DRIFT_SCAN), limit=DRIFT_SCAN, kind="detection")
    return [{**e.data, "seq": e.seq, "ts": e.ts} for e in entries if e.kind == "detection"][-limit:]


def drill_view(record: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any] | None:
    if not record or not record.get("until"):
        return None
    until = _parse(str(record["until"]))
    left = max(0, round((until - (now or datetime.now(UTC))).total_seconds()))
    hhmm = until.astimezone().strftime("%H:%M")
    return {"since": record.get("since"), "until": until.isoformat(), "seconds_left": left,
            "profile": record.get("profile"),
            "text_de": f"ÜBUNG läuft: Die Praxis ist zur Übung vom Internet getrennt. Automatische "
                       f"Wiederherstellung um {hhmm} Uhr.",
            "text_en": f"DRILL running: the practice is disconnected for practice. Automatic restore at {hhmm}."}


def incident_view(engine: Engine) -> dict[str, Any] | None:
    """The open incident and its 72-hour reporting countdown (``None`` if none is open)."""
    from notaus.controller.incident import IncidentManager
    from notaus.controller.reporting import countdown

    mgr = IncidentManager.for_engine(engine)
    mgr.sync()
    inc = mgr.current()
    if inc is None:
        return None
    from notaus.api.ui_words import incident_title

    return {"id": inc.id, "title": inc.title, "title_de": inc.title, "title_en": incident_title(inc.title, "en"),
            "trigger": inc.trigger, "url": f"/incidents/{inc.id}", "countdown": countdown(inc)}


def _job_errors(sched_status: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for job, section in sched_status.items():
        if isinstance(section, dict) and section.get("last_error"):
            out.append({"job": job, "message": str(section["last_error"]), "at": section.get("last_error_at")})
    return out


def service_view(engine: Engine, scheduler: Scheduler | None) -> dict[str, Any]:
    """What the background jobs know, for the status document (see the module docstring)."""
    from notaus.controller.scheduler import DRILL_KEY

    sched: dict[str, Any] = {}
    if scheduler is not None:
        try:
            sched = dict(scheduler.status())
        except Exception:  # noqa: BLE001 - a scheduler shutting down must not break the status page
            sched = {}
    health = sched.get("health") or {}
    if health.get("last_run"):
        results = list(health.get("warnings") or [])
        checked_at = health.get("last_run")
    else:   # no scheduler in this process (or not run yet): the engine's last own checks
        results = list(engine.health_snapshot().values())
        checked_at = None
    warnings = health_warnings(results, engine.policy)
    enforce = sched.get("enforce") or {}
    errors = _job_errors(sched)

    def guarded(part: str, fn: Callable[[], Any], fallback: Any) -> Any:
        # The status page is what staff look at in an emergency: a broken extra must not take it down.
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            log.exception("status: %s failed", part)
            errors.append({"job": f"status.{part}", "message": f"{type(exc).__name__}: {exc}", "at": None})
            return fallback

    return {
        "scheduler": {"present": scheduler is not None, "running": bool(sched.get("running")),
                      "updated": sched.get("updated")},
        "health": {"ok": (not warnings) if (checked_at or results) else None, "checked_at": checked_at,
                   "warnings": warnings},
        "drifts": guarded("drifts", lambda: drift_events(engine.journal), []),
        "drift_total": int(enforce.get("drift_total", 0)),
        "drill": guarded("drill", lambda: drill_view(engine.state.get(DRILL_KEY)), None),
        "incident": guarded("incident", lambda: incident_view(engine), None),
        "job_errors": errors,
    }


class ServiceViewCache:
    """Shares one :func:`service_view` among all pollers for ``ttl`` seconds (like the engine status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: tuple[float, dict[str, Any]] | None = None

    def get(self, engine: Engine, scheduler: Scheduler | None, ttl: float) -> dict[str, Any]:
        if ttl > 0:
            cached = self._value
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
        with self._lock:
            cached = self._value
            if ttl > 0 and cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
            value = service_view(engine, scheduler)
            self._value = (time.monotonic(), value)
            return value

    def invalidate(self) -> None:
        self._value = None
