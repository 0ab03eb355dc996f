"""The incident report as PDF, drawn with ReportLab (pure Python, a pip dependency).

Why not a browser: a practice box (Raspberry Pi) installed with ``deploy/install.sh`` has no
Chromium, and Chromium with its libraries costs hundreds of MB of disk and of RAM while printing.
ReportLab is one pure-Python wheel (plus Pillow); the same report data as the HTML report
(:func:`controller.report_export.context`) is laid out here as paragraphs and tables, so both say
the same thing. Figures: ``bench/bench_report_pdf.py``.

Fonts are embedded (subset) so the PDF reads the same anywhere, years later: DejaVu Sans from
Debian's ``fonts-dejavu-core`` where installed (wide Unicode coverage), else Bitstream Vera, which
ships inside the ReportLab wheel (Latin-1 with umlauts, ß, „“ and –; free to redistribute, see
``reportlab/fonts/bitstream-vera-license.txt``). Check boxes are drawn, not taken from a font.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
RED = "#b00020"


class PdfUnavailable(RuntimeError):
    """The PDF renderer is not installed; the message says what to do."""


@dataclass(frozen=True)
class Fonts:
    """Registered font names: body family (regular/bold/italic) and a monospace face for hashes."""

    regular: str
    bold: str
    italic: str
    mono: str
    source: str        # where the body font came from (for ``notaus doctor``)


_fonts: Fonts | None = None


def _font_files() -> tuple[dict[str, Path], dict[str, Path] | None, str]:
    """Body font files (regular/bold/italic/bolditalic) and an optional mono face, preferring DejaVu."""
    override = os.environ.get("NOTAUS_PDF_FONT_DIR")        # tests: force the fallback
    base = Path(override) if override is not None else DEJAVU_DIR
    dejavu = {"regular": base / "DejaVuSans.ttf", "bold": base / "DejaVuSans-Bold.ttf",
              "italic": base / "DejaVuSans-Oblique.ttf", "bolditalic": base / "DejaVuSans-BoldOblique.ttf"}
    mono = {"regular": base / "DejaVuSansMono.ttf"}
    if all(p.is_file() for p in dejavu.values()):
        return dejavu, (mono if mono["regular"].is_file() else None), f"DejaVu Sans ({base})"
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts"
    files = {"regular": vera / "Vera.ttf", "bold": vera / "VeraBd.ttf", "italic": vera / "VeraIt.ttf",
             "bolditalic": vera / "VeraBI.ttf"}
    return files, None, "Bitstream Vera (ReportLab)"


def fonts() -> Fonts:
    """Register the fonts once per process (ReportLab keeps a global registry)."""
    global _fonts
    if _fonts is not None:
        return _fonts
    try:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
    except ImportError as exc:
        raise PdfUnavailable("ReportLab fehlt für den PDF-Export: 'pip install reportlab' in der notaus-Umgebung "
                             "oder deploy/install.sh erneut ausführen; --format html geht ohne "
                             f"(ReportLab is missing: {exc})") from None
    body, mono, source = _font_files()
    tag = body["regular"].stem.lower()        # ReportLab keeps the first font registered under a name
    names = {k: f"notaus-{tag}-{k}" for k in body}
    for key, path in body.items():
        pdfmetrics.registerFont(TTFont(names[key], str(path)))
    pdfmetrics.registerFontFamily(f"notaus-{tag}", normal=names["regular"], bold=names["bold"], italic=names["italic"],
                                  boldItalic=names["bolditalic"])
    mono_name = "Courier"        # a PDF core font: hashes and codes are ASCII
    if mono:
        pdfmetrics.registerFont(TTFont("notaus-mono", str(mono["regular"])))
        mono_name = "notaus-mono"
    _fonts = Fonts(names["regular"], names["bold"], names["italic"], mono_name, source)
    return _fonts


def _g(obj: Any, key: str, default: Any = None) -> Any:
    """Field of a dict or attribute of an object (the report data mixes both, as Jinja reads them)."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _x(value: Any) -> str:
    """Text for ReportLab's paragraph markup: escaped, line breaks kept."""
    return escape("" if value is None else str(value)).replace("\n", "<br/>")


def render_pdf(ctx: dict[str, Any], out: str | Path) -> Path:
    """Write the report described by ``ctx`` (see :func:`controller.report_export.context`) to ``out``."""
    f = fonts()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Flowable,
        HRFlowable,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    class Tick(Flowable):
        """A drawn check box (no font has to carry ☑/☐)."""

        def __init__(self, done: bool, size: float = 3.2 * mm) -> None:
            super().__init__()
            self.done, self.size = done, size
            self.width = self.height = size

        def draw(self) -> None:
            c, s = self.canv, self.size
            c.setLineWidth(0.8)
            c.setStrokeColor(colors.black)
            c.rect(0, 0, s, s)
            if self.done:
                c.setLineWidth(1.3)
                c.lines([(s * 0.18, s * 0.5, s * 0.42, s * 0.2), (s * 0.42, s * 0.2, s * 0.85, s * 0.85)])

    t, inc, fa, lang = ctx["t"], ctx["inc"], ctx["f"], ctx["lang"]
    local: Callable[[Any], str] = ctx["local"]
    describe: Callable[[Any, str], str] = ctx["describe"]
    fmt_bytes: Callable[[Any], str] = ctx["fmt_bytes"]

    base = ParagraphStyle("body", fontName=f.regular, bulletFontName=f.regular, fontSize=9.5, leading=12.5,
                          splitLongWords=1)
    cell = ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5)
    bold_cell = ParagraphStyle("boldcell", parent=cell, fontName=f.bold)
    head_cell = ParagraphStyle("headcell", parent=cell, fontName=f.bold)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#444444"))
    mono = ParagraphStyle("mono", parent=cell, fontName=f.mono, fontSize=7, leading=9)
    h1 = ParagraphStyle("h1", parent=base, fontName=f.bold, fontSize=17, leading=21, spaceAfter=3)
    h2 = ParagraphStyle("h2", parent=base, fontName=f.bold, fontSize=12.5, leading=15, spaceBefore=10, spaceAfter=1)
    h3 = ParagraphStyle("h3", parent=base, fontName=f.bold, fontSize=10.5, leading=13, spaceBefore=7, spaceAfter=3)
    fill = ParagraphStyle("fill", parent=small, backColor=colors.HexColor("#fff59d"))

    doc = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"{t['title']} {inc.id} – {ctx['practice']}",
                            author="notaus", subject=t["title"], lang=lang, initialFontName=f.regular)
    width = doc.width
    grid = [("FONTNAME", (0, 0), (-1, -1), f.regular),
            ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#999999")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]
    story: list[Any] = []

    def p(text: Any, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(_x(text), style)

    pending: list[Any] = []        # headings waiting for the first thing under them

    def add(*flowables: Any) -> None:
        """Append; a heading goes to the next page together with the start of its section."""
        if pending:
            story.append(KeepTogether([*pending, flowables[0]]))
            pending.clear()
            flowables = flowables[1:]
        story.extend(flowables)

    def h(text: str, level: int = 2) -> None:
        if level == 2:
            pending.append(Paragraph(_x(text), h2))
            pending.append(HRFlowable(width="100%", thickness=1, color=colors.HexColor("#bbbbbb"), spaceAfter=4))
        else:
            pending.append(Paragraph(_x(text), h3))

    def table(header: list[str] | None, rows: list[list[Any]], widths: list[float]) -> None:
        data = ([[p(c, head_cell) for c in header]] if header else []) + [
            [c if isinstance(c, Flowable) else p(c) for c in row] for row in rows]
        style = list(grid)
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
        add(Table(data, colWidths=[w * width for w in widths], repeatRows=1 if header else 0,
                  style=TableStyle(style), hAlign="LEFT", spaceAfter=5))

    def facts_table(rows: list[tuple[str, Any]]) -> None:
        data = [[p(k, bold_cell), v if isinstance(v, Flowable) else p(v)] for k, v in rows]
        add(Table(data, colWidths=[0.34 * width, 0.66 * width], style=TableStyle(grid), hAlign="LEFT",
                  spaceAfter=5))

    def none() -> None:
        add(p(t["none"], base))

    # ---------------------------------------------------------------- head
    story.append(Paragraph(_x(f"{t['title']} {inc.id} – {ctx['practice']}"), h1))
    story.append(HRFlowable(width="100%", thickness=3, color=colors.HexColor(RED), spaceAfter=4))
    story.append(p(f"{t['generated']}: {ctx['generated']} · notaus", small))
    story.append(Spacer(1, 4))
    facts_table([(t["incident"], f"{inc.id} – {inc.title}"), (t["trigger"], inc.trigger),
                 (t["status"], inc.status), (t["knowledge"], local(inc.knowledge_at)),
                 (t["opened"], local(inc.opened_at))])
    deadline = Table([[Paragraph(_x(f"{t['deadline']}: {ctx['countdown_text']}"),
                                 ParagraphStyle("dl", parent=base, fontName=f.bold))]], colWidths=[width],
                     style=TableStyle([("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor(RED)),
                                       ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fff3f3")),
                                       ("LEFTPADDING", (0, 0), (-1, -1), 8), ("TOPPADDING", (0, 0), (-1, -1), 6),
                                       ("BOTTOMPADDING", (0, 0), (-1, -1), 7)]), spaceBefore=3, spaceAfter=3)
    story.append(deadline)

    # ---------------------------------------------------------------- integrity
    head, verify = ctx["head"], ctx["verify"]
    h(t["integrity"])
    add(p(t["integrity_hint"], base))
    add(Spacer(1, 4))
    ok = (f'<font color="#0a6b0a"><b>OK</b></font> ({_x(verify["checked"])})' if verify["ok"] else
          f'<font color="{RED}"><b>{_x("; ".join(verify["problems"]))}</b></font> ({_x(verify["checked"])})')
    facts_table([(t["head"], Paragraph(f"#{_x(_g(head, 'seq', 0))} <font name='{f.mono}' size='7.5'>"
                                       f"{_x(_g(head, 'hash', ''))}</font>", cell)),
                 (t["verify"], Paragraph(ok, cell)),
                 (t["range"], f"#{inc.seq_start} – #{ctx['last_seq']}")])

    # ---------------------------------------------------------------- hosts, actions, detections
    h(t["hosts"])
    if fa["hosts"]:
        table([t["host"], t["isolated"], t["detections"], t["bytes_out"]],
              [[x["host"], x["isolated"] or "–", x["detections"], fmt_bytes(x["bytes_out"])] for x in fa["hosts"]],
              [0.34, 0.3, 0.16, 0.2])
    else:
        none()
    h(t["actions"])
    if fa["actions"]:
        table(["#", t["time"], t["who"], t["what"]],
              [[a["seq"], local(a["ts"]), a["actor"],
                f"{a['what']}{' ' + str(a['host']) if a.get('host') else ''}: {a['outcome']}"]
               for a in fa["actions"]], [0.06, 0.17, 0.24, 0.53])
    else:
        none()
    if fa["warnings"]:
        h(t["warnings"], 3)
        for w in fa["warnings"]:
            add(Paragraph(_x(w), base, bulletText="•"))
    h(t["detections"])
    if fa["detections"]:
        table(["#", t["time"], t["host"], t["target"], t["score"], t["bytes_out"]],
              [[d["seq"], local(d["ts"]), d["src"], f"{d['name'] or d['dst']} ({d['kind']})", d["score"],
                fmt_bytes(d["bytes_out"] or 0)] for d in fa["detections"]], [0.06, 0.16, 0.17, 0.3, 0.13, 0.18])
    else:
        none()

    # ---------------------------------------------------------------- checklists
    h(t["checklists"])
    for cl in fa["checklists"]:
        title = Paragraph(_x(f"{cl['title']} ({cl['chapter']}) – {cl['done']}/{cl['total']}"), h3)
        rows = []
        for i in cl["items"]:
            text = _x(i["text"]) + (f" <i>– {_x(i['note'])}</i>" if i.get("note") else "")
            who = f"{_x(i['actor'])}<br/>{_x(local(i['ts']))}" if i["done"] else ""
            rows.append([Tick(bool(i["done"])), Paragraph(text, cell), Paragraph(who, small)])
        style = [*grid, ("ALIGN", (0, 0), (0, -1), "CENTER"), ("TOPPADDING", (0, 0), (0, -1), 3.5)]
        tbl = Table(rows, colWidths=[0.05 * width, 0.7 * width, 0.25 * width], style=TableStyle(style),
                    hAlign="LEFT", spaceAfter=4)
        if len(rows) <= 12:
            add(KeepTogether([title, tbl]))
        else:
            pending.append(title)
            add(tbl)

    # ---------------------------------------------------------------- evidence, notes
    h(t["evidence"])
    if fa["evidence"]:
        rows = []
        for ev in fa["evidence"]:
            matches = "–" if ev["matches"] is None else (t["yes"] if ev["matches"] else t["no"])
            rows.append([f"{ev['kind']}: {ev.get('name') or ev['path']}", Paragraph(_x(ev["sha256"] or "–"), mono),
                         f"{t['yes'] if ev['present'] else t['no']} / {matches}"])
        table([t["file"], "SHA-256", t["present"]], rows, [0.36, 0.4, 0.24])
    else:
        none()
    if fa["notes"]:
        h(t["notes"])
        for n in fa["notes"]:
            add(Paragraph(_x(f"{local(n['ts'])} {n['actor']}: {n['text']}"), base, bulletText="•"))

    # ---------------------------------------------------------------- drafts
    h(t["drafts"])
    for kind in ("authority", "patients"):
        d = ctx["drafts"][kind]
        h(t[kind], 3)
        if d["missing"]:
            add(p(f"{t['missing']} ({d['missing']})", fill))
            add(Spacer(1, 3))
        for s in d["sections"]:
            if s["text"]:
                add(Paragraph(f"<b>{_x(s['label'])}:</b> {_x(s['text'])}",
                                       ParagraphStyle("draft", parent=base, spaceAfter=4)))

    # ---------------------------------------------------------------- timeline
    h(t["timeline"])
    rows = [[e.seq, local(e.ts), e.actor,
             Paragraph(f"<font name='{f.mono}' size='7'>{_x(e.kind)}</font> {_x(describe(e, lang))}", cell),
             Paragraph(_x(e.hash[:16]), mono)] for e in fa["entries"]]
    table(["#", t["time"], t["who"], t["what"], t["hash"]], rows, [0.06, 0.17, 0.17, 0.45, 0.15])

    footer = f"{t['title']} {inc.id} – {ctx['practice']}"

    def on_page(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(f.regular, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(14 * mm, 9 * mm, footer)
        canvas.drawRightString(A4[0] - 14 * mm, 9 * mm, f"{canvas.getPageNumber()}")
        canvas.restoreState()

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return Path(out)


def pdf_check() -> tuple[bool, str]:
    """Can this box write the PDF report? Renders a one-line PDF in memory (for ``notaus doctor``)."""
    try:
        f = fonts()
        from io import BytesIO

        from reportlab.pdfgen import canvas

        buf = BytesIO()
        c = canvas.Canvas(buf)
        c.setFont(f.regular, 12)
        c.drawString(72, 720, "Prüfung äöüß „notaus“")
        c.save()
    except PdfUnavailable as exc:
        return False, str(exc)
    except Exception as exc:            # a broken font file, a half-installed wheel
        return False, f"PDF-Export geht nicht (PDF export fails): {exc!r}"
    ok = buf.getvalue().startswith(b"%PDF-")
    return ok, f"PDF-Export mit ReportLab, Schrift {f.source}" if ok else "ReportLab wrote no PDF"
