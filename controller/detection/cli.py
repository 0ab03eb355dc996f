"""``notaus analyze FILE`` and ``notaus sniff`` (registered into the main CLI by ``add_parser``)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from notaus.controller.detection.analyzer import Analyzer, Detection
from notaus.controller.detection.pcapio import CaptureError
from notaus.policies.schema import Policy

EXIT_OK = 0
EXIT_ERROR = 1


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("analyze", help="Mitschnitt (pcap/pcapng) auf Beaconing prüfen")
    p.add_argument("file", help="pcap- oder pcapng-Datei")
    p.add_argument("--min-score", type=float, default=0.5, help="nur Funde ab diesem Score zeigen (0..1)")
    p.add_argument("--max-pairs", type=int, default=100_000, help="höchstens so viele Verbindungspaare halten")
    p.add_argument("--prefilter", action="store_true",
                   help="große Mitschnitte schneller: libpcap reicht nur Verbindungsauf-/-abbau, UDP und TLS-"
                        "Begrüßungen weiter (Bytes aus den Sequenznummern; 'Pakete' zählt dann nur diese)")
    p.set_defaults(func=cmd_analyze)

    p = subparsers.add_parser("sniff", help="live mitschneiden und Beaconing melden (Strg-C beendet)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--interface", "-i", help="Netzwerkschnittstelle (z. B. eth0 am Spiegel-Port)")
    src.add_argument("--fritzbox", metavar="URL", nargs="?", const="",
                     help="Mitschnitt direkt von der FRITZ!Box, z. B. http://fritz.box (ohne URL: Adresse, "
                          "Benutzer und Kennwort der FRITZ!Box aus der Richtlinie)")
    p.add_argument("--fritz-user", default="", help="FRITZ!Box-Benutzer (sonst aus der Richtlinie; Kennwort aus "
                                                    "der Richtlinie oder $NOTAUS_FRITZ_PASSWORD)")
    p.add_argument("--fritz-iface", default="1-lan", help="FRITZ!Box-Schnittstelle (Standard 1-lan)")
    p.add_argument("--filter", default="tcp or udp", help="BPF-Filter für den Kernel")
    p.add_argument("--min-score", type=float, default=0.7, help="Funde ab diesem Score ausgeben")
    p.add_argument("--seconds", type=float, default=None, help="nach so vielen Sekunden beenden")
    p.add_argument("--progress-seconds", type=float, default=10.0,
                   help="Fortschrittszeile alle N Sekunden, wenn die Ausgabe kein Terminal ist (Protokoll)")
    p.set_defaults(func=cmd_sniff)


def _policy(args: argparse.Namespace) -> tuple[Policy | None, Path | None]:
    """The policy in force (the last signed update applied, else the config file) and its directory."""
    from notaus.controller.cli import effective_policy
    from notaus.policies.context import config_path
    from notaus.policies.loader import PolicyError

    try:
        path = config_path(args)
    except PolicyError:
        return None, None
    policy: Policy = effective_policy(path)
    return policy, path.resolve().parent


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
                                       progress=sys.stderr.isatty() or not args.json,
                                       prefilter=bool(getattr(args, "prefilter", False)))
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


class _SniffStats:
    """What the live run did, for the progress and closing lines."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.findings = 0
        self.decisions: dict[str, int] = {}


def fritz_source(args: argparse.Namespace, policy: Policy | None,
                 base: Path | None) -> tuple[str, str, str]:
    """URL, user and password for ``--fritzbox``.

    The policy's FRITZ!Box device (matched by address, or the only one) supplies address, user and
    password (``password`` / ``password_file`` / ``password_env`` via ``Device.resolve_password``), so
    the secret is kept in one place. ``--fritz-user`` and ``$NOTAUS_FRITZ_PASSWORD`` override it.
    Raises ValueError with a hint when no address is known or the policy's password source is unreadable.
    """
    url = str(args.fritzbox or "")
    device = None
    if policy is not None:
        boxes = [d for d in policy.devices if d.driver == "fritzbox"]
        host = urlparse(url).hostname if url else None
        device = next((d for d in boxes if host is not None and d.address == host), None)
        if device is None and len(boxes) == 1:
            device = boxes[0]
    if not url:
        if device is None:
            raise ValueError("Adresse der FRITZ!Box fehlt: --fritzbox http://192.168.178.1 angeben "
                             "oder die FRITZ!Box als Gerät in der Richtlinie eintragen.")
        url = f"http://{device.address}"
    user = args.fritz_user or (device.user if device is not None else "")
    password = os.environ.get("NOTAUS_FRITZ_PASSWORD")
    if password is None:
        password = device.resolve_password(base) if device is not None else ""
    return url, user, password


def cmd_sniff(args: argparse.Namespace) -> int:
    """Live capture -> streaming scores -> Responder (journal, policy bands, engine isolate).

    Ends after ``--seconds``, on Ctrl-C or on SIGTERM (systemd stop, ``kill PID``) with a summary;
    findings are printed as they cross ``--min-score`` (JSON lines with ``--json``).
    """
    try:
        policy, base = _policy(args)
    except Exception as exc:  # noqa: BLE001 - loader reports file/line problems
        print(f"notaus: Richtlinie nicht lesbar: {exc}", file=sys.stderr)
        return EXIT_ERROR
    use_fritz = args.fritzbox is not None
    iface = args.interface or (policy.detection.interface if policy and not use_fritz else None)
    if not iface and not use_fritz:
        _error(args, "Bitte --interface (z. B. eth0) oder --fritzbox URL angeben.")
        return EXIT_ERROR
    fritz_login: tuple[str, str, str] | None = None
    if use_fritz:
        try:
            fritz_login = fritz_source(args, policy, base)
        except ValueError as exc:
            _error(args, str(exc))
            return EXIT_ERROR
    analyzer = Analyzer(policy, streaming=True)
    engine: Any = None
    responder: Any = None
    ring: Any = None
    if policy is not None:
        engine, responder, ring = _responder(policy, base, analyzer)
    try:
        return _sniff(args, analyzer, responder, ring, iface, fritz_login)
    finally:
        if engine is not None:
            engine.close()


def _responder(policy: Policy, base: Path | None, analyzer: Analyzer) -> tuple[Any, Any, Any]:
    """Engine (with its guards) + Responder with evidence ring and follow-up sensitivity."""
    from notaus.controller.detection.response import HostRing, Responder
    from notaus.controller.engine import Engine
    from notaus.controller.incident import IncidentManager

    engine = Engine.from_policy(policy, base_dir=base)
    ring = HostRing()
    evidence_dir = Path(policy.controller.state_dir)
    if base is not None and not evidence_dir.is_absolute():
        evidence_dir = base / evidence_dir
    followup = None
    try:
        followup = IncidentManager.for_engine(engine).followup_until
    except Exception as exc:  # noqa: BLE001 - detection runs on without follow-up sensitivity
        print(f"notaus: Vorfallsdaten nicht lesbar ({exc}); erhöhte Wachsamkeit nach Vorfällen aus.",
              file=sys.stderr)
    from notaus.controller.guardrails import gate_for_engine

    responder = Responder(policy, engine.journal, engine, table=analyzer.table, ring=ring,
                          evidence_dir=evidence_dir / "evidence", followup_until=followup,
                          gate=gate_for_engine(engine))
    return engine, responder, ring


def _sniff(args: argparse.Namespace, analyzer: Analyzer, responder: Any, ring: Any, iface: str | None,
           fritz_login: tuple[str, str, str] | None) -> int:
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
    cap: Any = None
    if fritz_login is not None:
        from notaus.controller.detection import fritz

        url, user, password = fritz_login
        where = f"FRITZ!Box {url} ({args.fritz_iface})"

        def reader() -> None:
            try:
                sid = fritz.login(url, user, password)
                fritz.capture(url, sid, sink, iface=args.fritz_iface, stop=stop)
            except fritz.FritzCaptureError as exc:
                errors.append(str(exc))
            stop.set()
    else:
        from notaus.controller.detection.capture import CaptureSetupError, LiveCapture

        try:
            cap = LiveCapture(str(iface), bpf=args.filter)
        except CaptureSetupError as exc:
            _error(args, str(exc))
            return EXIT_ERROR
        where = f"{iface} (Filter {args.filter!r})"

        def reader() -> None:
            cap.run(sink)
            stop.set()

    stats = _SniffStats()
    previous = _stop_on_sigterm(stop)
    thread = threading.Thread(target=reader, name="notaus-capture", daemon=True)
    thread.start()
    tty = sys.stderr.isatty()
    print(f"Mitschnitt läuft auf {where} - beenden mit Strg-C.", file=sys.stderr, flush=True)
    seen: dict[tuple[str, str, int, str, str], float] = {}
    deadline = time.monotonic() + args.seconds if args.seconds else None
    last_line = time.monotonic()
    try:
        while not stop.wait(1.0):
            _emit(args, analyzer, responder, seen, stats)
            if tty or time.monotonic() - last_line >= args.progress_seconds:
                last_line = time.monotonic()
                _progress(analyzer, stats, tty)
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if cap is not None:
            cap.stop()
        thread.join(timeout=5)
        if cap is not None:
            cap.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _emit(args, analyzer, responder, seen, stats)
    t = analyzer.table
    drops = f", {cap.stats.kernel_drops:,} im Kernel verworfen" if cap is not None else ""
    decided = ", ".join(f"{n}x {d}" for d, n in sorted(stats.decisions.items())) or "keine"
    print(("\n" if tty else "") + f"Mitschnitt beendet nach {time.monotonic() - stats.started:.0f} s: "
          f"{t.packets:,} Pakete{drops}, {len(t.pairs):,} Paare, {t.malformed:,} fehlerhaft, "
          f"{stats.findings} Funde, Entscheidungen: {decided}.", file=sys.stderr, flush=True)
    if errors:
        _error(args, errors[0])
        return EXIT_ERROR
    return EXIT_OK


def _stop_on_sigterm(stop: threading.Event) -> Any:
    """SIGTERM ends the loop like Ctrl-C (summary, evidence written, engine closed); returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())


def _progress(analyzer: Analyzer, stats: _SniffStats, tty: bool) -> None:
    t = analyzer.table
    line = (f"{time.monotonic() - stats.started:5.0f} s: {t.packets:,} Pakete, {len(t.pairs):,} Paare, "
            f"{t.malformed} fehlerhaft, {stats.findings} Funde")
    sys.stderr.write(f"\r{line} " if tty else line + "\n")
    sys.stderr.flush()


def _emit(args: argparse.Namespace, analyzer: Analyzer, responder: Any,
          seen: dict[tuple[str, str, int, str, str], float], stats: _SniffStats | None = None) -> None:
    for det in analyzer.poll():
        decision = None
        if responder is not None:
            try:
                decision = responder.handle(det)
            except Exception as exc:  # noqa: BLE001 - one failed reaction must not end the watch
                print(f"notaus: Reaktion auf Fund {det.src} -> {det.dst} fehlgeschlagen: {exc}. "
                      f"Journal prüfen und den Rechner notfalls von Hand trennen.", file=sys.stderr, flush=True)
        if decision and stats is not None:
            stats.decisions[decision] = stats.decisions.get(decision, 0) + 1
        if det.score < args.min_score or seen.get(det.key, -1.0) >= det.score - 0.05:
            continue
        seen[det.key] = det.score
        if stats is not None:
            stats.findings += 1
        if args.json:
            print(json.dumps({**det.to_dict(), "decision": decision}, ensure_ascii=False), flush=True)
        else:
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            print(_table([det]).splitlines()[1] + (f"  -> {decision}" if decision else ""), flush=True)
