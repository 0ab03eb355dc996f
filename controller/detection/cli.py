"""``notaus analyze FILE`` and ``notaus sniff`` (registered into the main CLI by ``add_parser``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from controller.detection.analyzer import Analyzer, Detection
from controller.detection.pcapio import CaptureError
from policies.schema import Policy

EXIT_OK = 0
EXIT_ERROR = 1


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("analyze", help="Mitschnitt (pcap/pcapng) auf Beaconing prüfen")
    p.add_argument("file", help="pcap- oder pcapng-Datei")
    p.add_argument("--min-score", type=float, default=0.5, help="nur Funde ab diesem Score zeigen (0..1)")
    p.add_argument("--max-pairs", type=int, default=100_000, help="höchstens so viele Verbindungspaare halten")
    p.set_defaults(func=cmd_analyze)

    p = subparsers.add_parser("sniff", help="live mitschneiden und Beaconing melden (Strg-C beendet)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--interface", "-i", help="Netzwerkschnittstelle (z. B. eth0 am Spiegel-Port)")
    src.add_argument("--fritzbox", metavar="URL", help="Mitschnitt direkt von der FRITZ!Box, z. B. http://fritz.box")
    p.add_argument("--fritz-user", default="", help="FRITZ!Box-Benutzer (Kennwort in $NOTAUS_FRITZ_PASSWORD)")
    p.add_argument("--fritz-iface", default="1-lan", help="FRITZ!Box-Schnittstelle (Standard 1-lan)")
    p.add_argument("--filter", default="tcp or udp", help="BPF-Filter für den Kernel")
    p.add_argument("--min-score", type=float, default=0.7, help="Funde ab diesem Score ausgeben")
    p.add_argument("--seconds", type=float, default=None, help="nach so vielen Sekunden beenden")
    p.set_defaults(func=cmd_sniff)


def _policy(args: argparse.Namespace) -> tuple[Policy | None, Path | None]:
    path = getattr(args, "config", None) or os.environ.get("NOTAUS_CONFIG")
    if not path:
        return None, None
    from policies.loader import load_policy

    return load_policy(path), Path(path).resolve().parent


def _table(dets: list[Detection]) -> str:
    rows = [("Quelle", "Ziel", "Name", "Port", "Intervall", "Verb.", "Score", "Art", "Warum")]
    for d in dets:
        interval = "-" if d.interval_s is None else (f"{d.interval_s / 60:.1f} min" if d.interval_s >= 120
                                                     else f"{d.interval_s:.1f} s")
        mark = " (erlaubt: " + (d.allow_rule or "") + ")" if d.allowed else ""
        rows.append((d.src, d.dst, d.name or "-", f"{d.dst_port}/{d.proto}", interval, str(d.connections),
                     f"{d.score:.2f}", d.kind, "; ".join(d.why) + mark))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)) + "  " + r[-1]
                     for r in rows)


def cmd_analyze(args: argparse.Namespace) -> int:
    try:
        policy, _base = _policy(args)
    except Exception as exc:  # loader reports file/line problems
        print(f"notaus: Richtlinie nicht lesbar: {exc}", file=sys.stderr)
        return EXIT_ERROR
    analyzer = Analyzer(policy, max_pairs=args.max_pairs)
    started = time.monotonic()
    try:
        report = analyzer.analyze_file(args.file, min_score=args.min_score,
                                       progress=sys.stderr.isatty() or not args.json)
    except CaptureError as exc:
        _error(args, str(exc))
        return EXIT_ERROR
    if args.json:
        doc = report.to_dict()
        doc["seconds"] = round(time.monotonic() - started, 3)
        print(json.dumps(doc, ensure_ascii=False))
        return EXIT_OK
    if report.detections:
        print(_table(report.detections))
    else:
        print(f"Keine Auffälligkeiten ab Score {args.min_score:.2f}.")
    print(f"\n{report.packets:,} Pakete, {report.flows:,} Verbindungen, {report.pairs:,} Paare, "
          f"{report.malformed:,} fehlerhaft, {report.evicted:,} verdrängt, "
          f"Zeitraum {report.duration_s / 3600:.1f} h", file=sys.stderr)
    return EXIT_OK


def _error(args: argparse.Namespace, msg: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": "capture", "detail": msg}, ensure_ascii=False))
    else:
        print(f"notaus: {msg}", file=sys.stderr)


def cmd_sniff(args: argparse.Namespace) -> int:
    from controller.detection.response import HostRing, Responder

    try:
        policy, base = _policy(args)
    except Exception as exc:
        print(f"notaus: Richtlinie nicht lesbar: {exc}", file=sys.stderr)
        return EXIT_ERROR
    iface = args.interface or (policy.detection.interface if policy else None)
    if not iface and not args.fritzbox:
        _error(args, "Bitte --interface (z. B. eth0) oder --fritzbox URL angeben.")
        return EXIT_ERROR
    analyzer = Analyzer(policy, streaming=True)
    responder: Responder | None = None
    ring: HostRing | None = None
    if policy is not None:
        from controller.engine import Engine

        engine = Engine.from_policy(policy, base_dir=base)
        ring = HostRing()
        evidence_dir = Path(policy.controller.state_dir)
        if base is not None and not evidence_dir.is_absolute():
            evidence_dir = base / evidence_dir
        responder = Responder(policy, engine.journal, engine, table=analyzer.table, ring=ring,
                              evidence_dir=evidence_dir / "evidence")
    feed = analyzer.feed
    if ring is not None:
        ring_feed = ring.feed

        def sink(buf, off, caplen, wirelen, ts, lt):  # type: ignore[no-untyped-def,unused-ignore]
            feed(buf, off, caplen, wirelen, ts, lt)
            ring_feed(buf, off, caplen, wirelen, ts, lt)
    else:
        sink = feed

    stop = threading.Event()
    errors: list[str] = []
    stopper: Any
    if args.fritzbox:
        from controller.detection import fritz

        def reader() -> None:
            try:
                sid = fritz.login(args.fritzbox, args.fritz_user, os.environ.get("NOTAUS_FRITZ_PASSWORD", ""))
                fritz.capture(args.fritzbox, sid, sink, iface=args.fritz_iface, stop=stop)
            except fritz.FritzCaptureError as exc:
                errors.append(str(exc))
            stop.set()
        stopper = stop
    else:
        from controller.detection.capture import CaptureSetupError, LiveCapture

        try:
            cap = LiveCapture(str(iface), bpf=args.filter)
        except CaptureSetupError as exc:
            _error(args, str(exc))
            return EXIT_ERROR

        def reader() -> None:
            cap.run(sink)
            stop.set()
        stopper = cap
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    seen: dict[tuple[str, str, int, str, str], float] = {}
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        while not stop.wait(1.0):
            _emit(args, analyzer, responder, seen)
            t = analyzer.table
            sys.stderr.write(f"\r{t.packets:,} Pakete, {len(t.pairs):,} Paare, {t.malformed} fehlerhaft ")
            sys.stderr.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stopper.stop() if hasattr(stopper, "stop") else stopper.set()
        stop.set()
        thread.join(timeout=5)
        if not args.fritzbox:
            cap.close()
    _emit(args, analyzer, responder, seen)
    sys.stderr.write("\n")
    if errors:
        _error(args, errors[0])
        return EXIT_ERROR
    return EXIT_OK


def _emit(args: argparse.Namespace, analyzer: Analyzer, responder: Any,
          seen: dict[tuple[str, str, int, str, str], float]) -> None:
    for det in analyzer.poll():
        decision = responder.handle(det) if responder is not None else None
        if det.score < args.min_score or seen.get(det.key, -1.0) >= det.score - 0.05:
            continue
        seen[det.key] = det.score
        if args.json:
            print(json.dumps({**det.to_dict(), "decision": decision}, ensure_ascii=False), flush=True)
        else:
            sys.stderr.write("\n")
            print(_table([det]).splitlines()[1] + (f"  -> {decision}" if decision else ""), flush=True)
