"""End to end: detection → isolation → panic → checklist → report, against the TR-064 simulator.

The report must tell the journal's story exactly (same entries, same hashes, in order) and carry a
head hash that ``notaus journal verify`` confirms; the PDF is rendered by ReportLab (as on a practice
box) and checked page by page as an image (PNGs kept under test-artifacts/incident/).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.cli import main as notaus
from notaus.controller.deadlines import DeadlineStore
from notaus.controller.engine import Engine
from notaus.controller.incident import IncidentManager, parse_time
from notaus.controller.report_export import export
from notaus.controller.reporting import countdown, drafts, facts
from tests.incident.conftest import DPO

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "incident"


class RowParser(HTMLParser):
    """Collects (seq, hash) of the report's timeline rows and the head hash."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, str]] = []
        self.head = ""
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-seq"):
            self.rows.append((int(a["data-seq"] or 0), a.get("data-hash") or ""))
        self._in_head = a.get("id") == "head-hash"

    def handle_data(self, data: str) -> None:
        if self._in_head:
            self.head += data.strip()
            self._in_head = False


def _detect(engine: Engine, pcap: Path) -> dict[str, Any]:
    """A high-score finding as the detection responder journals it, with a real evidence pcap."""
    pcap.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 20 + b"suspect frames")
    evidence = {"detection": {"src": "192.168.178.20", "dst": "203.0.113.7", "bytes_out": 1000},
                "bytes_out_internet": [{"dst": "203.0.113.7", "name": "c2.example", "bytes": 7_340_032},
                                       {"dst": "198.51.100.9", "name": None, "bytes": 1_048_576}],
                "pcap": str(pcap), "pcap_sha256": hashlib.sha256(pcap.read_bytes()).hexdigest(), "pcap_packets": 3}
    engine.journal.append("detection", {"src": "192.168.178.20", "score": 0.96, "band": "isolate"}, "detection")
    engine.journal.append("detection.decision", {
        "decision": "isolate", "src": "192.168.178.20", "dst": "203.0.113.7", "dst_port": 443, "proto": "tcp",
        "name": "c2.example", "score": 0.96, "kind": "beacon", "evidence": evidence}, "detection")
    return evidence


@pytest.fixture
def story(engine: Engine, incidents: IncidentManager, tmp_path: Path) -> dict[str, Any]:
    evidence = _detect(engine, tmp_path / "evidence.pcap")
    iso = engine.isolate("192.168.178.20", actor="detection", reason="Beaconing", source="detection",
                         evidence=evidence)
    panic = engine.panic("full", actor="staff:empfang")
    inc = incidents.current()
    assert inc is not None
    for item in ("calm", "disconnect", "call-provider"):
        incidents.tick(inc.id, item, actor="staff:empfang")
    incidents.tick(inc.id, "keep-disks", actor="provider:it-mueller", note="2 SSDs im Tresor")
    incidents.add_note(inc.id, "Erpresserbrief auf dem Bildschirm am Empfang", actor="staff:empfang")
    photo = incidents.add_file(inc.id, "bildschirm.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", actor="staff:empfang")
    return {"inc": incidents.get(inc.id), "iso": iso, "panic": panic, "photo": photo, "evidence": evidence}


def test_one_incident_opened_by_the_detection_holds_the_whole_story(story: dict[str, Any],
                                                                     incidents: IncidentManager) -> None:
    inc = story["inc"]
    assert story["iso"].outcome == "done" and story["panic"].outcome == "done"
    assert [i.id for i in incidents.all()] == [inc.id]          # isolation and panic joined it
    assert inc.trigger == "detection"
    # the story starts at the first finding about the host (the decision follows it)
    first, second = incidents.entries(inc)[:2]
    assert first.kind == "detection" and second.kind == "detection.decision"
    assert inc.knowledge_at == parse_time(first.ts).isoformat()
    f = facts(incidents, inc)
    kinds = [e.kind for e in f["entries"]]
    for k in ("isolate.request", "isolate.result", "panic.request", "panic.plan", "panic.result", "checklist.tick",
              "incident.note", "incident.photo"):
        assert k in kinds, k
    host = next(h for h in f["hosts"] if h["host"] == "192.168.178.20")
    assert host["bytes_out"] == 7_340_032 + 1_048_576 and host["detections"] == 1
    assert {a["what"]: a["outcome"] for a in f["actions"]} == {"isolate": "done", "panic": "done"}
    ticked = {i["id"] for cl in f["checklists"] for i in cl["items"] if i["done"]}
    assert ticked == {"calm", "disconnect", "call-provider", "keep-disks"}
    pcap = next(ev for ev in f["evidence"] if ev["kind"] == "pcap")
    assert pcap["sha256"] == story["evidence"]["pcap_sha256"] and pcap["matches"] is True
    photo = next(ev for ev in f["evidence"] if ev["kind"] == "photo")
    assert photo["sha256"] == hashlib.sha256(b"\xff\xd8\xff\xe0 not really a jpeg").hexdigest()
    assert photo["matches"] is True


def test_report_timeline_matches_the_journal_and_head_verifies(story: dict[str, Any], incidents: IncidentManager,
                                                                engine: Engine, policy_file: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    inc = story["inc"]
    out = export(incidents, inc, engine.policy, tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the report must not load anything"
    assert "<script" not in html
    parser = RowParser()
    parser.feed(html)
    journal_rows = [(e.seq, e.hash) for e in engine.journal.entries(after=inc.seq_start - 1, limit=10_000)]
    assert parser.rows == journal_rows
    head_entry = engine.journal.head()
    assert head_entry is not None and parser.head == head_entry.hash
    engine.close()   # the CLI opens the journal itself
    assert notaus(["--config", str(policy_file), "journal", "verify", "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["ok"] and verified["head_hash"] == parser.head


def test_drafts_have_the_four_parts_prefilled_and_keep_staff_edits(story: dict[str, Any],
                                                                    incidents: IncidentManager,
                                                                    engine: Engine) -> None:
    inc = story["inc"]
    d = drafts(incidents, facts(incidents, inc), engine.policy)
    patients = {s["key"]: s["text"] for s in d["patients"]["sections"]}
    assert list(patients) == ["nature", "contact", "consequences", "measures"]
    assert DPO["name"] in patients["contact"] and DPO["phone"] in patients["contact"]
    assert "[…]" in patients["nature"]                          # numbers only the practice knows
    authority = {s["key"]: s["text"] for s in d["authority"]["sections"]}
    assert "192.168.178.20" in authority["nature"] and "8.0 MB" in authority["nature"]
    assert "vom Internet getrennt" in authority["measures_taken"]
    assert "2 SSDs" not in authority["measures_taken"]          # notes stay out of the legal text
    assert "Backups" in authority["measures_proposed"]           # open restoration items are proposed
    entry = incidents.save_draft(inc.id, "patients", {"nature": "Am Montag wurden etwa 1200 Patientendaten "
                                                                "verschlüsselt."}, actor="staff:chefin")
    assert entry.kind == "incident.draft" and entry.data["sections"]["nature"].startswith("Am Montag")
    d2 = drafts(incidents, facts(incidents, inc), engine.policy)
    patients2 = {s["key"]: s["text"] for s in d2["patients"]["sections"]}
    assert patients2["nature"].startswith("Am Montag") and patients2["contact"] == patients["contact"]
    assert d2["patients"]["edited_by"] == "staff:chefin"


def test_countdown_follows_the_moment_of_knowledge_and_the_scheduler_reminds_from_it(
        story: dict[str, Any], incidents: IncidentManager, engine: Engine) -> None:
    inc = story["inc"]
    cd = countdown(inc)
    assert parse_time(cd["deadline"]) == parse_time(inc.knowledge_at) + timedelta(hours=72)
    assert 0 < cd["seconds_left"] <= 72 * 3600 and "noch 71 Std." in cd["text_de"]
    earlier = parse_time(inc.knowledge_at) - timedelta(hours=80)
    inc2 = incidents.set_knowledge(inc.id, earlier.isoformat(), actor="staff:chefin", reason="Brief schon Freitag")
    cd2 = countdown(inc2)
    assert cd2["overdue"] and "überschritten" in cd2["text_de"]
    store = DeadlineStore(engine.state.path)
    try:
        open_ = store.open_deadlines()
        assert [d.label for d in open_] == [inc.id] and open_[0].opened_at == earlier
        assert store.due_reminders([24, 48, 66, 71]) and store.due_reminders([24])[0][0].label == inc.id
        incidents.ack_reported(inc.id, actor="staff:chefin", reference="LDI-2024-17")
        assert store.open_deadlines() == []
    finally:
        store.close()
    assert countdown(incidents.get(inc.id))["reported"]
    assert incidents.followup_until() is not None
    d = drafts(incidents, facts(incidents, incidents.get(inc.id)), engine.policy)
    late = next(s for s in d["authority"]["sections"] if s["key"] == "late")
    assert late["text"] == "[…]"                                    # reported after 72 h: give the reason


def _gray_pages(pdf: Path, out_prefix: Path) -> list[tuple[int, int, bytes]]:
    """Render with pdftoppm: PNGs as artefacts, PGM for the pixel checks (no imaging library needed)."""
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out_prefix)], check=True, timeout=120)
    subprocess.run(["pdftoppm", "-r", "60", "-gray", str(pdf), str(out_prefix) + "-gray"], check=True, timeout=120)
    pages = []
    for pgm in sorted(out_prefix.parent.glob(out_prefix.name + "-gray-*.pgm")):
        data = pgm.read_bytes()
        m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
        assert m, pgm
        w, h = int(m.group(1)), int(m.group(2))
        pages.append((w, h, data[m.end():m.end() + w * h]))
        pgm.unlink()
    return pages


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler-utils (apt-get install poppler-utils)")
def test_pdf_pages_render_with_title_and_content(story: dict[str, Any], incidents: IncidentManager,
                                                 engine: Engine, tmp_path: Path) -> None:
    inc = story["inc"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("report-*"):
        old.unlink()
    pdf = export(incidents, inc, engine.policy, ARTIFACTS / "report.pdf", "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    pages = _gray_pages(pdf, ARTIFACTS / "report")
    assert len(pages) >= 2
    assert len(list(ARTIFACTS.glob("report-*.png"))) == len(pages)
    for n, (w, h, pixels) in enumerate(pages, 1):
        dark = sum(1 for p in pixels if p < 128)
        assert dark > w * h * 0.002, f"page {n} is blank"
    w, h, first = pages[0]
    # title band: the top ~12 % of page 1 holds the heading (large dark text and the red rule)
    band = first[: w * int(h * 0.12)]
    assert sum(1 for p in band if p < 128) > w * 2, "no title on page 1"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert f"Vorfallbericht {inc.id}" in text
    head_entry = engine.journal.head()
    assert head_entry is not None
    head = head_entry.hash
    assert head[:40] in text.replace("\n", "").replace(" ", "")
    assert "Sofortmaßnahmen" in text and "Wiederherstellungsmaßnahmen" in text and "KRBTGT" in text
