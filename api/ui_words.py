"""Facts and words the staff pages need beyond the status document: friendly host names, contacts,
the router's location, and the journal's event kinds as sentences (never ``panic.request`` on screen).

Kept apart from :mod:`api.i18n` (which holds the glossary-bound UI strings) so the incident page and
the start page share one list of event words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: journal kind -> (de, en). Unknown kinds fall back to a neutral word, never the raw kind alone.
EVENT_WORDS: dict[str, tuple[str, str]] = {
    "panic.request": ("Not-Aus gedrückt", "Emergency stop pressed"),
    "panic.plan": ("Plan erstellt", "Plan made"),
    "panic.result": ("Ergebnis des Not-Aus", "Emergency stop result"),
    "panic.refused": ("Not-Aus abgelehnt", "Emergency stop refused"),
    "device.result": ("Gerät hat geantwortet", "Device answered"),
    "restore.request": ("Wiederherstellen angefordert", "Restore requested"),
    "restore.result": ("Ergebnis des Wiederherstellens", "Restore result"),
    "isolate.request": ("Sperren eines Rechners angefordert", "Block of a machine requested"),
    "isolate.result": ("Rechner gesperrt", "Machine blocked"),
    "release.request": ("Freigeben eines Rechners angefordert", "Release of a machine requested"),
    "release.result": ("Rechner freigegeben", "Machine released"),
    "drift": ("Abweichung festgestellt", "Drift found"),
    "enforce.result": ("Wieder hergestellt, was Not-Aus verlangt", "Re-applied what the emergency stop requires"),
    "checklist.tick": ("Checkliste abgehakt", "Checklist ticked"),
    "incident.open": ("Vorfall eröffnet", "Incident opened"),
    "incident.note": ("Notiz", "Note"),
    "incident.photo": ("Foto", "Photo"),
    "incident.draft": ("Entwurf gespeichert", "Draft saved"),
    "incident.knowledge": ("Zeitpunkt der Kenntnis geändert", "Moment of knowledge changed"),
    "incident.reported": ("Meldung an die Behörde erstattet", "Report filed with the authority"),
    "incident.close": ("Vorfall abgeschlossen", "Incident closed"),
    "detection": ("Erkennung", "Detection"),
    "detection.action": ("Reaktion auf eine Erkennung", "Response to a detection"),
    "agent.request": ("Anfrage eines Virenscanners", "Security agent request"),
    "agent.approved": ("Sperr-Anfrage bestätigt", "Block request confirmed"),
    "agent.rejected": ("Sperr-Anfrage abgelehnt", "Block request rejected"),
    "agent.release": ("Automatisch freigegeben", "Released automatically"),
    "ui.login": ("Anmeldung", "Sign-in"),
    "drill.start": ("Übung begonnen", "Drill started"),
    "drill.end": ("Übung beendet", "Drill ended"),
    "drill.refused": ("Übung abgelehnt", "Drill refused"),
    "deadline.reminder": ("Erinnerung an die 72-Stunden-Frist", "Reminder of the 72-hour deadline"),
    "detection.decision": ("Entscheidung zu einer Erkennung", "Decision on a detection"),
    "engine.start": ("Not-Aus gestartet", "Emergency stop started"),
    "engine.reassert": ("Trennung nach Neustart erneut gesetzt", "Cut re-applied after a restart"),
    "guard.refused": ("Von einer Schutzregel abgelehnt", "Refused by a safety rule"),
    "health": ("Geräteprüfung", "Device check"),
    "isolate.plan": ("Plan zum Sperren", "Block plan"),
    "release.refused": ("Freigeben abgelehnt", "Release refused"),
    "panic.cancelled": ("Not-Aus abgebrochen", "Emergency stop cancelled"),
    "kiosk.enrolled": ("Tablet eingerichtet", "Tablet set up"),
    "kiosk.enrollment": ("Einrichtungslink erzeugt", "Set-up link created"),
    "service.restart": ("Dienst neu gestartet", "Service restarted"),
    "warning": ("Warnung", "Warning"),
    "warning.ack": ("Warnung zur Kenntnis genommen", "Warning acknowledged"),
}

#: values the incident page used to show raw ("manual", "done", "open")
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "done": ("erledigt – geprüft", "done – verified"), "partial": ("teilweise", "partial"),
    "failed": ("fehlgeschlagen", "failed"), "refused": ("abgelehnt", "refused"),
    "manual": ("von Hand", "by hand"), "open": ("offen", "open"), "closed": ("abgeschlossen", "closed"),
    "panic": ("Not-Aus", "emergency stop"), "isolation": ("Sperre", "block"), "detection": ("Erkennung", "detection"),
    "photo": ("Foto", "photo"), "file": ("Datei", "file"),
}


#: the incident manager's default titles (German, stored) -> English
TITLE_EN: dict[str, str] = {
    "Not-Aus gedrückt": "Emergency stop pressed", "Rechner gesperrt": "Machine blocked",
    "Verdacht auf Schadsoftware (Erkennung)": "Suspected malware (detection)",
    "Sicherheitsvorfall": "Security incident",
}


def incident_title(title: str, lang: str) -> str:
    """A default title in the page's language; a title someone typed stays as typed."""
    return TITLE_EN.get(title, title) if lang == "en" else title


def event_word(kind: str, lang: str) -> str:
    pair = EVENT_WORDS.get(kind)
    if pair is None:
        head = kind.split(".")[0]
        pair = EVENT_WORDS.get(head, ("Eintrag", "Entry"))
    return pair[1] if lang == "en" else pair[0]


#: device actions in words, for the timeline's details
ACTION_WORDS: dict[str, tuple[str, str]] = {
    "cut_wan": ("Internet trennen", "cut the internet"), "restore_wan": ("Internet an", "internet on"),
    "wlan_off": ("WLAN aus", "WLAN off"), "wlan_on": ("WLAN an", "WLAN on"),
    "block_host": ("sperren", "block"), "unblock_host": ("freigeben", "release"),
    "port_down": ("Switch-Port aus", "switch port off"), "port_up": ("Switch-Port an", "switch port on"),
    "set_vlan": ("Quarantäne-VLAN", "quarantine VLAN"),
}


def event_detail(kind: str, data: dict[str, Any], lang: str) -> str:
    """One short line of what an entry says (which device, which item), never the raw JSON."""
    en = lang == "en"
    if kind == "device.result":
        action = ACTION_WORDS.get(str(data.get("action")), (str(data.get("action", "")),) * 2)[1 if en else 0]
        target = data.get("host") or data.get("target") or ""
        return f"{data.get('device', '')}: {action}{' ' + str(target) if target else ''} – " \
               f"{value_word(data.get('outcome'), lang)}"
    if kind in ("panic.request", "panic.result", "restore.result", "isolate.result", "release.result"):
        bits = [str(data[k]) for k in ("profile", "host") if data.get(k)]
        if data.get("outcome"):
            bits.append(value_word(data.get("outcome"), lang))
        return " · ".join(bits)
    if kind == "checklist.tick":
        return str(data.get("item", "")) + ("" if data.get("done", True) else (" (undone)" if en else " (zurück)"))
    if kind in ("isolate.request", "release.request", "restore.request"):
        return " · ".join(str(data[k]) for k in ("host", "stage", "reason") if data.get(k))
    return ""


def value_word(value: Any, lang: str) -> str:
    if value in (None, "", False):
        return "–"
    pair = VALUE_WORDS.get(str(value))
    if pair is None:
        return str(value)
    return pair[1] if lang == "en" else pair[0]


def local_time(ts: str | None, with_date: bool = True) -> str:
    """The box's wall-clock time (what the practice's clocks show), never raw UTC."""
    if not ts:
        return ""
    try:
        value = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return str(ts)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone().strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")


def staff_facts(policy: Any) -> dict[str, Any]:
    """What the start page shows after the button: friendly host names, phone numbers, router hint."""
    hosts = [{"name": h.name, "role": h.role, "protected": bool(policy.is_protected(h))}
             for h in policy.hosts if h.role not in ("controller", "router", "switch")]
    c = policy.contacts
    return {"hosts": hosts, "router_hint": getattr(policy, "router_hint", "") or "",
            "contacts": {"it_provider": {"name": c.it_provider.name, "phone": c.it_provider.phone},
                         "data_protection_officer": {"name": c.data_protection_officer.name,
                                                     "phone": c.data_protection_officer.phone}}}
