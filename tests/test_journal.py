"""The journal detects every edit, insertion and deletion, and keeps what it committed through kill -9."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from notaus.controller.journal import GENESIS, Journal, entry_hash


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "journal.sqlite")
    for i in range(10):
        j.append("test.event", {"i": i, "text": "Praxis getrennt ✓"}, actor=f"user{i % 3}")
    return j


def raw(path: Path) -> sqlite3.Connection:
    """A second connection, as an attacker with file access would have; the triggers get dropped first."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER journal_no_update")
    db.execute("DROP TRIGGER journal_no_delete")
    return db


def test_chain_verifies_and_is_recomputable(journal: Journal) -> None:
    res = journal.verify()
    assert res.ok and res.checked == 10
    entries = journal.entries()
    prev = GENESIS
    for e in entries:   # anyone can recompute the chain from the documented formula
        data_json = json.dumps(e.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert entry_hash(e.seq, e.ts, e.kind, e.actor, data_json, prev) == e.hash
        prev = e.hash
    assert res.head_hash == prev == journal.head().hash  # type: ignore[union-attr]


def test_append_only_at_sql_level(journal: Journal) -> None:
    db = sqlite3.connect(journal.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE journal SET actor = 'x' WHERE seq = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM journal WHERE seq = 3")


def test_edited_entry_detected(journal: Journal) -> None:
    raw(journal.path).execute("UPDATE journal SET data = '{\"i\":99}' WHERE seq = 4")
    res = journal.verify()
    assert not res.ok and any("entry 4" in p and "edited" in p for p in res.problems)


def test_edit_with_recomputed_hash_breaks_the_next_link(journal: Journal) -> None:
    db = raw(journal.path)
    row = db.execute("SELECT seq, ts, kind, actor, prev_hash FROM journal WHERE seq=4").fetchone()
    seq, ts, kind, actor, prev = row
    data = '{"i":99}'
    db.execute("UPDATE journal SET data=?, hash=? WHERE seq=4", (data, entry_hash(seq, ts, kind, actor, data, prev)))
    res = journal.verify()
    assert not res.ok and any("entry 5" in p for p in res.problems)


def test_deleted_entry_detected(journal: Journal) -> None:
    raw(journal.path).execute("DELETE FROM journal WHERE seq = 5")
    res = journal.verify()
    assert not res.ok and any("entry 6" in p for p in res.problems)


def test_inserted_entry_detected(journal: Journal) -> None:
    db = raw(journal.path)
    db.execute("UPDATE journal SET seq = seq + 100 WHERE seq > 5")
    db.execute("INSERT INTO journal VALUES (6, '2026-01-01T00:00:00', 'fake', 'x', '{}', 'abc', 'def')")
    res = journal.verify()
    assert not res.ok


def test_truncated_tail_detected_by_anchor(journal: Journal) -> None:
    raw(journal.path).execute("DELETE FROM journal WHERE seq > 7")
    res = journal.verify()
    assert not res.ok and any("removed from the end" in p for p in res.problems)


def test_concurrent_appends_keep_the_chain(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    other = Journal(tmp_path / "j.sqlite")  # a second writer (CLI beside the service)

    def write(jr: Journal, n: int) -> None:
        for i in range(50):
            jr.append("t", {"w": n, "i": i})
    threads = [threading.Thread(target=write, args=(jr, n)) for n, jr in enumerate([j, j, other, other])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = j.verify()
    assert res.ok and res.checked == 200


def test_committed_entries_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite"
    code = (
        "import sys, time\n"
        "from notaus.controller.journal import Journal\n"
        f"j = Journal({str(path)!r})\n"
        "i = 0\n"
        "while True:\n"
        "    j.append('k', {'i': i}); print(i, flush=True); i += 1\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    last = -1
    deadline = time.monotonic() + 30
    while last < 200 and time.monotonic() < deadline:
        last = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    j = Journal(path)
    res = j.verify()
    assert res.ok, res.problems
    assert res.checked >= last + 1       # every append that returned (and printed) is there
    assert [e.data["i"] for e in j.entries(limit=10_000)] == list(range(res.checked))
