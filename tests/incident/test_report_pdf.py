"""The PDF report drawn by ReportLab: every journal row is in it, umlauts read back, both fonts work,
and a box without the renderer says so (CLI, API 503, ``notaus doctor``).

The PDF is read back with poppler (``pdftotext``, ``pdfinfo``, ``pdffonts``), which we did not write.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from notaus.controller import report_pdf
from notaus.controller.doctor import check_pdf
from notaus.controller.engine import Engine
from notaus.controller.incident import Incident, IncidentManager
from notaus.controller.report_export import export

from .conftest import bearer

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdffonts"),
                                   reason="needs poppler-utils (apt-get install poppler-utils)")
NOTE = "Größe der Übergabe: „Lösegeld“ – Maßnahme §3 <script>&amp;"


@pytest.fixture
def fresh_fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fonts are registered once per process; a test that changes the font source starts afresh."""
    monkeypatch.setattr(report_pdf, "_fonts", None)
    yield
    report_pdf._fonts = None


def _incident(engine: Engine, incidents: IncidentManager, notes: int) -> Incident:
    assert engine.panic("full", actor="staff:empfang").outcome == "done"
    inc = incidents.current()
    assert inc is not None
    incidents.tick(inc.id, "calm", actor="staff:empfang", note="Team informiert")
    for i in range(notes):
        incidents.add_note(inc.id, f"{NOTE} #{i}", actor="staff:empfang")
    return incidents.get(inc.id)


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def _pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    m = re.search(r"^Pages:\s+(\d+)", out, re.M)
    assert m, out
    return int(m.group(1))


@needs_poppler
def test_long_report_carries_every_timeline_row_in_order(engine: Engine, incidents: IncidentManager,
                                                        tmp_path: Path) -> None:
    inc = _incident(engine, incidents, notes=100)
    pdf = export(incidents, inc, engine.policy, tmp_path / "bericht.pdf", "pdf")
    assert _pages(pdf) >= 10
    text = _text(pdf)
    squeezed = re.sub(r"\s+", "", text)
    entries = incidents.entries(inc)
    assert len(entries) > 100
    # each row's own hash prefix, in journal order (the hash column is the last one of the timeline)
    start = squeezed.index("Zeitleiste(ausdemJournal)")            # the head hash also stands on page 1
    positions = [squeezed.find(e.hash[:16], start) for e in entries]
    assert -1 not in positions, [e.seq for e, pos in zip(entries, positions, strict=True) if pos < 0]
    assert positions == sorted(positions)
    head = engine.journal.head()
    assert head is not None and head.hash in squeezed
    assert f"Vorfallbericht {inc.id}" in text
    # user text comes out as typed: umlauts, typographic quotes, markup characters not interpreted
    assert f"{NOTE} #99" in " ".join(text.split())
    assert not list(tmp_path.glob(".bericht.pdf*")), "the temporary file is gone"


@needs_poppler
@pytest.mark.parametrize("font", ["dejavu", "vera"])
def test_fonts_are_embedded_and_umlauts_read_back(font: str, engine: Engine, incidents: IncidentManager,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  fresh_fonts: None) -> None:
    if font == "dejavu" and not (report_pdf.DEJAVU_DIR / "DejaVuSans.ttf").is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    if font == "vera":
        monkeypatch.setenv("NOTAUS_PDF_FONT_DIR", str(tmp_path / "no-fonts-here"))   # the wheel's own font
    inc = _incident(engine, incidents, notes=1)
    pdf = export(incidents, inc, engine.policy, tmp_path / "bericht.pdf", "pdf", lang="en")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    want = "DejaVuSans" if font == "dejavu" else "BitstreamVeraSans"
    rows = [ln.split() for ln in fonts.splitlines() if want in ln]
    assert rows, fonts
    assert all(r[-5:-2] == ["yes", "yes", "yes"] for r in rows), fonts      # embedded, subset, ToUnicode
    text = _text(pdf)
    assert f"Incident report {inc.id}" in text and f"{NOTE} #0" in " ".join(text.split())
    assert "Team informiert" in text


def test_without_reportlab_cli_api_and_doctor_say_what_to_do(app: Flask, client: FlaskClient,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             fresh_fonts: None) -> None:
    ok = check_pdf()
    assert ok.status == "ok" and "ReportLab" in ok.detail, ok
    monkeypatch.setattr(report_pdf, "_fonts", None)
    monkeypatch.setitem(sys.modules, "reportlab.pdfbase", None)        # as if the wheel were not installed
    line = check_pdf()
    assert line.status == "warning" and "install.sh" in line.advice_de and "ReportLab" in line.detail, line
    staff = bearer(app, "staff")
    r = client.post("/api/v1/incidents", json={"note": "von Hand"}, headers=staff)
    assert r.status_code == 201, r.get_json()
    inc = r.get_json()["id"]
    pdf = client.get(f"/api/v1/incidents/{inc}/report?format=pdf", headers=staff)
    assert pdf.status_code == 503 and pdf.get_json()["error"] == "pdf_unavailable", pdf.get_json()
    assert "ReportLab" in pdf.get_json()["detail"] and "format=html" in pdf.get_json()["detail"]
    assert client.get(f"/api/v1/incidents/{inc}/report", headers=staff).status_code == 200
