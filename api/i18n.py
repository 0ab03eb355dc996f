"""Every string a person sees in the web UI, German first, English on request.

Checklist wording follows chapter 3.5.1 ("Sofortmaßnahmen"), 3.5.4 and 3.5.5 of the KV guide
"Handeln bei IT-Sicherheitsvorfällen", so staff recognise what they were trained on.
"""

from __future__ import annotations

from collections.abc import Iterable

from notaus.controller.checklists import ITEMS, TABLET

LANGS: tuple[str, ...] = ("de", "en")

#: the tablet's checklist, item id -> (de, en), in screen order: the one catalogue's items
#: (``controller.checklists``), so a tick journals the text the tablet showed. ``{provider}`` is filled in.
CHECKLIST: dict[str, tuple[str, str]] = {key: (ITEMS[key].de, ITEMS[key].en) for key in TABLET}

#: The glossary every string below keeps to (German / English):
#: *trennen* / *disconnect*: the practice from the internet (router: WAN, WLAN);
#: *sperren* / *block*: one device (at the router or switch);
#: *freigeben* / *release*: lift a block or a cut, and only that (approving is *bestätigen* / *confirm*);
#: *Not-Aus* / *emergency stop*: this system, written so everywhere.
GLOSSARY: dict[str, tuple[str, str]] = {
    "trennen": ("Praxis vom Internet trennen (Router: Internet, WLAN)",
                "disconnect the practice from the internet (router: internet, WLAN)"),
    "sperren": ("ein einzelnes Gerät sperren (am Router oder Switch)", "block one device (at the router or switch)"),
    "freigeben": ("eine Sperre oder Trennung aufheben", "release a block or a cut"),
    "bestätigen": ("eine Sperr-Anfrage eines Virenscanners annehmen", "accept a security agent's block request"),
    "Not-Aus": ("dieses System", "this system (emergency stop)"),
}

UI: dict[str, tuple[str, str]] = {
    "title": ("Not-Aus", "Emergency stop"),
    "big_button": ("Praxis vom Internet trennen", "Disconnect the practice from the internet"),
    "big_button_hint": ("Bei Verdacht auf Schadsoftware oder Verschlüsselung sofort drücken.",
                        "Press immediately if you suspect malware or encryption."),
    "big_button_again": ("Auch das Internet trennen (Telefone fallen aus)",
                         "Disconnect the internet too (phones drop)"),
    "confirm_title": ("Das hört dann auf zu funktionieren:", "This will stop working:"),
    "confirm_loading": ("Plan wird geladen …", "Loading the plan …"),
    "confirm_choose": ("Jetzt auswählen:", "Now choose:"),
    "choice_full": ("Alles trennen", "Disconnect everything"),
    "choice_full_hint": ("Internet und WLAN aus. Das Telefon über den Router fällt auch aus.",
                         "Internet and WLAN off. Phones on the router drop too."),
    "choice_keep": ("Nur PCs sperren – Telefon bleibt", "Block only the PCs – phones stay"),
    "choice_keep_hint": ("Zweite Wahl: Alle PCs verlieren das Internet, die Telefone bleiben erreichbar.",
                         "Second choice: all PCs lose the internet, phones stay reachable."),
    "cancel": ("Abbrechen", "Cancel"),
    "wlan_notice": ("Zuletzt wird das WLAN abgeschaltet. Ist dieses Gerät per WLAN verbunden, verliert es dann "
                    "die Verbindung; das geprüfte Ergebnis erscheint, sobald es wieder verbunden ist.",
                    "The WLAN is switched off last. If this device is on WLAN it then loses the connection; "
                    "the verified result appears as soon as it is connected again."),
    "progress_title": ("Wird getrennt …", "Disconnecting …"),
    "slow_hint": ("Der Router antwortet noch nicht. Wenn gleich nichts passiert: Datenkabel für WAN aus dem "
                  "Router ziehen oder den Router ausschalten.",
                  "The router has not answered yet. If nothing happens soon: pull the WAN cable out of the "
                  "router or switch the router off."),
    "lost_connection": ("Verbindung zum Not-Aus-Gerät unterbrochen (WLAN aus?) – das Ergebnis wird geholt, "
                        "sobald das Gerät wieder verbunden ist.",
                        "Connection to the emergency-stop box lost (WLAN off?) – the result is fetched as soon "
                        "as this device is connected again."),
    "dev_pending": ("wartet", "waiting"),
    "dev_running": ("läuft", "running"),
    "dev_done": ("erledigt – geprüft", "done – verified"),
    "dev_failed": ("fehlgeschlagen", "failed"),
    "dev_unverified": ("ausgeführt, aber nicht bestätigt", "done but not confirmed"),
    "dev_not_supported": ("nicht möglich mit diesem Gerät", "not possible with this device"),
    "dev_skipped": ("übersprungen", "skipped"),
    "result_done": ("Getrennt – geprüft", "Disconnected – verified"),
    "result_done_keep": ("PCs gesperrt – geprüft, Telefone laufen", "PCs blocked – verified, phones working"),
    "result_partial_keep": ("Nicht alle PCs gesperrt – Netzwerkkabel an den PCs ziehen, IT-Dienstleister anrufen",
                            "Not all PCs blocked – pull the network cables at the PCs, call the IT provider"),
    "progress_keep": ("PCs werden gesperrt …", "Blocking the PCs …"),
    "result_partial": ("Teilweise getrennt – Datenkabel für WAN aus dem Router ziehen und IT-Dienstleister anrufen",
                       "Partly disconnected – pull the WAN cable out of the router and call the IT provider"),
    "result_failed": ("Trennen fehlgeschlagen – Datenkabel für WAN aus dem Router ziehen oder Router ausschalten, "
                      "IT-Dienstleister anrufen",
                      "Disconnecting failed – pull the WAN cable out of the router or switch it off, "
                      "call the IT provider"),
    "result_refused": ("Abgelehnt", "Refused"),
    "router_where": ("Router:", "Router:"),
    "error_network": ("Keine Verbindung zum Not-Aus-Gerät. Datenkabel für WAN aus dem Router ziehen oder "
                      "Router ausschalten.",
                      "No connection to the emergency-stop box. Pull the WAN cable out of the router or switch "
                      "it off."),
    # the state tile (live, from GET /api/v1/status)
    "tile_online": ("ONLINE", "ONLINE"),
    "tile_online_sub": ("Internet an. Nichts getrennt.", "Internet on. Nothing disconnected."),
    "tile_cut": ("GETRENNT", "DISCONNECTED"),
    "tile_blocked": ("PCs GESPERRT", "PCs BLOCKED"),
    "tile_partial": ("NICHT VOLLSTÄNDIG GETRENNT", "NOT FULLY DISCONNECTED"),
    "tile_unknown": ("ZUSTAND UNBEKANNT", "STATE UNKNOWN"),
    "tile_unknown_sub": ("Not-Aus kann den Router nicht abfragen – Hinweise unter dem Knopf.",
                         "The emergency stop cannot read the router – see the notices below the button."),
    "tile_since": ("seit", "since"),
    "tile_verified": ("am Router geprüft", "verified at the router"),
    "tile_unverified": ("am Router NICHT bestätigt", "NOT confirmed at the router"),
    "tile_kept_phone": ("Telefone laufen", "phones keep working"),
    "tile_kept_phone_ti": ("Telefone und TI laufen", "phones and TI keep working"),
    "tile_isolated_one": ("1 Gerät gesperrt", "1 device blocked"),
    "tile_isolated_many": ("{n} Geräte gesperrt", "{n} devices blocked"),
    "tile_checked": ("geprüft", "checked"),
    # after the button, in the guide's order
    "next_title": ("Nächste Schritte", "Next steps"),
    "verdict_title": ("Ergebnis", "Result"),
    "verdict_line": ("{device}: Internet {wan}, WLAN {wlan} – geprüft {time}",
                     "{device}: internet {wan}, WLAN {wlan} – checked {time}"),
    "call_provider": ("IT-Dienstleister anrufen", "Call the IT provider"),
    "call_dpo": ("Datenschutzbeauftragte(n) anrufen", "Call the data protection officer"),
    "phone_missing": ("Telefonnummer fehlt in der Richtlinie", "phone number missing in the policy"),
    "block_one_title": ("Einen PC sperren", "Block one PC"),
    "block_one_hint": ("Verdächtiger Rechner? Hier einzeln sperren – die anderen arbeiten weiter.",
                       "A suspicious machine? Block it here on its own – the others keep working."),
    "block_one_label": ("Welcher Rechner?", "Which machine?"),
    "block_one_reason": ("Was ist aufgefallen? (optional)", "What did you notice? (optional)"),
    "block_one_button": ("Diesen PC sperren", "Block this PC"),
    "block_one_confirm": ("Wirklich sperren: {host}?", "Really block {host}?"),
    "block_one_yes": ("Ja, sperren", "Yes, block"),
    "block_one_done": ("Gesperrt – geprüft: {host}", "Blocked – verified: {host}"),
    "block_one_failed": ("Sperren nicht bestätigt: {host} – Netzwerkkabel am Gerät ziehen",
                         "Block not confirmed: {host} – pull the network cable at the machine"),
    "note_link": ("Notiz oder Foto zum Vorfall", "Note or photo for the incident"),
    "role_workstation": ("PC", "PC"),
    "role_server": ("Server", "server"),
    "role_phone": ("Telefon", "phone"),
    "role_ti-konnektor": ("TI-Konnektor", "TI connector"),
    "role_printer": ("Drucker", "printer"),
    "role_unknown": ("unbekannt", "unknown"),
    "checklist_title": ("Sofortmaßnahmen", "Immediate measures"),
    "checklist_hint": ("Abhaken, was erledigt ist – wird mit Uhrzeit dokumentiert.",
                       "Tick what is done – it is recorded with the time."),
    "status_link": ("Status", "Status"),
    "home_link": ("Not-Aus", "Emergency stop"),
    "policy_link": ("Richtlinie", "Policy"),
    "status_title": ("Status der Praxis", "Practice status"),
    "state_connected": ("verbunden", "connected"),
    "state_disconnected": ("getrennt", "disconnected"),
    "state_partial": ("teilweise", "partial"),
    "state_blocked": ("PCs gesperrt, Telefon läuft", "PCs blocked, phones working"),
    "state_unknown": ("unbekannt", "unknown"),
    "devices": ("Geräte", "Devices"),
    "reachable": ("erreichbar", "reachable"),
    "unreachable": ("nicht erreichbar", "unreachable"),
    "isolated_title": ("Gesperrte Rechner", "Blocked machines"),
    "none": ("keine", "none"),
    "pending_title": ("Sperr-Anfragen von Virenscannern (warten auf Ihre Entscheidung)",
                      "Block requests from security agents (awaiting your decision)"),
    "pending_role": ("Art", "Kind"),
    "pending_critical": ("Achtung: ein {role} – sperren unterbricht {what}.",
                         "Caution: a {role} – blocking it interrupts {what}."),
    "critical_phone": ("das Telefonieren", "phone calls"),
    "critical_ti-konnektor": ("Kartenlesen und E-Rezept (TI)", "card reading and e-prescriptions (TI)"),
    "critical_other": ("die Arbeit der ganzen Praxis", "the whole practice's work"),
    "approve": ("Sperren", "Block"),
    "reject": ("Nicht sperren", "Do not block"),
    "restore_title": ("Wiederherstellen (nur IT-Dienstleister)", "Restore (IT provider only)"),
    "restore_reason": ("Grund für das Wiederherstellen (Pflichtfeld, wird dokumentiert)",
                       "Reason for restoring (required, recorded)"),
    "restore_reason_missing": ("Bitte zuerst einen Grund eintragen.", "Enter a reason first."),
    "restore_wan": ("Internet wieder an", "Internet back on"),
    "restore_wan_hint": ("Schritt 1: Internet und WLAN wieder einschalten. Gesperrte PCs bleiben gesperrt.",
                         "Step 1: internet and WLAN back on. Blocked PCs stay blocked."),
    "restore_hosts": ("PCs freigeben", "Release the PCs"),
    "restore_hosts_hint": ("Schritt 2: Sperren aus dem Not-Aus aufheben, wenn die PCs geprüft sind. "
                           "Einzeln gesperrte Rechner (oben) gibt man jeweils einzeln frei.",
                           "Step 2: lift the emergency-stop blocks once the PCs are checked. "
                           "Individually blocked machines (above) are released one by one."),
    "restore_hosts_wait": ("Erst Schritt 1 (Internet ist noch getrennt).", "Do step 1 first (internet still cut)."),
    "restore_running": ("Wird ausgeführt …", "Working …"),
    "restore_done": ("Erledigt – geprüft", "Done – verified"),
    "restore_partial": ("Nur teilweise erledigt – Einzelheiten unten, IT-Dienstleister prüft",
                        "Only partly done – see the devices below"),
    "restore_failed": ("Fehlgeschlagen – Einzelheiten unten", "Failed – see the devices below"),
    "restore_refused": ("Abgelehnt", "Refused"),
    "restore_nothing": ("Nichts zu tun – war schon frei.", "Nothing to do – already clear."),
    "release": ("Freigeben", "Release"),
    "source_manual": ("von Hand", "by hand"),
    "source_staff": ("vom Praxis-Team", "by the practice staff"),
    "source_panic": ("Not-Aus", "emergency stop"),
    "release_reason": ("Grund für das Freigeben von {host}", "Reason for releasing {host}"),
    "act_restore_wan": ("Internet", "Internet"),
    "act_wlan_on": ("WLAN", "WLAN"),
    "act_unblock_host": ("Sperre aufheben", "Lift block"),
    "act_port_up": ("Switch-Port an", "Switch port on"),
    "act_set_vlan": ("VLAN zurück", "VLAN back"),
    "incidents_link": ("Vorfälle", "Incidents"),
    "val_up": ("an", "on"),
    "val_down": ("getrennt", "disconnected"),
    "val_on": ("an", "on"),
    "val_off": ("aus", "off"),
    "val_unknown": ("unbekannt", "unknown"),
    "ports_off": ("Ports aus", "Ports off"),
    "drift_title": ("Not-Aus hat eingegriffen", "The emergency stop stepped in"),
    "attention_title": ("Gerät lehnt eine Sperre ab – bitte prüfen", "A device refuses a block – please check"),
    "attention_todo": ("Not-Aus versucht es nur noch selten erneut. IT-Dienstleister anrufen; bis dahin das "
                       "Netzwerkkabel des Rechners ziehen.",
                       "The emergency stop retries only rarely now. Call the IT provider; until then unplug the "
                       "machine's network cable."),
    "drill_left": ("Übung endet in", "Drill ends in"),
    "incident_open": ("Vorfall öffnen", "Open the incident"),
    "banners_more": ("Hinweise", "notices"),
    "banners_one": ("Hinweis", "notice"),
    "scheduler_down": ("Die Hintergrundprüfungen von Not-Aus laufen nicht – eine Trennung wird nicht überwacht. "
                       "IT-Dienstleister informieren.",
                       "The emergency stop's background checks are not running – a cut is not being watched. "
                       "Tell the IT provider."),
    "job_error": ("Hintergrundprüfung fehlgeschlagen", "Background check failed"),
    "login_title": ("Anmelden", "Sign in"),
    "login_token": ("Zugangsschlüssel (vom IT-Dienstleister)", "Access token (from your IT provider)"),
    "login_button": ("Anmelden", "Sign in"),
    "login_needed": ("Bitte anmelden. Den Zugangsschlüssel hat Ihr IT-Dienstleister.",
                     "Please sign in. Your IT provider has the access token."),
    "login_bad": ("Zugangsschlüssel unbekannt. Bitte beim IT-Dienstleister nachfragen.",
                  "Unknown access token. Please ask your IT provider."),
    "enroll_title": ("Dieses Gerät als Not-Aus-Tablet einrichten", "Set up this device as the emergency-stop tablet"),
    "enroll_button": ("Einrichten", "Set up"),
    "enroll_bad": ("Einrichtungslink ungültig oder abgelaufen. Bitte neuen Link erzeugen "
                   "(notaus token kiosk --name …).",
                   "Set-up link invalid or expired. Create a new one (notaus token kiosk --name …)."),
    "enroll_done": ("Eingerichtet. Dieses Gerät zeigt jetzt den Not-Aus-Knopf.",
                    "Done. This device now shows the emergency-stop button."),
    "lang_switch": ("English", "Deutsch"),
    "last_update": ("Stand", "As of"),
    "provider_unknown": ("Telefonnummer in der Richtlinie eintragen (contacts.it_provider)",
                         "add the phone number to the policy (contacts.it_provider)"),
    "refused_reason": ("Grund", "Reason"),
    "warnings_none": ("Keine Einschränkungen bekannt.", "No known side effects."),
    "policy_title": ("Richtlinie (nur lesen)", "Policy (read only)"),
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
