"""``notaus incident …`` through the real CLI entry point, on a journal a real panic wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.cli import main as notaus
from notaus.controller.engine import Engine
from notaus.policies.loader import load_policy


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = notaus(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else out


def test_panic_in_another_process_is_picked_up_and_reported(policy_file: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    eng = Engine.from_policy(load_policy(policy_file), base_dir=policy_file.parent)
    try:
        assert eng.panic("full", actor="cli:empfang").outcome == "done"   # no incident listener here
    finally:
        eng.close()
    cfg = ("--config", str(policy_file))
    code, doc = run(capsys, *cfg, "incident", "list", "--json")
    assert code == 0 and len(doc["incidents"]) == 1
    inc = doc["incidents"][0]
    assert inc["trigger"] == "panic" and inc["status"] == "open" and not inc["countdown"]["overdue"]
    photo = tmp_path / "screen.png"
    photo.write_bytes(b"\x89PNG fake screenshot")
    code, doc = run(capsys, *cfg, "incident", "note", "current", "Bildschirm rot", "--photo", str(photo), "--json")
    assert code == 0 and len(doc["file"]["sha256"]) == 64
    code, doc = run(capsys, *cfg, "incident", "tick", inc["id"], "police", "--json")
    assert code == 0 and doc["done"] is True
    with pytest.raises(SystemExit) as exc:                   # argparse names the known items
        notaus([*cfg, "incident", "tick", inc["id"], "no-such-item"])
    assert exc.value.code == 2 and "krbtgt" in capsys.readouterr().err
    code, doc = run(capsys, *cfg, "incident", "show", inc["id"], "--json")
    assert code == 0
    police = next(i for cl in doc["checklists"] for i in cl["items"] if i["id"] == "police")
    assert police["done"] and police["actor"].startswith("cli:")
    assert any(ev["kind"] == "photo" for ev in doc["evidence"])
    out = tmp_path / "bericht.html"
    code, doc = run(capsys, *cfg, "incident", "report", inc["id"], "--format", "html", "-o", str(out), "--json")
    assert code == 0 and out.is_file() and doc["journal_head"] in out.read_text(encoding="utf-8")
    code, doc = run(capsys, *cfg, "incident", "ack-reported", inc["id"], "--reference", "LDI-1", "--json")
    assert code == 0 and doc["countdown"]["reported"] and doc["report_reference"] == "LDI-1"
    code, doc = run(capsys, *cfg, "incident", "open", "--json")
    assert code == 0 and doc["id"] == inc["id"]            # one open incident at a time
    code, out_text = run(capsys, *cfg, "incident", "show", "nope")
    assert code == 1 and "notaus incident list" in out_text


def test_pdf_without_reportlab_says_what_to_do(policy_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from notaus.controller import report_pdf

    cfg = ("--config", str(policy_file))
    assert run(capsys, *cfg, "incident", "open", "--note", "von Hand", "--json")[0] == 0
    monkeypatch.setattr(report_pdf, "_fonts", None)
    monkeypatch.setitem(sys.modules, "reportlab.pdfbase", None)        # as if the wheel were not installed
    code, out = run(capsys, *cfg, "incident", "report", "current", "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert code == 1 and "ReportLab" in out and "install.sh" in out and not (tmp_path / "x.pdf").exists()
    assert not list(tmp_path.glob(".x.pdf*"))
    code, out = run(capsys, *cfg, "incident", "report", "current", "--format", "html", "-o", str(tmp_path / "x.html"))
    assert code == 0 and (tmp_path / "x.html").is_file()
