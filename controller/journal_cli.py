"""``notaus journal verify`` and ``notaus journal anchor``: what a forensic examiner runs.

Both answer with a sentence (or one JSON document with ``--json``) for every state of the files,
including a damaged database or a missing/damaged head anchor - never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from notaus.controller.journal import Journal

EXIT_OK, EXIT_BROKEN = 0, 1


def _emit(args: argparse.Namespace, doc: dict[str, Any], lines: list[str]) -> None:
    if getattr(args, "json", False):
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        for line in lines:
            print(line)


def _open(path: Path) -> tuple[Journal | None, str]:
    if not path.exists():
        return None, f"no journal at {path}"
    if path.is_dir():
        return None, f"{path} is a directory, not a journal file"
    try:
        return Journal(path), ""
    except (sqlite3.DatabaseError, OSError) as exc:
        return None, (f"{path} cannot be opened as a journal ({exc}): the file is damaged or not a notaus "
                      "journal; keep it as it is and work on a copy")


def verify(args: argparse.Namespace, path: Path) -> int:
    journal, problem = _open(path)
    if journal is None:
        _emit(args, {"ok": False, "checked": 0, "head_hash": None, "problems": [problem], "file": str(path)},
              [f"BROKEN: {problem}"])
        return EXIT_BROKEN
    try:
        res = journal.verify()
    except (sqlite3.DatabaseError, OSError) as exc:   # verify() reports damage itself; this is the last net
        msg = f"the journal cannot be read ({exc})"
        _emit(args, {"ok": False, "checked": 0, "head_hash": None, "file": str(path), "problems": [msg]},
              [f"BROKEN: {msg}"])
        return EXIT_BROKEN
    finally:
        journal.close()
    doc = {**res.to_dict(), "file": str(path)}
    _emit(args, doc, [f"{'OK' if res.ok else 'BROKEN'}: {res.checked} entries, head {res.head_hash}",
                      *(f"  {p}" for p in res.problems)])
    return EXIT_OK if res.ok else EXIT_BROKEN


def anchor(args: argparse.Namespace, path: Path, actor: str) -> int:
    """Re-anchor deliberately: only a chain without breaks, with a reason, journaled with the previous state."""
    journal, problem = _open(path)
    if journal is None:
        _emit(args, {"ok": False, "error": problem}, [f"Fehler: {problem}"])
        return EXIT_BROKEN
    try:
        reason = (args.reason or "").strip()
        if not reason or any(ord(c) < 32 for c in reason):
            msg = "a reason is required (e.g. --reason 'upgrade from a version without anchor, checked with syslog')"
            _emit(args, {"ok": False, "error": msg}, [f"Fehler: {msg}"])
            return EXIT_BROKEN
        res = journal.verify()
        _, anchor_problem = journal.anchor_state()
        breaks = [p for p in res.problems if not p.startswith(("the head anchor", "head anchor"))]
        if breaks:
            msg = "the chain itself is broken; re-anchoring would hide it. Nothing was changed."
            _emit(args, {"ok": False, "error": msg, "problems": breaks},
                  [f"Fehler: {msg}", *(f"  {p}" for p in breaks)])
            return EXIT_BROKEN
        entry = journal.reanchor(reason=reason, actor=actor)
        doc = {"ok": True, "anchored_seq": entry.seq, "anchored_hash": entry.hash,
               "previous_anchor": anchor_problem or "sound", "entries_checked": res.checked}
        _emit(args, doc, [f"Neu verankert bei Eintrag {entry.seq} ({entry.hash}); vorher: "
                          f"{anchor_problem or 'Anker in Ordnung'}. Im Journal vermerkt."])
        return EXIT_OK
    finally:
        journal.close()
