"""The incident report as one self-contained document (HTML with inline CSS, or PDF).

Self-contained because it travels: to the insurer, the police, the data protection authority, a
forensic examiner — by e-mail or on a stick, opened years later without notaus. No scripts, no
external fonts or images. It carries the journal's head hash at the time of writing and each
timeline entry's own hash, so a reader can check it against ``notaus journal verify``.

The PDF is drawn by ReportLab (:mod:`controller.report_pdf`) from the same data as the HTML
(:func:`context`), so it works on a practice box installed with ``deploy/install.sh`` without a browser.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from notaus.controller.incident import Incident, IncidentManager, utcnow
from notaus.controller.report_pdf import PdfUnavailable, render_pdf
from notaus.controller.reporting import _local, describe, drafts, facts


class PdfFailed(RuntimeError):
    """The renderer is there but could not write this report."""


#: the name callers used while the PDF came from Chromium; the same exception now
ChromiumMissing = PdfUnavailable


L: dict[str, tuple[str, str]] = {
    "title": ("Vorfallbericht", "Incident report"),
    "incident": ("Vorfall", "Incident"),
    "trigger": ("Auslöser", "Trigger"),
    "status": ("Status", "Status"),
    "knowledge": ("Zeitpunkt der Kenntnis", "Moment of knowledge"),
    "opened": ("Eröffnet", "Opened"),
    "deadline": ("Meldefrist (72 Stunden)", "Reporting deadline (72 hours)"),
    "integrity": ("Prüfung der Echtheit", "Integrity check"),
    "integrity_hint": ("Dieser Bericht ist ein Auszug aus dem manipulationssicheren Journal. Auf dem Notaus-Gerät "
                       "zeigt „notaus journal verify“ den Kopf-Hash; er muss dem unten genannten entsprechen (oder "
                       "das Journal ist seitdem nur gewachsen: dann ist der Eintrag mit derselben Nummer "
                       "unverändert). Jede Zeile der Zeitleiste trägt den Hash ihres Journal-Eintrags.",
                       "This report is an excerpt of the tamper-evident journal. On the notaus box, "
                       "'notaus journal verify' prints the head hash; it must equal the one below (or the journal "
                       "has only grown since: then the entry with the same number is unchanged). Every timeline "
                       "row carries the hash of its journal entry."),
    "head": ("Journal-Kopf beim Erstellen", "Journal head when written"),
    "verify": ("Kette geprüft", "Chain verified"),
    "range": ("Einträge dieses Vorfalls", "Entries of this incident"),
    "hosts": ("Betroffene Geräte", "Affected machines"),
    "host": ("Gerät", "Machine"),
    "isolated": ("Isoliert", "Isolated"),
    "detections": ("Erkennungen", "Detections"),
    "bytes_out": ("Hinausgesendet", "Sent out"),
    "actions": ("Maßnahmen von notaus", "Actions by notaus"),
    "timeline": ("Zeitleiste (aus dem Journal)", "Timeline (from the journal)"),
    "time": ("Zeit", "Time"),
    "who": ("Wer", "Who"),
    "what": ("Was", "What"),
    "hash": ("Hash", "Hash"),
    "checklists": ("Checklisten", "Checklists"),
    "evidence": ("Beweismittel", "Evidence"),
    "file": ("Datei", "File"),
    "present": ("vorhanden / Hash stimmt", "present / hash matches"),
    "drafts": ("Entwürfe der Meldungen", "Draft notifications"),
    "authority": ("Meldung an die Datenschutzbehörde (Art. 33 DSGVO)",
                  "Report to the data protection authority (Art. 33 GDPR)"),
    "patients": ("Benachrichtigung der Patienten (Art. 34 DSGVO)", "Notification of patients (Art. 34 GDPR)"),
    "missing": ("Noch auszufüllen: Stellen mit […]", "Still to fill in: places marked […]"),
    "notes": ("Notizen", "Notes"),
    "none": ("keine", "none"),
    "generated": ("Erstellt", "Generated"),
    "yes": ("ja", "yes"),
    "no": ("nein", "no"),
    "score": ("Bewertung", "Score"),
    "target": ("Ziel", "Destination"),
    "warnings": ("Angezeigte Warnungen", "Warnings shown"),
}

CSS = """
@page { size: A4; margin: 16mm 14mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #111; margin: 0;
       line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 4pt; border-bottom: 3pt solid #b00020; padding-bottom: 4pt; }
h2 { font-size: 12.5pt; margin: 14pt 0 5pt; color: #222; border-bottom: 1pt solid #bbb; }
h3 { font-size: 11pt; margin: 9pt 0 3pt; }
table { width: 100%; border-collapse: collapse; margin: 3pt 0 6pt; }
th, td { border: 0.6pt solid #999; padding: 2.5pt 4pt; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { page-break-inside: avoid; }
.facts td:first-child { width: 34%; font-weight: bold; }
.hash, code { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; word-break: break-all; }
.box { border: 1.2pt solid #333; padding: 6pt 8pt; margin: 6pt 0; page-break-inside: avoid; }
.deadline { border-color: #b00020; background: #fff3f3; font-weight: bold; }
.ok { color: #0a6b0a; font-weight: bold; } .bad { color: #b00020; font-weight: bold; }
.tick { font-size: 12pt; width: 14pt; text-align: center; }
.small { font-size: 8.5pt; color: #444; }
.draft p { white-space: pre-wrap; margin: 0 0 5pt; }
.fill { background: #fff59d; }
"""

TEMPLATE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ t.title }} {{ inc.id }} – {{ practice }}</title>
<style>{{ css }}</style></head>
<body>
<h1 id="report-title">{{ t.title }} {{ inc.id }} – {{ practice }}</h1>
<p class="small">{{ t.generated }}: {{ generated }} · notaus</p>
<table class="facts">
<tr><td>{{ t.incident }}</td><td>{{ inc.id }} – {{ inc.title }}</td></tr>
<tr><td>{{ t.trigger }}</td><td>{{ inc.trigger }}</td></tr>
<tr><td>{{ t.status }}</td><td>{{ inc.status }}</td></tr>
<tr><td>{{ t.knowledge }}</td><td>{{ local(inc.knowledge_at) }}</td></tr>
<tr><td>{{ t.opened }}</td><td>{{ local(inc.opened_at) }}</td></tr>
</table>
<div class="box deadline" id="deadline">{{ t.deadline }}: {{ countdown_text }}</div>

<h2 id="integrity">{{ t.integrity }}</h2>
<p>{{ t.integrity_hint }}</p>
<table class="facts">
<tr><td>{{ t.head }}</td><td>#{{ head.seq if head else 0 }} <span class="hash" id="head-hash">{{ head.hash if head else '' }}</span></td></tr>
<tr><td>{{ t.verify }}</td><td>{% if verify.ok %}<span class="ok">OK</span>{% else %}<span class="bad">{{ verify.problems|join('; ') }}</span>{% endif %} ({{ verify.checked }})</td></tr>
<tr><td>{{ t.range }}</td><td>#{{ inc.seq_start }} – #{{ last_seq }}</td></tr>
</table>

<h2>{{ t.hosts }}</h2>
{% if f.hosts %}<table><tr><th>{{ t.host }}</th><th>{{ t.isolated }}</th><th>{{ t.detections }}</th><th>{{ t.bytes_out }}</th></tr>
{% for h in f.hosts %}<tr><td>{{ h.host }}</td><td>{{ h.isolated or '–' }}</td><td>{{ h.detections }}</td><td>{{ fmt_bytes(h.bytes_out) }}</td></tr>{% endfor %}
</table>{% else %}<p>{{ t.none }}</p>{% endif %}

<h2>{{ t.actions }}</h2>
{% if f.actions %}<table><tr><th>#</th><th>{{ t.time }}</th><th>{{ t.who }}</th><th>{{ t.what }}</th></tr>
{% for a in f.actions %}<tr><td>{{ a.seq }}</td><td>{{ local(a.ts) }}</td><td>{{ a.actor }}</td><td>{{ a.what }}{% if a.host %} {{ a.host }}{% endif %}: {{ a.outcome }}</td></tr>{% endfor %}
</table>{% else %}<p>{{ t.none }}</p>{% endif %}
{% if f.warnings %}<h3>{{ t.warnings }}</h3><ul>{% for w in f.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}

<h2>{{ t.detections }}</h2>
{% if f.detections %}<table><tr><th>#</th><th>{{ t.time }}</th><th>{{ t.host }}</th><th>{{ t.target }}</th><th>{{ t.score }}</th><th>{{ t.bytes_out }}</th></tr>
{% for d in f.detections %}<tr><td>{{ d.seq }}</td><td>{{ local(d.ts) }}</td><td>{{ d.src }}</td><td>{{ d.name or d.dst }} ({{ d.kind }})</td><td>{{ d.score }}</td><td>{{ fmt_bytes(d.bytes_out or 0) }}</td></tr>{% endfor %}
</table>{% else %}<p>{{ t.none }}</p>{% endif %}

<h2>{{ t.checklists }}</h2>
{% for cl in f.checklists %}<h3>{{ cl.title }} ({{ cl.chapter }}) – {{ cl.done }}/{{ cl.total }}</h3>
<table>{% for i in cl['items'] %}<tr><td class="tick">{{ '☑' if i.done else '☐' }}</td><td>{{ i.text }}{% if i.note %} <em>– {{ i.note }}</em>{% endif %}</td><td class="small">{% if i.done %}{{ i.actor }}<br>{{ local(i.ts) }}{% endif %}</td></tr>{% endfor %}</table>
{% endfor %}

<h2>{{ t.evidence }}</h2>
{% if f.evidence %}<table><tr><th>{{ t.file }}</th><th>SHA-256</th><th>{{ t.present }}</th></tr>
{% for ev in f.evidence %}<tr><td>{{ ev.kind }}: {{ ev.name or ev.path }}</td><td class="hash">{{ ev.sha256 or '–' }}</td><td>{{ t.yes if ev.present else t.no }} / {{ '–' if ev.matches is none else (t.yes if ev.matches else t.no) }}</td></tr>{% endfor %}
</table>{% else %}<p>{{ t.none }}</p>{% endif %}

{% if f.notes %}<h2>{{ t.notes }}</h2><ul>{% for n in f.notes %}<li>{{ local(n.ts) }} {{ n.actor }}: {{ n.text }}</li>{% endfor %}</ul>{% endif %}

<h2>{{ t.drafts }}</h2>
{% for kind in ('authority', 'patients') %}<div class="draft"><h3>{{ t[kind] }}</h3>
{% if drafts[kind].missing %}<p class="small fill">{{ t.missing }} ({{ drafts[kind].missing }})</p>{% endif %}
{% for s in drafts[kind].sections %}{% if s.text %}<p><strong>{{ s.label }}:</strong> {{ s.text }}</p>{% endif %}{% endfor %}</div>
{% endfor %}

<h2 id="timeline">{{ t.timeline }}</h2>
<table id="timeline-table"><tr><th>#</th><th>{{ t.time }}</th><th>{{ t.who }}</th><th>{{ t.what }}</th><th>{{ t.hash }}</th></tr>
{% for e in f.entries %}<tr data-seq="{{ e.seq }}" data-hash="{{ e.hash }}"><td>{{ e.seq }}</td><td>{{ local(e.ts) }}</td><td>{{ e.actor }}</td><td><code>{{ e.kind }}</code> {{ describe(e, lang) }}</td><td class="hash">{{ e.hash[:16] }}</td></tr>{% endfor %}
</table>
</body></html>
"""  # noqa: E501 - one table row per template line reads better than wrapped markup

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_template = _env.from_string(TEMPLATE)


def _fmt_bytes(n: Any) -> str:
    try:
        value = float(n or 0)
    except (TypeError, ValueError):
        return "–"
    if value <= 0:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def build(mgr: IncidentManager, inc: Incident, policy: Any, lang: str = "de",
          now: datetime | None = None) -> dict[str, Any]:
    """All report data (also what ``GET /api/v1/incidents/<id>`` answers, minus the raw entries)."""
    f = facts(mgr, inc, lang)
    verify = mgr.journal.verify()
    return {"facts": f, "drafts": drafts(mgr, f, policy, lang), "verify": verify.to_dict(),
            "generated": (now or utcnow()).isoformat(), "lang": lang, "practice": policy.practice}


def context(mgr: IncidentManager, inc: Incident, policy: Any, lang: str = "de") -> dict[str, Any]:
    """What the HTML template and the PDF renderer lay out: labels in ``lang``, the report data, helpers."""
    doc = build(mgr, inc, policy, lang)
    f = doc["facts"]
    idx = 1 if lang == "en" else 0
    t = {k: v[idx] for k, v in L.items()}
    entries = f["entries"]
    return dict(
        t=t, lang=lang, css=CSS, inc=inc, f=f, drafts=doc["drafts"], practice=policy.practice,
        head=f["journal_head"], verify=doc["verify"], last_seq=entries[-1].seq if entries else inc.seq_start,
        countdown_text=f["countdown"]["text_en" if lang == "en" else "text_de"],
        generated=_local(doc["generated"]), local=lambda ts: _local(ts) if ts else "", describe=describe,
        fmt_bytes=_fmt_bytes)


def render_html(mgr: IncidentManager, inc: Incident, policy: Any, lang: str = "de") -> str:
    return _template.render(**context(mgr, inc, policy, lang))


def export(mgr: IncidentManager, inc: Incident, policy: Any, out: str | Path, fmt: str = "html",
           lang: str = "de") -> Path:
    """Write the report to ``out`` as ``html`` or ``pdf``."""
    out = Path(out)
    if fmt == "html":
        html = render_html(mgr, inc, policy, lang)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        return out
    if fmt != "pdf":
        raise ValueError("format must be html or pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx = context(mgr, inc, policy, lang)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        render_pdf(ctx, tmp)
        tmp.replace(out)                  # no half-written report under the asked-for name
    except PdfUnavailable:
        raise
    except Exception as exc:
        raise PdfFailed(f"PDF konnte nicht erstellt werden; --format html verwenden (PDF failed: {exc!r})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out
