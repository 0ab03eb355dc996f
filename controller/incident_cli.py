"""``notaus incident open|list|show|note|tick|knowledge|report|ack-reported|close``.

Works on the journal and the incident database directly (no device sessions), so the provider
can run it on the box while the service runs, and a forensic examiner on a copy of the state dir.
``ID`` may be ``current`` for the open incident.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from notaus.controller.checklists import ITEMS
from notaus.controller.incident import Incident, IncidentManager, state_dir_for
from notaus.controller.journal import Journal
from notaus.policies.context import cli_actor, cli_lang

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2


def _actor() -> str:
    return cli_actor()


def _lang(args: argparse.Namespace) -> str:
    return cli_lang(args)


@contextmanager
def open_manager(args: argparse.Namespace) -> Iterator[tuple[IncidentManager, Any]]:
    from notaus.controller.cli import config_path
    from notaus.policies.loader import load_policy

    path = config_path(args)
    policy = load_policy(path)
    state_dir = state_dir_for(policy, path)
    journal = Journal(state_dir / "journal.sqlite")
    mgr = IncidentManager(journal, state_dir, isolate_score=policy.detection.isolate_score,
                          followup_days=policy.schedules.followup_days)
    try:
        mgr.sync()
        yield mgr, policy
    finally:
        mgr.close()
        journal.close()


def _resolve(mgr: IncidentManager, ident: str) -> Incident:
    if ident in ("current", "aktuell"):
        inc = mgr.current()
        if inc is None:
            raise KeyError("no open incident; 'notaus incident list' shows all, 'notaus incident open' opens one")
        return inc
    return mgr.get(ident)


def _print(args: argparse.Namespace, doc: Any, human: str) -> None:
    if getattr(args, "json", False):
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(human)


def _brief(inc: Incident, lang: str) -> dict[str, Any]:
    from notaus.controller.reporting import countdown

    return {**inc.to_dict(), "countdown": countdown(inc)}


def run(args: argparse.Namespace) -> int:
    lang = _lang(args)
    try:
        with open_manager(args) as (mgr, policy):
            return _dispatch(args, mgr, policy, lang)
    except KeyError as exc:
        msg = str(exc.args[0]) if exc.args else str(exc)
        _print(args, {"error": "not_found", "detail": msg}, f"notaus: {msg}")
        return EXIT_ERROR
    except ValueError as exc:
        _print(args, {"error": "invalid", "detail": str(exc)}, f"notaus: {exc}")
        return EXIT_ERROR


def _dispatch(args: argparse.Namespace, mgr: IncidentManager, policy: Any, lang: str) -> int:  # noqa: C901
    from notaus.controller.reporting import countdown, facts

    cmd = args.incident_cmd
    actor = _actor()
    if cmd == "open":
        inc = mgr.open(actor=actor, note=args.note or "", knowledge_at=args.knowledge_at)
        text = countdown(inc)["text_en" if lang == "en" else "text_de"]
        _print(args, _brief(inc, lang), f"Vorfall {inc.id} ({inc.trigger}) – {text}")
        return EXIT_OK
    if cmd == "list":
        incs = mgr.all()
        lines = [f"{i.id}\t{i.status}\t{i.trigger}\t{i.knowledge_at}\t"
                 f"{countdown(i)['text_en' if lang == 'en' else 'text_de']}" for i in incs]
        _print(args, {"incidents": [_brief(i, lang) for i in incs]},
               "\n".join(lines) or ("no incidents" if lang == "en" else "keine Vorfälle"))
        return EXIT_OK
    inc = _resolve(mgr, args.id)
    if cmd == "show":
        f = facts(mgr, inc, lang)
        doc = {**_brief(inc, lang), "hosts": f["hosts"], "actions": f["actions"], "detections": f["detections"],
               "checklists": f["checklists"], "evidence": f["evidence"], "journal_head": f["journal_head"],
               "entries": len(f["entries"])}
        lines = [f"Vorfall {inc.id}: {inc.title} [{inc.status}]", f"  {f['countdown']['text_' + lang]}",
                 f"  Journal #{inc.seq_start}–, {len(f['entries'])} Einträge; Kopf {f['journal_head']}"]
        lines += [f"  Gerät {h['host']}: isoliert={h['isolated']}, Erkennungen={h['detections']}, "
                  f"hinaus={h['bytes_out']} B" for h in f["hosts"]]
        for cl in f["checklists"]:
            lines.append(f"  {cl['title']}: {cl['done']}/{cl['total']}")
        _print(args, doc, "\n".join(lines))
        return EXIT_OK
    if cmd == "note":
        out: dict[str, Any] = {"incident": inc.id}
        if args.text:
            out["note_seq"] = mgr.add_note(inc.id, args.text, actor=actor).seq
        if args.photo:
            data = Path(args.photo).read_bytes()
            out["file"] = mgr.add_file(inc.id, Path(args.photo).name, data, actor=actor,
                                       caption=args.text or "").to_dict()
        if len(out) == 1:
            raise ValueError("give a note text and/or --photo FILE")
        _print(args, out, f"gespeichert: {json.dumps(out, ensure_ascii=False, default=str)}")
        return EXIT_OK
    if cmd == "tick":
        e = mgr.tick(inc.id, args.item, actor=actor, done=not args.undo, note=args.note or "")
        _print(args, {"incident": inc.id, "item": args.item, "done": not args.undo, "seq": e.seq},
               f"{args.item}: {'zurückgenommen' if args.undo else 'abgehakt'} (#{e.seq})")
        return EXIT_OK
    if cmd == "knowledge":
        inc = mgr.set_knowledge(inc.id, args.time, actor=actor, reason=args.reason or "")
        _print(args, _brief(inc, lang), countdown(inc)["text_en" if lang == "en" else "text_de"])
        return EXIT_OK
    if cmd == "ack-reported":
        inc = mgr.ack_reported(inc.id, actor=actor, reference=args.reference or "", when=args.at)
        _print(args, _brief(inc, lang), countdown(inc)["text_en" if lang == "en" else "text_de"])
        return EXIT_OK
    if cmd == "close":
        inc = mgr.close_incident(inc.id, actor=actor, reason=args.reason or "")
        _print(args, _brief(inc, lang), f"Vorfall {inc.id} abgeschlossen")
        return EXIT_OK
    if cmd == "report":
        from notaus.controller.report_export import PdfFailed, PdfUnavailable, export

        out_path = Path(args.output or f"vorfall-{inc.id}.{args.format}")
        try:
            written = export(mgr, inc, policy, out_path, args.format, lang)
        except (PdfUnavailable, PdfFailed) as exc:
            _print(args, {"error": "pdf_failed", "detail": str(exc)}, f"notaus: {exc}")
            return EXIT_ERROR
        head = mgr.journal.head()
        _print(args, {"incident": inc.id, "file": str(written), "format": args.format,
                      "journal_head": head.hash if head else None},
               f"Bericht geschrieben: {written}\nJournal-Kopf: {head.hash if head else '-'} "
               "(vergleichen mit 'notaus journal verify')")
        return EXIT_OK
    return EXIT_ERROR


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("incident", help="incident record, checklists, reporting duty and report export")
    sub = p.add_subparsers(dest="incident_cmd", required=True, metavar="SUBCOMMAND")
    o = sub.add_parser("open", help="open an incident by hand (returns the open one if there is one)")
    o.add_argument("--note", default="")
    o.add_argument("--knowledge-at", default=None, help="moment of knowledge, e.g. 2024-05-03T08:15+02:00")
    sub.add_parser("list", help="all incidents with their 72-hour countdown")
    s = sub.add_parser("show", help="one incident: hosts, actions, checklists, evidence")
    s.add_argument("id", help="incident id or 'current'")
    n = sub.add_parser("note", help="add a note and/or a photo (kept with its SHA-256)")
    n.add_argument("id")
    n.add_argument("text", nargs="?", default="")
    n.add_argument("--photo", default=None, help="image or file to keep as evidence")
    t = sub.add_parser("tick", help=f"tick a checklist item ({', '.join(ITEMS)})")
    t.add_argument("id")
    t.add_argument("item", choices=list(ITEMS))
    t.add_argument("--undo", action="store_true")
    t.add_argument("--note", default="")
    k = sub.add_parser("knowledge", help="correct the moment of knowledge (starts the 72 hours)")
    k.add_argument("id")
    k.add_argument("time")
    k.add_argument("--reason", default="")
    r = sub.add_parser("report", help="write the report (self-contained HTML or PDF)")
    r.add_argument("id")
    r.add_argument("--format", choices=["html", "pdf"], default="html")
    r.add_argument("-o", "--output", default=None)
    a = sub.add_parser("ack-reported", help="record that the authority report was filed")
    a.add_argument("id")
    a.add_argument("--reference", default="", help="reference number of the authority")
    a.add_argument("--at", default=None, help="when it was filed (default: now)")
    c = sub.add_parser("close", help="close the incident (follow-up monitoring continues)")
    c.add_argument("id")
    c.add_argument("--reason", default="")
    p.set_defaults(func=run)
    return p
