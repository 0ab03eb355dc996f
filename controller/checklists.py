"""The incident guide's checklists as data (chapters 3.5.1, 3.5.2, 3.5.4, 3.5.5, 3.5.6), German and English.

Staff recognise the wording they were trained on, so the German text follows the guide
"Handeln bei IT-Sicherheitsvorfällen" closely. Item ids are stable: they are journaled with every
tick (``checklist.tick``) and the ids of the immediate measures are the ones the staff UI
(``api/i18n.py`` / ``POST /api/v1/checklist/<item>``) uses, so a tick on the tablet and a tick in
the incident page are the same fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Audience = Literal["staff", "provider", "practice"]


@dataclass(frozen=True)
class Item:
    id: str
    de: str
    en: str

    def text(self, lang: str, provider: str = "") -> str:
        """The wording in ``lang``; ``{provider}`` (the IT provider's name and phone) filled in or left out."""
        raw = self.en if lang == "en" else self.de
        if "{provider}" not in raw:
            return raw
        return raw.replace("{provider}", provider) if provider else raw.replace(" ({provider})", "")


@dataclass(frozen=True)
class Checklist:
    id: str
    chapter: str
    audience: Audience
    title_de: str
    title_en: str
    items: tuple[Item, ...]

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_de


CHECKLISTS: tuple[Checklist, ...] = (
    Checklist("immediate", "3.5.1", "staff", "Sofortmaßnahmen", "Immediate measures", (
        Item("calm", "Ruhe bewahren, alle Mitarbeiter informieren, Dokumentation beginnen.",
             "Stay calm, inform all staff, start documenting."),
        Item("no-admin", "Keine Anmeldung an betroffenen oder verdächtigen Geräten mit Administratorrechten!",
             "Do not log in with administrator rights on affected or suspicious machines!"),
        Item("disconnect", "Alle betroffenen oder verdächtigen Geräte vom Netzwerk trennen "
                           "(Datenkabel am jeweiligen Gerät entfernen, WLAN abschalten).",
             "Disconnect every affected or suspicious machine from the network "
             "(pull the network cable at the machine, switch WLAN off)."),
        Item("power-off", "Wenn noch nicht alle Daten verschlüsselt sind, Gerät „hart ausschalten“ "
                          "(Netzstecker am Gerät ziehen, bei Laptops Akku entfernen oder Ausschaltknopf "
                          "ca. 5 Sekunden gedrückt halten).",
             "If not all data is encrypted yet, switch the machine off hard (pull the plug at the machine; "
             "laptops: remove the battery or hold the power button for about 5 seconds)."),
        Item("ups", "Achtung bei Servern mit USV: die Stromversorgung von USV zum Server trennen, "
                    "nicht vom Stromnetz zur USV.",
             "Servers with a UPS: disconnect the power between UPS and server, not between wall and UPS."),
        Item("cut-internet", "Im Zweifel komplette Praxis vom Internet trennen (Festnetztelefon fällt ggf. aus).",
             "If in doubt, disconnect the whole practice from the internet (the landline may drop too)."),
        Item("call-provider", "IT-Dienstleister anrufen ({provider}) und abstimmen, ob dieser oder ein spezieller "
                              "IT-Forensiker die weitere Arbeit übernimmt.",
             "Call the IT provider ({provider}) and agree whether they or a specialised forensic examiner "
             "take over."),
    )),
    Checklist("restoration", "3.5.2", "provider", "Wiederherstellungsmaßnahmen (IT-Dienstleister)",
              "Restoration measures (IT provider)", (
        Item("keep-disks", "Die verschlüsselten Datenträger ausbauen und an sicherem Ort verwahren "
                           "(Strafanzeige, Versicherung, Ursachenanalyse, späterer Wiederherstellungsversuch).",
             "Remove the encrypted disks and keep them in a safe place (police report, insurance, "
             "root-cause analysis, later recovery attempt)."),
        Item("check-logs", "Alle verfügbaren Logs prüfen (Router, Firewall, Switches, Server, Endgeräte), "
                           "ob Daten in größerem Umfang aus der Praxis kopiert wurden.",
             "Check all available logs (router, firewall, switches, servers, endpoints) for data copied "
             "out of the practice on a larger scale."),
        Item("check-backups", "Vorhandene Backups prüfen: aktuell und nicht verseucht oder ebenfalls verschlüsselt?",
             "Check the backups: current, and neither infected nor encrypted as well?"),
        Item("other-copies", "Prüfen, ob es an anderer Stelle noch Daten oder Backups gibt "
                             "(alte Rechner, alte Server, alte Sicherungsmedien).",
             "Check whether data or backups exist elsewhere (old machines, old servers, old backup media)."),
        Item("decryptor", "Unter https://www.nomoreransom.org/ nach einem Schlüssel suchen – "
                          "für den Test keine patientenbezogenen Dokumente oder Daten verwenden!",
             "Look for a decryptor at https://www.nomoreransom.org/ – do not use patient data for the test!"),
        Item("reinstall", "Alle Geräte, die infiziert waren, komplett neu installieren (neue Datenträger).",
             "Reinstall every infected machine completely (on new disks)."),
        Item("check-others", "Alle nicht offensichtlich betroffenen Geräte vollständig prüfen, "
                             "bevor sie wieder ins Netzwerk eingebunden werden.",
             "Check every machine not obviously affected before it is reconnected to the network."),
        Item("credentials", "Alle Zugangsdaten ändern – Praxissysteme, Mitarbeiter, Online-Banking und "
                            "Infrastruktur (Router, Firewall, Switches, TI-Komponenten).",
             "Change all credentials – practice systems, staff, online banking and infrastructure "
             "(router, firewall, switches, TI components)."),
        Item("mfa", "Wo möglich Multifaktorauthentifizierung einrichten, besonders für E-Mail-Konten.",
             "Enable multi-factor authentication wherever possible, above all for e-mail accounts."),
        Item("krbtgt", "Bei Active Directory: Passwort des KRBTGT-Kontos zweimal zurücksetzen "
                       "(besser: Serverlandschaft neu einrichten).",
             "With Active Directory: reset the KRBTGT account password twice "
             "(better: rebuild the domain)."),
    )),
    Checklist("police", "3.5.4", "practice", "Anzeige erstatten", "Police report", (
        Item("police", "Kein Lösegeld zahlen. Anzeige bei der Polizei erstatten (ggf. Cybercrime-Stelle des LKA).",
             "Do not pay a ransom. Report the crime to the police (or the state police cybercrime unit)."),
    )),
    Checklist("reporting", "3.5.5", "practice", "Meldepflichten", "Reporting duties", (
        Item("report-72h", "Meldung an die Datenschutzbehörde (Landesbeauftragte für Datenschutz) "
                           "binnen 72 Stunden nach Kenntnis.",
             "Report to the data protection authority within 72 hours of becoming aware."),
        Item("notify-patients", "Bei hohem Risiko: betroffene Patienten unverzüglich in Textform benachrichtigen.",
             "If the risk is high: notify the affected patients without delay, in writing."),
    )),
    Checklist("followup", "3.5.6", "practice", "Nachbereitung", "Follow-up", (
        Item("monitor", "Systeme nach dem Vorfall weiter und häufiger als üblich überwachen.",
             "Keep monitoring the systems more closely than usual after the incident."),
        Item("lessons", "Mit dem IT-Dienstleister Maßnahmen gegen einen erneuten Angriff besprechen.",
             "Discuss measures against a repeat attack with the IT provider."),
    )),
)

ITEMS: dict[str, Item] = {item.id: item for cl in CHECKLISTS for item in cl.items}
#: the staff tablet's short list (``api/i18n.py``), in screen order; its wording is the items' above,
#: so what a tick journals is what the tablet showed
TABLET: tuple[str, ...] = ("calm", "no-admin", "disconnect", "power-off", "ups", "call-provider", "police",
                           "report-72h")


def provider_contact(policy: Any) -> str:
    """The IT provider's name and phone as checklists show them ("" if the policy names neither)."""
    p = policy.contacts.it_provider
    return " ".join(x for x in (p.name, p.phone) if x)
ITEM_LIST: dict[str, str] = {item.id: cl.id for cl in CHECKLISTS for item in cl.items}


def known(item_id: str) -> bool:
    return item_id in ITEMS


def checklist_state(ticks: dict[str, dict[str, Any]], lang: str = "de", provider: str = "") -> list[dict[str, Any]]:
    """Every checklist with each item's last tick (``ticks``: item id -> {"done", "ts", "actor"})."""
    out = []
    for cl in CHECKLISTS:
        items = []
        for item in cl.items:
            t = ticks.get(item.id, {})
            items.append({"id": item.id, "text": item.text(lang, provider), "done": bool(t.get("done")),
                          "ts": t.get("ts"), "actor": t.get("actor"), "note": t.get("note", "")})
        out.append({"id": cl.id, "chapter": cl.chapter, "audience": cl.audience, "title": cl.title(lang),
                    "items": items, "done": sum(1 for i in items if i["done"]), "total": len(items)})
    return out
