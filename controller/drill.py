"""``notaus drill --minutes 5``: a real, announced cut that restores itself.

The guide recommends practising the emergency with the whole team. A drill goes through the same
``engine.panic`` as the real button (so it proves the button works), and the restore is a
persisted scheduler job: if the box restarts mid-drill, the restore still happens.

If the notaus service is running, it owns the scheduler: the drill cuts from this process and
hands the restore job to the service through the shared job store. Otherwise this command runs
the scheduler itself and waits, showing the time left; Ctrl-C ends the drill early.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # the scheduler pulls in APScheduler + SQLAlchemy (~1 s): not on every CLI start (panic!)
    from notaus.controller.scheduler import Scheduler

EXIT_OK, EXIT_ERROR = 0, 1


def _print(args: argparse.Namespace, doc: dict[str, Any], text: str, *, err: bool = False) -> None:
    if getattr(args, "json", False):
        print(json.dumps(doc, ensure_ascii=False, default=str))
    else:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [j/N] ").strip().lower() in ("j", "ja", "y", "yes")


def cmd_drill(args: argparse.Namespace) -> int:
    from notaus.controller.cli import _actor, load_engine
    from notaus.controller.scheduler import Scheduler, SchedulerBusy

    engine = load_engine(args)
    try:
        schedules = engine.policy.schedules
        minutes = args.minutes if args.minutes is not None else schedules.drill_minutes
        profile = args.profile or schedules.drill_profile
        if minutes <= 0 or minutes > 120:
            _print(args, {"ok": False, "message": "--minutes must be between 1 and 120"},
                   "--minutes muss zwischen 1 und 120 liegen.", err=True)
            return EXIT_ERROR
        if not getattr(args, "yes", False):
            question = (f"ÜBUNG: Die Praxis wird wirklich für {minutes:g} Minuten getrennt (Profil {profile}). "
                        "Team informiert?")
            if getattr(args, "json", False) or not _confirm(question):
                _print(args, {"ok": False, "message": "confirmation required (--yes)"},
                       "Abgebrochen. Ohne Rückfrage: --yes", err=True)
                return EXIT_ERROR
        sched = Scheduler(engine, Path(engine.state.path))
        try:
            sched.start()
        except SchedulerBusy:
            # The service runs the scheduler: cut here, the restore job goes into the shared store.
            out = sched.start_drill(minutes, profile=profile, actor=_actor())
            sched.deadlines.close()
            _print(args, out, out["message"] + ("\nDer notaus-Dienst hebt die Übung automatisch auf."
                                                if out["ok"] else ""), err=not out["ok"])
            return EXIT_OK if out["ok"] else EXIT_ERROR
        try:
            out = sched.start_drill(minutes, profile=profile, actor=_actor())
            _print(args, out, out["message"], err=not out["ok"])
            if not out["ok"]:
                return EXIT_ERROR
            return _wait_for_end(args, sched, engine, datetime.fromisoformat(out["until"]))
        finally:
            sched.shutdown()
    finally:
        engine.close()


def _wait_for_end(args: argparse.Namespace, sched: Scheduler, engine: Any, until: datetime) -> int:
    from notaus.controller.scheduler import DRILL_KEY

    last_shown = -1
    try:
        while engine.state.get(DRILL_KEY):
            left = int((until - datetime.now(UTC)).total_seconds())
            minute = max(0, left) // 60
            if not getattr(args, "json", False) and minute != last_shown:
                print(f"  Übung läuft – noch {minute + 1 if left > 0 else 0} min (Strg-C beendet sie sofort)",
                      flush=True)
                last_shown = minute
            time.sleep(0.5)
    except KeyboardInterrupt:
        out = sched.end_drill(actor="drill", early=True)
        _print(args, out, "Übung vorzeitig beendet: " + out["message"])
        return EXIT_OK if out["ok"] else EXIT_ERROR
    ends = engine.journal.entries(kind="drill.end", limit=10_000)
    skipped = engine.journal.entries(kind="drill.restore_skipped", limit=10_000)
    last = max(ends + skipped, key=lambda e: e.seq) if ends or skipped else None
    ok = last is not None and last.kind == "drill.end" and last.data.get("outcome") in ("done", "already_restored")
    _print(args, {"ok": ok, "end": last.to_dict() if last else None},
           "Übung beendet, Verbindung wiederhergestellt." if ok else
           "Übung beendet, aber die Wiederherstellung ist nicht vollständig – `notaus status` prüfen.",
           err=not ok)
    return EXIT_OK if ok else EXIT_ERROR


def add_drill_parser(subparsers: Any) -> None:
    """Register ``notaus drill`` on the main CLI's sub-parsers."""
    p = subparsers.add_parser("drill", help="practice: a real, announced cut that restores itself")
    p.add_argument("--minutes", type=float, default=None, help="length of the cut (default: schedules.drill_minutes)")
    p.add_argument("--profile", default=None, help="panic profile (default: schedules.drill_profile)")
    p.set_defaults(func=cmd_drill)
