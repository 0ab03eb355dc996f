"""Issue 11.5: the journal's tail cannot vanish unnoticed, and a damaged journal gives a sentence, not a traceback.

Attacks tried on a copy of the state directory: cut the tail and delete the head anchor; cut the tail
and write garbage into the anchor; rewrite the anchor to another hash; overwrite the database file
with garbage; truncate the database file. Upgrade path: a journal written before the anchor existed
fails verification with a clear sentence until it is re-anchored deliberately (and that is journaled).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from notaus.controller.journal import GENESIS, Journal

ROOT = Path(__file__).resolve().parents[2]


def _filled(tmp_path: Path, n: int = 10) -> Journal:
    j = Journal(tmp_path / "journal.sqlite")
    for i in range(n):
        j.append("test", {"i": i})
    return j


def _cut_tail(path: Path, keep: int) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER journal_no_delete")
    db.execute("DELETE FROM journal WHERE seq > ?", (keep,))
    db.commit()
    db.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "NOTAUS_ACTOR": "test:examiner"})


def test_anchor_is_written_when_the_journal_is_created(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.sqlite")
    assert j.anchor_path.read_text().split() == ["0", GENESIS]
    assert j.verify().ok
    j.append("first", {})
    assert j.anchor_path.read_text().split()[0] == "1"


@pytest.mark.parametrize("anchor", [None, "", "garbage", "7 nothex", "-1 " + "a" * 64, "\x00\x00\x00"])
def test_cut_tail_with_missing_or_garbage_anchor_fails(tmp_path: Path, anchor: str | None) -> None:
    j = _filled(tmp_path)
    _cut_tail(j.path, 6)
    if anchor is None:
        j.anchor_path.unlink()
    else:
        j.anchor_path.write_text(anchor)
    res = j.verify()
    assert not res.ok and any("anchor" in p for p in res.problems), res.problems
    # appending goes on (containment must not stop) but never re-creates the anchor: the evidence stays
    j.append("after", {})
    assert not j.verify().ok


def test_emptied_journal_without_anchor_fails(tmp_path: Path) -> None:
    j = _filled(tmp_path)
    j.close()
    _cut_tail(j.path, 0)
    j.anchor_path.unlink()
    reopened = Journal(j.path)                 # the service restarting must not bless the empty file
    assert not reopened.anchor_path.exists()
    assert not reopened.verify().ok


def test_rewritten_anchor_hash_fails(tmp_path: Path) -> None:
    j = _filled(tmp_path)
    j.anchor_path.write_text(f"10 {'a' * 64}\n")
    assert any("rewritten" in p for p in j.verify().problems)


def test_cut_tail_with_lagging_anchor_fails(tmp_path: Path) -> None:
    j = _filled(tmp_path)
    _cut_tail(j.path, 4)
    assert any("removed from the end" in p for p in j.verify().problems)


def test_damaged_database_gives_a_sentence_and_json(tmp_path: Path) -> None:
    j = _filled(tmp_path, 200)
    j.close()
    path = j.path
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database\x00" * 500)
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(path.read_bytes()[:1500])
    middle = tmp_path / "middle.sqlite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = b"\xff" * 4096
    middle.write_bytes(bytes(data))
    for broken in (garbage, truncated, middle, tmp_path / "absent.sqlite", tmp_path):
        human = _cli("journal", "verify", "--file", str(broken))
        assert human.returncode == 1 and "Traceback" not in human.stderr + human.stdout, human
        assert "BROKEN" in human.stdout
        as_json = _cli("journal", "verify", "--file", str(broken), "--json")
        assert as_json.returncode == 1 and "Traceback" not in as_json.stderr, as_json
        doc = json.loads(as_json.stdout)
        assert doc["ok"] is False and doc["problems"], doc


def test_upgrade_without_anchor_then_deliberate_reanchor(tmp_path: Path) -> None:
    """A journal from before the anchor: verify says what happened and how to re-anchor; anchor journals it."""
    j = _filled(tmp_path)
    j.close()
    j.anchor_path.unlink()                      # what an old installation looks like
    res = _cli("journal", "verify", "--file", str(j.path), "--json")
    doc = json.loads(res.stdout)
    assert res.returncode == 1 and "notaus journal anchor" in doc["problems"][0] and "missing" in doc["problems"][0]
    refused = _cli("journal", "anchor", "--file", str(j.path), "--json")
    assert refused.returncode == 1 and "reason" in json.loads(refused.stdout)["error"]
    done = _cli("journal", "anchor", "--file", str(j.path), "--reason", "upgrade, checked against syslog", "--json")
    assert done.returncode == 0, done
    assert json.loads(done.stdout)["previous_anchor"].startswith("the head anchor file")
    ok = _cli("journal", "verify", "--file", str(j.path), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    again = Journal(j.path)
    last = again.entries(kind="journal.anchor")[-1]
    assert last.actor == "test:examiner" and last.data["reason"] == "upgrade, checked against syslog"
    assert "missing" in last.data["previous_anchor"]
    # a broken chain is never re-anchored over
    db = sqlite3.connect(j.path)
    db.execute("DROP TRIGGER journal_no_update")
    db.execute("UPDATE journal SET data = '{\"i\": 99}' WHERE seq = 3")
    db.commit()
    db.close()
    again.anchor_path.unlink()
    refused = _cli("journal", "anchor", "--file", str(j.path), "--reason", "hide it", "--json")
    assert refused.returncode == 1 and "broken" in json.loads(refused.stdout)["error"]
    assert not again.anchor_path.exists()
