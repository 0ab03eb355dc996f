"""Reporting duty (guide 3.5.5): the 72-hour countdown and pre-filled drafts of both notifications.

The authority report (Art. 33 GDPR) is due 72 hours after the *moment of knowledge*; the patient
notification (Art. 34) needs four parts in plain language: (a) nature of the breach with categories
and approximate numbers of people and records, (b) contact of the data protection officer,
(c) likely consequences, (d) measures taken and proposed. notaus fills in what it knows from the
journal (what was cut, which machines, what left the practice) and marks what only the practice
can know with ``[…]`` so nobody mistakes a guess for a fact. Staff edits are stored and journaled.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from notaus.controller.checklists import CHECKLISTS, checklist_state
from notaus.controller.incident import Incident, IncidentManager, parse_time, sha256_file, utcnow
from notaus.controller.journal import Entry

REPORT_HOURS = 72
FILL = "[…]"

#: draft kind -> ordered (section key, German label, English label)
SECTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "authority": (
        ("controller", "Verantwortlicher (Praxis)", "Controller (practice)"),
        ("dpo", "Datenschutzbeauftragter / Anlaufstelle", "Data protection officer / contact point"),
        ("discovery", "Kenntnisnahme (Zeitpunkt und Weg)", "Becoming aware (time and how)"),
        ("nature", "Art der Verletzung", "Nature of the breach"),
        ("people", "Betroffene Personen: Kategorien und ungefähre Zahl",
         "Data subjects: categories and approximate number"),
        ("records", "Betroffene Daten: Kategorien und ungefähre Zahl der Datensätze",
         "Personal data: categories and approximate number of records"),
        ("consequences", "Wahrscheinliche Folgen", "Likely consequences"),
        ("measures_taken", "Ergriffene Maßnahmen", "Measures taken"),
        ("measures_proposed", "Vorgeschlagene Maßnahmen", "Measures proposed"),
        ("late", "Begründung bei Meldung nach mehr als 72 Stunden", "Reason if reported after 72 hours"),
    ),
    "patients": (
        ("nature", "a) Was ist passiert?", "a) What happened?"),
        ("contact", "b) Ansprechpartner für weitere Informationen", "b) Whom to contact for more information"),
        ("consequences", "c) Mögliche Folgen für Sie", "c) Possible consequences for you"),
        ("measures", "d) Was wir getan haben und was Sie tun können", "d) What we did and what you can do"),
    ),
}


# ------------------------------------------------------------------------------------ countdown
def deadline(inc: Incident) -> datetime:
    return parse_time(inc.knowledge_at) + timedelta(hours=REPORT_HOURS)


def countdown(inc: Incident, now: datetime | None = None) -> dict[str, Any]:
    """The 72-hour clock as data and as one sentence per language."""
    now = now or utcnow()
    due = deadline(inc)
    left = (due - now).total_seconds()
    hours, minutes = divmod(int(abs(left)) // 60, 60)
    if inc.reported_at:
        ref = inc.report_reference
        de = f"Gemeldet am {_local(inc.reported_at)}" + (f" (Az. {ref})" if ref else "")
        en = f"Reported on {_local(inc.reported_at)}" + (f" (ref. {ref})" if ref else "")
    elif left >= 0:
        de = f"Meldung an die Datenschutzbehörde: noch {hours} Std. {minutes} Min. (bis {_local(due.isoformat())})"
        en = f"Report to the data protection authority: {hours} h {minutes} min left (until {_local(due.isoformat())})"
    else:
        de = (f"Meldefrist seit {hours} Std. {minutes} Min. überschritten – sofort melden und die Verzögerung "
              "begründen")
        en = f"Reporting deadline passed {hours} h {minutes} min ago – report now and give the reason for the delay"
    return {"knowledge_at": inc.knowledge_at, "deadline": due.isoformat(), "seconds_left": round(left),
            "overdue": left < 0 and not inc.reported_at, "reported": bool(inc.reported_at),
            "reported_at": inc.reported_at, "text_de": de, "text_en": en}


def _local(ts: str) -> str:
    """Times for people: local wall clock of the box, minutes precision."""
    return parse_time(ts).astimezone().strftime("%d.%m.%Y %H:%M")


# --------------------------------------------------------------------------------------- facts
def _detection_of(e: Entry) -> dict[str, Any]:
    det = e.data.get("detection")
    return det if isinstance(det, dict) else dict(e.data)


def _bytes_out(d: dict[str, Any], det: dict[str, Any]) -> int:
    """Bytes the host sent out: the responder's per-destination internet totals, else the finding's own."""
    raw_ev = d.get("evidence")
    ev: dict[str, Any] = raw_ev if isinstance(raw_ev, dict) else {}
    by_dst = ev.get("bytes_out_internet")
    with contextlib.suppress(TypeError, ValueError, KeyError):
        if isinstance(by_dst, list):   # [{dst, name, bytes}] from the flow table
            return sum(int(r.get("bytes", 0)) for r in by_dst if isinstance(r, dict))
        if isinstance(by_dst, dict):
            return sum(int(v) for v in by_dst.values())
        if by_dst is not None:
            return int(by_dst)
        raw_inner = ev.get("detection")
        inner: dict[str, Any] = raw_inner if isinstance(raw_inner, dict) else {}
        return int(det.get("bytes_out") or inner.get("bytes_out") or d.get("bytes_out") or 0)
    return 0


def describe(e: Entry, lang: str = "de") -> str:
    """One line a person understands, per journal entry (the raw data stays in the report too)."""
    d = e.data
    en = lang == "en"
    k = e.kind
    if k == "panic.request":
        return f"Emergency stop pressed (profile {d.get('profile')})" if en else \
            f"Notaus gedrückt (Profil {d.get('profile')})"
    if k == "panic.plan":
        warnings = [w.get(lang) or w.get("de") or w.get("code") for w in d.get("warnings", []) if isinstance(w, dict)]
        steps = len(d.get("steps", []))
        base = f"Plan: {steps} steps" if en else f"Plan: {steps} Schritte"
        return base + (f"; warnings shown: {' | '.join(map(str, warnings))}" if warnings and en else
                       f"; angezeigte Warnungen: {' | '.join(map(str, warnings))}" if warnings else "")
    if k == "warning.ack":
        acked = ", ".join(map(str, d.get("warnings", [])))
        return ("Warnings acknowledged: " if en else "Warnungen bestätigt: ") + acked
    if k == "device.result":
        target = d.get("host") or d.get("target") or ""
        return f"{d.get('device')}: {d.get('action')} {target} → {d.get('outcome')} ({d.get('message', '')})".replace(
            "  ", " ")
    if k.endswith(".result"):
        op = k.split(".")[0]
        host = f" {d['host']}" if d.get("host") else ""
        return f"{op}{host}: {d.get('outcome')}"
    if k == "isolate.request":
        return (f"Isolation of {d.get('host')} requested ({d.get('source')})" if en else
                f"Isolierung von {d.get('host')} angefordert ({d.get('source')})") + (
            f": {d['reason']}" if d.get("reason") else "")
    if k == "restore.request":
        head = "Restore requested" if en else "Wiederherstellung angefordert"
        return f"{head} ({d.get('stage')}): {d.get('reason', '')}"
    if k == "release.request":
        return (f"Release of {d.get('host')} requested" if en else f"Freigabe von {d.get('host')} angefordert")
    if k == "guard.refused":
        return ("Refused: " if en else "Abgelehnt: ") + str(d.get("reason", ""))
    if k in ("detection.decision", "detection"):
        det = _detection_of(e)
        return (f"Detection {det.get('kind', '')} {det.get('src', det.get('host', ''))} → "
                f"{det.get('dst', det.get('name', ''))} score {det.get('score')}"
                + (f", decision {decision}" if (decision := d.get("decision") or d.get("action")) else ""))
    if k == "checklist.tick":
        mark = ("ticked" if en else "abgehakt") if d.get("done", True) else ("unticked" if en else "zurückgenommen")
        return f"Checklist {d.get('item')}: {mark}" + (f" – {d['note']}" if d.get("note") else "")
    if k == "incident.open":
        return ("Incident opened" if en else "Vorfall eröffnet") + f" ({d.get('trigger')})"
    if k == "incident.note":
        return ("Note: " if en else "Notiz: ") + str(d.get("text", ""))
    if k in ("incident.photo", "incident.file"):
        return ("Photo" if en else "Foto") + f" {d.get('name')} (SHA-256 {str(d.get('sha256', ''))[:16]}…)"
    if k == "incident.knowledge":
        return ("Moment of knowledge set to " if en else "Zeitpunkt der Kenntnis gesetzt auf ") + \
            _local(str(d.get("knowledge_at")))
    if k == "incident.draft":
        return ("Draft edited: " if en else "Entwurf bearbeitet: ") + str(d.get("kind"))
    if k == "incident.reported":
        return ("Authority report filed" if en else "Meldung an die Behörde erstattet") + (
            f" ({d['reference']})" if d.get("reference") else "")
    if k == "incident.close":
        return "Incident closed" if en else "Vorfall abgeschlossen"
    if k == "deadline.reminder":
        return str(d.get("message_en" if en else "message_de") or d.get("message") or "reminder")
    return ", ".join(f"{key}={val}" for key, val in list(d.items())[:4])


def _evidence_paths(value: Any, found: list[dict[str, Any]]) -> None:
    """Find evidence pcaps anywhere in a journal entry's data ({"pcap": path, "sha256": ...})."""
    if isinstance(value, dict):
        path = value.get("pcap") or value.get("pcap_path") or value.get("evidence_pcap")
        if isinstance(path, str) and path:
            found.append({"path": path, "sha256": value.get("sha256") or value.get("pcap_sha256")})
        for v in value.values():
            if isinstance(v, dict | list):
                _evidence_paths(v, found)
    elif isinstance(value, list):
        for v in value:
            _evidence_paths(v, found)


def facts(mgr: IncidentManager, inc: Incident, lang: str = "de") -> dict[str, Any]:
    """Everything the report and the drafts need, derived from the incident's journal range."""
    entries = mgr.entries(inc)
    hosts: dict[str, dict[str, Any]] = {}
    detections: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    warnings: list[str] = []
    notes: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    panic_outcome: str | None = None
    wan_cut = False

    def host(name: str) -> dict[str, Any]:
        return hosts.setdefault(name, {"host": name, "isolated": None, "bytes_out": 0, "detections": 0})

    for e in entries:
        d = e.data
        if e.kind == "panic.result":
            panic_outcome = str(d.get("outcome"))
            actions.append({"seq": e.seq, "ts": e.ts, "actor": e.actor, "what": "panic", "outcome": panic_outcome})
        elif e.kind in ("isolate.result", "release.result", "restore.result"):
            op = e.kind.split(".")[0]
            actions.append({"seq": e.seq, "ts": e.ts, "actor": e.actor, "what": op, "host": d.get("host"),
                            "outcome": d.get("outcome")})
            if e.kind == "isolate.result" and d.get("host"):
                host(str(d["host"]))["isolated"] = d.get("outcome")
        elif e.kind == "device.result":
            if d.get("action") == "cut_wan" and d.get("outcome") == "done":
                wan_cut = True
        elif e.kind == "panic.plan":
            for w in d.get("warnings", []):
                if isinstance(w, dict):
                    warnings.append(str(w.get(lang) or w.get("de") or w.get("code")))
        elif e.kind == "detection.decision":
            det = _detection_of(e)
            src = str(det.get("src") or det.get("host") or d.get("host") or "?")
            h = host(src)
            h["detections"] += 1
            sent = _bytes_out(d, det)
            h["bytes_out"] += sent
            detections.append({"seq": e.seq, "ts": e.ts, "src": src, "dst": det.get("dst"), "name": det.get("name"),
                               "kind": det.get("kind"), "score": det.get("score"),
                               "bytes_out": sent,
                               "decision": d.get("decision") or d.get("action"), "why": det.get("why", [])})
        elif e.kind == "incident.note":
            notes.append({"seq": e.seq, "ts": e.ts, "actor": e.actor, "text": d.get("text", "")})
        elif e.kind == "isolate.request" and d.get("host"):
            host(str(d["host"]))
        found: list[dict[str, Any]] = []
        _evidence_paths(d, found)
        for ev in found:
            if any(x["path"] == ev["path"] for x in evidence):
                continue
            p = Path(ev["path"])
            sha = ev["sha256"]
            exists = p.is_file()
            if exists and not sha:
                sha = sha256_file(p)
            evidence.append({"kind": "pcap", "path": ev["path"], "sha256": sha, "seq": e.seq, "present": exists,
                             "matches": (sha256_file(p) == sha) if exists and sha else None})
    for f in mgr.files(inc.id):
        path = mgr.file_path(f)
        evidence.append({"kind": f.kind, "path": str(path), "name": f.name, "sha256": f.sha256, "seq": f.seq,
                         "present": path.is_file(),
                         "matches": (sha256_file(path) == f.sha256) if path.is_file() else None})
    head = mgr.journal.head()
    return {
        "incident": inc.to_dict(), "entries": entries, "hosts": sorted(hosts.values(), key=lambda h: h["host"]),
        "detections": detections, "actions": actions, "warnings": list(dict.fromkeys(warnings)), "notes": notes,
        "evidence": evidence, "panic_outcome": panic_outcome, "wan_cut": wan_cut,
        "checklists": checklist_state(mgr.ticks(inc), lang), "countdown": countdown(inc),
        "journal_head": {"seq": head.seq, "hash": head.hash} if head else None,
    }


# -------------------------------------------------------------------------------------- drafts
def _fmt_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _contact(c: Any) -> str:
    parts = [x for x in (getattr(c, "name", ""), getattr(c, "phone", ""), getattr(c, "email", "")) if x]
    return ", ".join(parts)


def generated_drafts(f: dict[str, Any], policy: Any, lang: str = "de") -> dict[str, dict[str, str]]:
    """Both drafts from what notaus knows; ``[…]`` marks what the practice must fill in."""
    en = lang == "en"
    inc = f["incident"]
    hosts = f["hosts"]
    host_names = ", ".join(h["host"] for h in hosts) or FILL
    out_total = sum(int(h.get("bytes_out") or 0) for h in hosts)
    sent_out = ("; ".join(f"{h['host']}: {_fmt_bytes(int(h['bytes_out']))}" for h in hosts if h.get("bytes_out")))
    dpo = _contact(policy.contacts.data_protection_officer) or _contact(policy.contacts.practice) or (
        f"{FILL} (name and contact of the DPO; if none: the practice owner)" if en else
        f"{FILL} (Name und Kontakt des Datenschutzbeauftragten; im Zweifel der Praxisinhaber)")
    practice = ", ".join(x for x in (policy.practice, _contact(policy.contacts.practice)) if x)
    ticked = [i for cl in f["checklists"] for i in cl["items"] if i["done"]]
    open_items = [i for cl in f["checklists"] if cl["id"] in ("restoration", "police", "followup")
                  for i in cl["items"] if not i["done"]]
    measures: list[str] = []
    for a in f["actions"]:
        when = _local(a["ts"])
        if a["what"] == "panic":
            measures.append(f"{when}: practice disconnected from the internet ({a['outcome']})" if en else
                            f"{when}: Praxis vom Internet getrennt ({a['outcome']})")
        elif a["what"] == "isolate":
            measures.append(f"{when}: {a.get('host')} isolated from the network ({a['outcome']})" if en else
                            f"{when}: {a.get('host')} vom Netzwerk isoliert ({a['outcome']})")
        elif a["what"] == "restore":
            measures.append(f"{when}: connection restored after checks ({a['outcome']})" if en else
                            f"{when}: Verbindung nach Prüfung wiederhergestellt ({a['outcome']})")
    measures += [f"{_local(i['ts'])}: {i['text']}" for i in ticked if i.get("ts")]
    taken = "\n".join(f"- {m}" for m in measures) or FILL
    proposed = "\n".join(f"- {i['text']}" for i in open_items) or FILL
    trigger = {"panic": ("the emergency stop was pressed", "der Notaus wurde gedrückt"),
               "isolation": ("a machine was isolated", "ein Rechner wurde isoliert"),
               "detection": ("notaus detected suspicious traffic (malware beaconing)",
                             "notaus hat verdächtigen Datenverkehr erkannt (Schadsoftware-Kommunikation)"),
               "manual": ("the incident was recorded by hand", "der Vorfall wurde von Hand erfasst")}.get(
        inc["trigger"], (inc["trigger"], inc["trigger"]))
    leak_en = (f"Data sent out during the suspect window: {sent_out} (total {_fmt_bytes(out_total)})."
               if out_total else "notaus saw no data volume leaving the practice that it could attribute; "
                                 "the IT provider checks the logs.")
    leak_de = (f"Während des verdächtigen Zeitraums hinausgesendete Daten: {sent_out} (gesamt "
               f"{_fmt_bytes(out_total)})." if out_total else
               "notaus hat keinen zuordenbaren Datenabfluss gesehen; der IT-Dienstleister prüft die Protokolle.")
    if en:
        authority = {
            "controller": practice or FILL,
            "dpo": dpo,
            "discovery": f"{_local(inc['knowledge_at'])}: {trigger[0]}.",
            "nature": (f"Suspected malware / ransomware attack on the practice IT. Affected machines: {host_names}. "
                       f"{leak_en} Type: {FILL} (e.g. encryption, unauthorised access, copy, publication)."),
            "people": f"Patients, possibly staff. Approximate number: {FILL}",
            "records": f"Name, address, date of birth, health insurance, treatment data, findings, lab values "
                       f"({FILL} delete what does not apply). Approximate number of records: {FILL}",
            "consequences": "Possible: extortion, publication of health data, discrimination, identity misuse; "
                            "treatment delays while systems are unavailable.",
            "measures_taken": taken,
            "measures_proposed": proposed,
            "late": "",
        }
        patients = {
            "nature": (f"On {_local(inc['knowledge_at'])} our practice noticed an attack on its IT systems. "
                       f"Data of patients may have been viewed, copied or encrypted: {FILL} (which data, e.g. "
                       f"name, address, treatment data). About {FILL} people and {FILL} records are affected."),
            "contact": dpo,
            "consequences": "Possible consequences: attempts at extortion, publication of your data, "
                            "fraudulent e-mails or calls in our name.",
            "measures": f"We disconnected the affected systems at once and reported the incident to the data "
                        f"protection authority and the police. What we did:\n{taken}\nPlease be careful with "
                        f"e-mails or calls that ask for money or data in our name.",
        }
    else:
        authority = {
            "controller": practice or FILL,
            "dpo": dpo,
            "discovery": f"{_local(inc['knowledge_at'])}: {trigger[1]}.",
            "nature": (f"Verdacht auf Schadsoftware/Verschlüsselungstrojaner in der Praxis-IT. Betroffene Geräte: "
                       f"{host_names}. {leak_de} Art: {FILL} (z.B. Verschlüsselung, unerlaubte Einsichtnahme, "
                       f"Kopie, Löschung, Veröffentlichung)."),
            "people": f"Patienten, ggf. Mitarbeiter, andere Praxen. Ungefähre Zahl: {FILL}",
            "records": f"Name, Adresse, Telefonnummer, Geburtsdatum, Versicherungsdaten, Behandlungsdaten, Befunde, "
                       f"Laborwerte ({FILL} Unzutreffendes streichen). Ungefähre Zahl der Datensätze: {FILL}",
            "consequences": "Möglich: Erpressungsversuch, Veröffentlichung von Gesundheitsdaten, Diskriminierung, "
                            "Identitätsmissbrauch; Verzögerung von Behandlungen, solange Systeme ausfallen.",
            "measures_taken": taken,
            "measures_proposed": proposed,
            "late": "",
        }
        patients = {
            "nature": (f"Am {_local(inc['knowledge_at'])} haben wir einen Angriff auf die IT unserer Praxis "
                       f"bemerkt. Dabei können Daten von Patienten eingesehen, kopiert oder verschlüsselt worden "
                       f"sein: {FILL} (welche Daten, z.B. Name, Adresse, Behandlungsdaten). Betroffen sind etwa "
                       f"{FILL} Personen und {FILL} Datensätze."),
            "contact": dpo,
            "consequences": "Mögliche Folgen: Erpressungsversuche, Veröffentlichung Ihrer Daten, betrügerische "
                            "E-Mails oder Anrufe in unserem Namen.",
            "measures": f"Wir haben die betroffenen Systeme sofort getrennt und den Vorfall der "
                        f"Datenschutzbehörde und der Polizei gemeldet. Was wir getan haben:\n{taken}\n"
                        f"Bitte seien Sie vorsichtig bei E-Mails oder Anrufen, die in unserem Namen Geld oder "
                        f"Daten verlangen.",
        }
    cd = f["countdown"]
    if cd["overdue"] or (cd["reported"] and cd["reported_at"] and parse_time(cd["reported_at"]) > parse_time(
            cd["deadline"])):
        authority["late"] = FILL
    return {"authority": authority, "patients": patients}


def drafts(mgr: IncidentManager, f: dict[str, Any], policy: Any, lang: str = "de") -> dict[str, dict[str, Any]]:
    """Generated drafts with the staff's saved edits laid over them, section by section."""
    gen = generated_drafts(f, policy, lang)
    out: dict[str, dict[str, Any]] = {}
    for kind, sections in gen.items():
        saved = mgr.draft(f["incident"]["id"], kind)
        merged = dict(sections)
        if saved:
            merged.update({k: v for k, v in saved["sections"].items() if k in sections})
        idx = 2 if lang == "en" else 1
        out[kind] = {"sections": [{"key": s[0], "label": s[idx], "text": merged.get(s[0], "")}
                                  for s in SECTIONS[kind]],
                     "edited_at": saved["updated_at"] if saved else None,
                     "edited_by": saved["actor"] if saved else None,
                     "missing": sum(1 for s in SECTIONS[kind] if FILL in merged.get(s[0], ""))}
    return out


__all__ = ["CHECKLISTS", "REPORT_HOURS", "SECTIONS", "countdown", "deadline", "describe", "drafts", "facts",
           "generated_drafts"]
