"""Every string a person sees in the web UI, German first, English on request.

Checklist wording follows chapter 3.5.1 ("Sofortmaßnahmen"), 3.5.4 and 3.5.5 of the KV guide
"Handeln bei IT-Sicherheitsvorfällen", so staff recognise what they were trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.checklists import ITEMS, TABLET

LANGS: tuple[str, ...] = ("de", "en")

#: the tablet's checklist, item id -> (de, en), in screen order: the one catalogue's items
#: (``controller.checklists``), so a tick journals the text the tablet showed. ``{provider}`` is filled in.
CHECKLIST: dict[str, tuple[str, str]] = {key: (ITEMS[key].de, ITEMS[key].en) for key in TABLET}

UI: dict[str, tuple[str, str]] = {
    "title": ("Notaus", "Emergency stop"),
    "big_button": ("Praxis vom Internet trennen", "Disconnect the practice from the internet"),
    "big_button_hint": ("Bei Verdacht auf Schadsoftware oder Verschlüsselung sofort drücken.",
                        "Press immediately if you suspect malware or encryption."),
    "confirm_title": ("Das hört dann auf zu funktionieren:", "This will stop working:"),
    "confirm_loading": ("Plan wird geladen …", "Loading the plan …"),
    "choice_full": ("Alles trennen", "Disconnect everything"),
    "choice_full_hint": ("Internet und WLAN aus. Das Telefon über den Router fällt auch aus.",
                         "Internet and WLAN off. Phones on the router drop too."),
    "choice_keep": ("PCs sperren, Telefon behalten", "Block the PCs, keep the phones"),
    "choice_keep_hint": ("Alle PCs verlieren das Internet, die Telefone bleiben erreichbar.",
                         "All PCs lose the internet, phones stay reachable."),
    "cancel": ("Abbrechen", "Cancel"),
    "progress_title": ("Wird getrennt …", "Disconnecting …"),
    "dev_pending": ("wartet", "waiting"),
    "dev_running": ("läuft", "running"),
    "dev_done": ("erledigt – geprüft", "done – verified"),
    "dev_failed": ("fehlgeschlagen", "failed"),
    "dev_unverified": ("ausgeführt, aber nicht bestätigt", "done but not confirmed"),
    "dev_not_supported": ("nicht möglich mit diesem Gerät", "not possible with this device"),
    "dev_skipped": ("übersprungen", "skipped"),
    "result_done": ("Getrennt – geprüft", "Disconnected – verified"),
    "result_partial": ("Teilweise getrennt – bitte Netzwerkkabel am Router ziehen und IT-Dienstleister anrufen",
                       "Partly disconnected – pull the WAN cable at the router and call the IT provider"),
    "result_failed": ("Trennen fehlgeschlagen – Router ausschalten oder Kabel ziehen, IT-Dienstleister anrufen",
                      "Disconnecting failed – switch the router off or pull the cable, call the IT provider"),
    "result_refused": ("Abgelehnt", "Refused"),
    "error_network": ("Keine Verbindung zum Notaus-Gerät. Router ausschalten oder Internetkabel ziehen.",
                      "No connection to the emergency-stop box. Switch the router off or pull the cable."),
    "checklist_title": ("Sofortmaßnahmen", "Immediate measures"),
    "checklist_hint": ("Abhaken, was erledigt ist – wird mit Uhrzeit dokumentiert.",
                       "Tick what is done – it is recorded with the time."),
    "status_link": ("Status", "Status"),
    "home_link": ("Notaus", "Emergency stop"),
    "status_title": ("Status der Praxis", "Practice status"),
    "state_connected": ("verbunden", "connected"),
    "state_disconnected": ("getrennt", "disconnected"),
    "state_partial": ("teilweise", "partial"),
    "state_unknown": ("unbekannt", "unknown"),
    "devices": ("Geräte", "Devices"),
    "reachable": ("erreichbar", "reachable"),
    "unreachable": ("nicht erreichbar", "unreachable"),
    "isolated_title": ("Gesperrte Rechner", "Isolated machines"),
    "none": ("keine", "none"),
    "pending_title": ("Anfragen von Virenscannern (warten auf Freigabe)",
                      "Requests from security agents (awaiting approval)"),
    "approve": ("Sperren", "Isolate"),
    "reject": ("Ablehnen", "Reject"),
    "restore_title": ("Wiederherstellen (nur IT-Dienstleister)", "Restore (IT provider only)"),
    "restore_reason": ("Grund (Pflichtfeld, wird dokumentiert)", "Reason (required, recorded)"),
    "restore_reason_missing": ("Bitte zuerst einen Grund eintragen.", "Enter a reason first."),
    "restore_wan": ("Internet wieder an", "Internet back on"),
    "restore_wan_hint": ("Schritt 1: Internet und WLAN wieder einschalten. Gesperrte PCs bleiben gesperrt.",
                         "Step 1: internet and WLAN back on. Blocked PCs stay blocked."),
    "restore_hosts": ("PCs freigeben", "Release the PCs"),
    "restore_hosts_hint": ("Schritt 2: Sperren aus dem Notaus aufheben, wenn die PCs geprüft sind. "
                           "Einzeln gesperrte Rechner (unten) gibt man jeweils einzeln frei.",
                           "Step 2: lift the emergency blocks once the PCs are checked. "
                           "Individually isolated machines (below) are released one by one."),
    "restore_hosts_wait": ("Erst Schritt 1 (Internet ist noch getrennt).", "Do step 1 first (internet still cut)."),
    "restore_running": ("Wird ausgeführt …", "Working …"),
    "restore_done": ("Erledigt – geprüft", "Done – verified"),
    "restore_partial": ("Nur teilweise erledigt – Einzelheiten unten, IT-Dienstleister prüft",
                        "Only partly done – see the devices below"),
    "restore_failed": ("Fehlgeschlagen – Einzelheiten unten", "Failed – see the devices below"),
    "restore_refused": ("Abgelehnt", "Refused"),
    "restore_nothing": ("Nichts zu tun – war schon frei.", "Nothing to do – already clear."),
    "release": ("Freigeben", "Release"),
    "act_restore_wan": ("Internet", "Internet"),
    "act_wlan_on": ("WLAN", "WLAN"),
    "act_unblock_host": ("Sperre aufheben", "Lift block"),
    "act_port_up": ("Switch-Port an", "Switch port on"),
    "act_set_vlan": ("VLAN zurück", "VLAN back"),
    "incidents_link": ("Vorfälle", "Incidents"),
    "val_up": ("an", "up"),
    "val_down": ("getrennt", "down"),
    "val_on": ("an", "on"),
    "val_off": ("aus", "off"),
    "ports_off": ("Ports aus", "Ports off"),
    "drift_title": ("Notaus hat eingegriffen", "notaus stepped in"),
    "drill_left": ("Übung endet in", "Drill ends in"),
    "incident_open": ("Vorfall öffnen", "Open the incident"),
    "scheduler_down": ("Die Hintergrundprüfungen von Notaus laufen nicht – eine Trennung wird nicht überwacht. "
                       "IT-Dienstleister informieren.",
                       "notaus background checks are not running – a cut is not being watched. "
                       "Tell the IT provider."),
    "job_error": ("Hintergrundprüfung fehlgeschlagen", "Background check failed"),
    "login_title": ("Anmelden", "Sign in"),
    "login_token": ("Zugangsschlüssel (vom IT-Dienstleister)", "Access token (from your IT provider)"),
    "login_button": ("Anmelden", "Sign in"),
    "login_needed": ("Bitte anmelden. Den Zugangsschlüssel hat Ihr IT-Dienstleister.",
                     "Please sign in. Your IT provider has the access token."),
    "login_bad": ("Zugangsschlüssel unbekannt. Bitte beim IT-Dienstleister nachfragen.",
                  "Unknown access token. Please ask your IT provider."),
    "enroll_title": ("Dieses Gerät als Notaus-Tablet einrichten", "Set up this device as the emergency-stop tablet"),
    "enroll_button": ("Einrichten", "Set up"),
    "enroll_bad": ("Einrichtungslink ungültig oder abgelaufen. Bitte neuen Link erzeugen "
                   "(notaus token kiosk --name …).",
                   "Set-up link invalid or expired. Create a new one (notaus token kiosk --name …)."),
    "enroll_done": ("Eingerichtet. Dieses Gerät zeigt jetzt den Notaus-Knopf.",
                    "Done. This device now shows the emergency-stop button."),
    "lang_switch": ("English", "Deutsch"),
    "last_update": ("Stand", "As of"),
    "provider_unknown": ("Telefonnummer in der Richtlinie eintragen (contacts.it_provider)",
                         "add the phone number to the policy (contacts.it_provider)"),
    "refused_reason": ("Grund", "Reason"),
    "warnings_none": ("Keine Einschränkungen bekannt.", "No known side effects."),
}


def pick_lang(query: str | None, cookie: str | None, accept: Iterable[tuple[str, float]], default: str) -> str:
    """?lang= beats the cookie beats Accept-Language beats the policy default."""
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    best: tuple[float, str] | None = None
    for value, quality in accept:
        code = value.split("-")[0].lower()
        if code in LANGS and (best is None or quality > best[0]):
            best = (quality, code)
    if best is not None:
        return best[1]
    return default if default in LANGS else "de"


def strings(lang: str) -> dict[str, str]:
    idx = 1 if lang == "en" else 0
    return {key: pair[idx] for key, pair in UI.items()}


def checklist(lang: str, provider: str) -> list[dict[str, str]]:
    return [{"id": key, "text": ITEMS[key].text(lang, provider)} for key in CHECKLIST]
