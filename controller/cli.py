"""``notaus`` command line: the interface IT providers' scripts and agents build on.

Stable contract: ``notaus --config PATH <command>`` (or ``NOTAUS_CONFIG``); ``--yes`` skips
questions; ``--json`` prints exactly one JSON document on stdout; exit 0 = done and verified,
2 = partial, 1 = error or refused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from notaus.policies import context
from notaus.policies.loader import PolicyError, load_policy

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2
#: how often the served status observer reads the devices (Home Assistant: local devices >= 5 s)
SERVE_OBSERVER_SECONDS = 5.0


def _common() -> argparse.ArgumentParser:
    """Flags accepted before *and* after the command (``notaus panic --yes --json``)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", default=argparse.SUPPRESS, help="policy file (default: $NOTAUS_CONFIG)")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")
    p.add_argument("--yes", "-y", action="store_true", default=argparse.SUPPRESS, help="do not ask, just do it")
    p.add_argument("--lang", choices=["de", "en"], default=argparse.SUPPRESS)
    return p


def config_path(args: argparse.Namespace) -> Path:
    return context.config_path(args)  # no policy given -> PolicyError([]), explained by main()


def effective_policy(path: Path) -> Any:
    """The policy in force: the last signed update the provider applied, else the config file.

    Secrets and relative paths still resolve against the config file's directory.
    """
    from notaus.policies.store import PolicyStore

    installed = load_policy(path)
    current = PolicyStore(state_dir_of(installed, path)).current_path()
    return load_policy(current) if current is not None else installed


def load_engine(args: argparse.Namespace, *, open_devices: bool = True) -> Any:
    from notaus.controller.engine import Engine

    path = config_path(args)
    return Engine.from_policy(effective_policy(path), base_dir=path.resolve().parent, open_devices=open_devices)


def emit(args: argparse.Namespace, doc: dict[str, Any], human: Callable[[], None]) -> None:
    if getattr(args, "json", False):
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        human()


def _lang(args: argparse.Namespace) -> str:
    return context.cli_lang(args)


def _print_result(result: Any, lang: str) -> None:
    marks = {"done": "OK  ", "failed": "FEHLER" if lang == "de" else "FAILED", "unverified": "UNGEPRÜFT",
             "not_supported": "NICHT MÖGLICH", "skipped": "übersprungen"}
    for d in result.devices:
        target = f" {d.host or d.target}" if (d.host or d.target) else ""
        print(f"  [{marks.get(d.outcome, d.outcome)}] {d.device}: {d.action}{target} – {d.message} ({d.seconds:.2f} s)")
    headline = {"done": "ERLEDIGT und geprüft", "partial": "TEILWEISE", "failed": "FEHLGESCHLAGEN",
                "refused": "ABGELEHNT"} if lang == "de" else {
        "done": "DONE and verified", "partial": "PARTIAL", "failed": "FAILED", "refused": "REFUSED"}
    print(f"{headline.get(result.outcome, result.outcome)}: {result.message}")


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [j/N] ").strip().lower()
    return answer in ("j", "ja", "y", "yes")


def cmd_panic(args: argparse.Namespace) -> int:
    engine = load_engine(args, open_devices=False)
    engine.open(fast=True)   # a dead router: verdict within its timeout (description from disk)
    try:
        lang = _lang(args)
        plan = engine.plan_panic(args.profile)
        if not getattr(args, "yes", False):
            if getattr(args, "json", False) or not sys.stdin.isatty():
                emit(args, {"error": "confirmation required", "plan": plan.to_dict()},
                     lambda: print("Bestätigung nötig: mit --yes ausführen.", file=sys.stderr))
                return EXIT_ERROR
            print("Das passiert jetzt:" if lang == "de" else "This will happen:")
            for w in plan.warnings:
                print(f"  ! {w.text(lang)}")
            if not _confirm("Praxis jetzt trennen?" if lang == "de" else "Disconnect the practice now?"):
                engine.journal.append("panic.cancelled", {"profile": args.profile}, actor=_actor())
                print("Abgebrochen." if lang == "de" else "Cancelled.")
                return EXIT_ERROR
            engine.journal.append("warning.ack", {"profile": args.profile,
                                                  "warnings": [w.code for w in plan.warnings]}, actor=_actor())
        result = engine.panic(args.profile, actor=_actor())
        emit(args, result.to_dict(), lambda: _print_result(result, lang))
        return int(result.exit_code)
    finally:
        engine.close()


def cmd_restore(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    try:
        reason = args.reason or ""
        if not reason and not getattr(args, "yes", False) and sys.stdin.isatty():
            reason = input("Grund für die Wiederherstellung: ").strip()
        if not reason and getattr(args, "yes", False):
            reason = "(no reason given; --yes)"
        result = engine.restore(actor=_actor(), reason=reason, stage=args.stage)
        emit(args, result.to_dict(), lambda: _print_result(result, _lang(args)))
        return int(result.exit_code)
    finally:
        engine.close()


def cmd_isolate(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    try:
        result = engine.isolate(args.host, actor=_actor(), reason=args.reason or "", source="cli",
                                method=args.method)
        emit(args, result.to_dict(), lambda: _print_result(result, _lang(args)))
        return int(result.exit_code)
    finally:
        engine.close()


def cmd_release(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    try:
        result = engine.release(args.host, actor=_actor(), reason=args.reason or "")
        emit(args, result.to_dict(), lambda: _print_result(result, _lang(args)))
        return int(result.exit_code)
    finally:
        engine.close()


def cmd_status(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    try:
        health = engine.health()
        doc = engine.status()
        doc["health"] = health
        from notaus.controller.scheduler import read_status

        doc["service"] = read_status(engine.state_dir)

        def human() -> None:
            print(f"Zustand: {doc['state']}{' (geprüft)' if doc['contained'] else ''}")
            for d in doc["devices"]:
                reach = "erreichbar" if d.get("reachable") else f"NICHT erreichbar: {d.get('error', '')}"
                print(f"  {d['name']} ({d['driver']}): {reach}; WAN {d.get('wan')}; WLAN {d.get('wlan')}"
                      + (f"; gesperrt: {', '.join(d['blocked_hosts'])}" if d.get("blocked_hosts") else "")
                      + (f"; Ports aus: {', '.join(d['ports_down'])}" if d.get("ports_down") else ""))
            for h in health:
                if not h["ok"]:
                    print(f"  WARNUNG {h['device']}: {h['message']}")
            for i in doc["isolations"]:
                print(f"  isoliert: {i['host']} ({i.get('ip') or i.get('mac')}) – {i.get('reason') or ''}"
                      f"{'' if i['verified'] else ' – NICHT bestätigt'}")
            for g in doc["drift"]:
                print(f"  ABWEICHUNG {g['device']}: {g['what']} soll {g['expected']}, ist {g['observed']}")
        emit(args, doc, human)
        if any(not h["ok"] for h in health) or doc["drift"]:
            return EXIT_PARTIAL
        return EXIT_OK
    finally:
        engine.close()


def _journal_file(args: argparse.Namespace) -> Path:
    if getattr(args, "file", None):
        return Path(args.file)
    return state_dir_of(load_policy(config_path(args)), config_path(args)) / "journal.sqlite"


def cmd_journal_verify(args: argparse.Namespace) -> int:
    from notaus.controller import journal_cli

    return journal_cli.verify(args, _journal_file(args))


def cmd_journal_anchor(args: argparse.Namespace) -> int:
    from notaus.controller import journal_cli

    return journal_cli.anchor(args, _journal_file(args), _actor())


def cmd_journal_show(args: argparse.Namespace) -> int:
    from notaus.controller.journal import Journal

    journal = Journal(state_dir_of(load_policy(config_path(args)), config_path(args)) / "journal.sqlite")
    entries = journal.entries(after=args.after, limit=args.limit, kind=args.kind)
    journal.close()

    def human() -> None:
        for e in entries:
            print(f"{e.seq:6d} {e.ts} {e.actor:10s} {e.kind:18s} {json.dumps(e.data, ensure_ascii=False)[:160]}")
    emit(args, {"entries": [e.to_dict() for e in entries]}, human)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """The service: engine (re-asserting any containment left from before), scheduler, API and UI.

    A signed policy applied while running (API or pull) restarts the service in place, so devices and
    inventory follow the new policy; containment survives because it is persisted and re-asserted.
    """
    import signal
    import threading

    path = config_path(args)
    policy = effective_policy(path)
    sims = []
    if args.with_simulator:
        from notaus.drivers.sim.practice import start_simulators

        sims = start_simulators(policy, base_dir=path.resolve().parent)
    from notaus.api.app import create_app
    from notaus.api.serve import start_server
    from notaus.controller.engine import Engine
    from notaus.controller.scheduler import start_service_scheduler

    engine = Engine.from_policy(policy, base_dir=path.resolve().parent)
    from notaus.controller.file_modes import tighten

    loosened = tighten(engine.state_dir)
    if loosened:
        engine.journal.append("state.permissions", {"tightened": loosened[:50], "count": len(loosened)})
    stop, restart = threading.Event(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def policy_applied(new_policy: Any, version: Any) -> None:
        engine.journal.append("service.restart", {"reason": "policy applied", "version": new_policy.version})
        restart.set()
        # let the answer to the PUT leave before the server goes away
        threading.Timer(1.0, stop.set).start()

    sched = server = app = None
    try:
        engine.reassert()
        holder: dict[str, Any] = {}
        sched = start_service_scheduler(
            engine, path, on_policy_applied=policy_applied,
            hooks={"auto_release": (30, lambda: holder["app"].extensions["notaus"].gate.release_due())})
        app = holder["app"] = create_app(engine, scheduler=sched,
                                         config={"status_observer_seconds": SERVE_OBSERVER_SECONDS})
        cert, key = args.cert, args.key
        listen = args.listen or policy.controller.listen
        if args.self_signed and not cert:
            from notaus.api.tls import ensure_self_signed, fingerprint

            tls_dir = Path(engine.state_dir) / "tls"
            host = listen.rpartition(":")[0].strip("[]") or "localhost"
            cert, key = str(tls_dir / "cert.pem"), str(tls_dir / "key.pem")
            ensure_self_signed(cert, key, sorted(h for h in {host, policy.controller.ip or "", "localhost"} if h))
            print(f"notaus: TLS certificate SHA-256 {fingerprint(cert)}", flush=True)
        if args.with_simulator:
            _print_demo_tokens(app)
        server, _thread = start_server(engine, listen, cert=cert, key=key, app=app)
        print(f"notaus: listening on {'https' if cert else 'http'}://{listen.rpartition(':')[0]}:"
              f"{server.server_port}/", flush=True)
        stop.wait()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if sched is not None:
            sched.shutdown()
        if app is not None:
            app.extensions["notaus"].close()
        engine.close()
        for s in sims:
            s.stop()
    if restart.is_set():
        print("notaus: policy changed – restarting", flush=True)
        os.execv(sys.executable, [sys.executable, "-m", "notaus.controller.cli", *sys.argv[1:]])
    return EXIT_OK


def _print_demo_tokens(app: Any) -> None:
    """Demo only: fresh staff and provider tokens, so whoever ran `make run` can log in."""
    tokens = app.extensions["notaus"].tokens
    for role in ("staff", "provider"):
        name = f"demo-{role}"
        tokens.revoke(name)
        print(f"notaus demo: {role} token: {tokens.create(role, name)}", flush=True)


def state_dir_of(policy: Any, config: Path) -> Path:
    """The policy's state_dir; a relative one is relative to the policy file, not the working dir."""
    return context.state_dir_of_config(policy, config)


def _state_dir_or_none(args: argparse.Namespace) -> str | None:
    """For commands that only need the state dir (tokens); a broken policy is reported by the command."""
    try:
        path = context.config_path(args)
        return str(state_dir_of(load_policy(path), path))
    except PolicyError:
        return None


def _actor() -> str:
    return context.cli_actor()


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="notaus", parents=[common],
                                     description="Not-Aus für das Praxisnetz – emergency stop for a practice network.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("panic", parents=[common], help="cut the practice off the internet")
    p.add_argument("--profile", default="full", help="full (default) or keep-phones")
    p.set_defaults(func=cmd_panic)

    p = sub.add_parser("restore", parents=[common], help="restore connectivity (IT provider)")
    p.add_argument("--reason", default="")
    p.add_argument("--stage", choices=["wan", "hosts", "all"], default="all")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("isolate", parents=[common], help="isolate one machine (name, IP or MAC)")
    p.add_argument("host")
    p.add_argument("--reason", default="")
    p.add_argument("--method", choices=["auto", "port", "vlan", "router"], default="auto")
    p.set_defaults(func=cmd_isolate)

    p = sub.add_parser("release", parents=[common], help="end the isolation of one machine")
    p.add_argument("host")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("status", parents=[common], help="what the devices report right now")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("journal", parents=[common], help="journal: verify | anchor | show")
    jsub = p.add_subparsers(dest="journal_command", required=True)
    jp = jsub.add_parser("verify", parents=[common], help="check the hash chain")
    jp.add_argument("--file", default=None, help="journal file (default: the policy's state_dir)")
    jp.set_defaults(func=cmd_journal_verify)
    jp = jsub.add_parser("anchor", parents=[common],
                         help="re-anchor the journal head deliberately (journaled; e.g. after an upgrade)")
    jp.add_argument("--file", default=None, help="journal file (default: the policy's state_dir)")
    jp.add_argument("--reason", default="", help="why (required), e.g. 'upgrade, checked against syslog'")
    jp.set_defaults(func=cmd_journal_anchor)
    jp = jsub.add_parser("show", parents=[common], help="print entries")
    jp.add_argument("--after", type=int, default=0)
    jp.add_argument("--limit", type=int, default=100)
    jp.add_argument("--kind", default=None)
    jp.set_defaults(func=cmd_journal_show)

    p = sub.add_parser("serve", parents=[common], help="run the web UI, API and scheduler")
    p.add_argument("--listen", default=None, help="HOST:PORT (default: policy controller.listen)")
    p.add_argument("--cert", default=None)
    p.add_argument("--key", default=None)
    p.add_argument("--self-signed", action="store_true",
                   help="serve HTTPS with a self-signed certificate kept in the state dir")
    p.add_argument("--with-simulator", action="store_true",
                   help="start simulated devices for the policy's devices first (demo / trying a policy)")
    p.set_defaults(func=cmd_serve)

    # Commands contributed by other packages; each registers its own sub-parsers.
    for module, fn in (("notaus.controller.detection.cli", "add_parser"), ("notaus.api.auth", "add_token_parser"),
                       ("notaus.policies.cli", "add_parser"), ("notaus.controller.drill", "add_drill_parser"),
                       ("notaus.controller.incident_cli", "add_parser"), ("notaus.controller.doctor", "add_parser"),
                       ("notaus.controller.discover_cli", "add_parser")):
        try:
            mod = __import__(module, fromlist=[fn])
        except ImportError as exc:
            if exc.name and not module.startswith(exc.name):
                raise  # a real missing dependency, not a module that is not there yet
            continue
        before = set(sub.choices)
        getattr(mod, fn)(sub)
        for name in set(sub.choices) - before:
            _add_common(sub.choices[name])
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Give a contributed command (and its own sub-commands) the global flags after the command too."""
    for flags, kwargs in ((("--config",), {"default": argparse.SUPPRESS}),
                          (("--json",), {"action": "store_true", "default": argparse.SUPPRESS}),
                          (("--yes", "-y"), {"action": "store_true", "default": argparse.SUPPRESS}),
                          (("--lang",), {"choices": ["de", "en"], "default": argparse.SUPPRESS})):
        with contextlib.suppress(argparse.ArgumentError):  # the command defines it itself
            parser.add_argument(*flags, **kwargs)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_common(child)


def main(argv: list[str] | None = None) -> int:
    from notaus.controller.file_modes import private_umask

    private_umask()   # state, journal, photos: 0600/0700 even when started by hand (not only under the unit)
    logging.basicConfig(level=os.environ.get("NOTAUS_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    for key, default in (("config", None), ("json", False), ("yes", False), ("lang", None)):
        if not hasattr(args, key):
            setattr(args, key, default)
    if not getattr(args, "state_dir", None):
        args.state_dir = _state_dir_or_none(args)
    try:
        return int(args.func(args))
    except PolicyError as exc:
        if not exc.problems:
            msg = "no policy given: use --config PATH or set NOTAUS_CONFIG"
        else:
            msg = "the policy is invalid, nothing was changed:\n" + str(exc)
        emit(args, {"error": "invalid policy" if exc.problems else "no policy",
                    "detail": [str(p) for p in exc.problems] or msg},
             lambda: print(f"notaus: {msg}", file=sys.stderr))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except (ValueError, OSError) as exc:
        detail = str(exc)
        emit(args, {"error": type(exc).__name__, "detail": detail}, lambda: print(f"notaus: {detail}", file=sys.stderr))
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
