"""``notaus discover`` and ``notaus policy diff --discover``: CLI wiring for :mod:`controller.discover`.

``discover`` writes a draft (stdout or ``-o FILE``) and never applies it. With ``--config`` it asks
the policy's router and switches and keeps the policy's devices, contacts and profiles in the
draft; without, it asks ``--router`` or the default gateway (FRITZ!Box if TR-064 answers on 49000,
else Speedport). Each run is journaled when a policy (and so a journal) is there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from notaus.controller.coverage import compare
from notaus.controller.discover import Discovery, default_gateway, discover, guess_router_driver, render_draft
from notaus.drivers.base import DriverError
from notaus.policies.schema import Device, Policy

EXIT_OK, EXIT_ERROR, EXIT_FINDINGS = 0, 1, 2


def _policy(args: argparse.Namespace) -> tuple[Policy | None, Path | None]:
    path = getattr(args, "config", None) or os.environ.get("NOTAUS_CONFIG")
    if not path:
        return None, None
    from notaus.controller.cli import effective_policy

    return effective_policy(Path(path)), Path(path)


def _router_arg(args: argparse.Namespace, policy: Policy | None) -> Device | None:
    """The router to ask: ``--router``, else the policy's, else the default gateway."""
    address = getattr(args, "router", None)
    if not address and policy is not None and policy.routers():
        return None
    if not address:
        address = default_gateway()
        if not address:
            raise ValueError("no default gateway found: give --router ADDRESS")
    driver = getattr(args, "driver", None) or guess_router_driver(address)
    if driver is None:
        raise ValueError(f"{address}: neither TR-064 (port 49000) nor a web interface (port 80) answers; give "
                         "--driver fritzbox|speedport and check that the router is on")
    fields: dict[str, Any] = {"name": getattr(args, "router_name", None) or driver, "driver": driver,
                              "address": address, "user": getattr(args, "user", None) or ""}
    if getattr(args, "port", None):
        fields["port"] = args.port
    if getattr(args, "tls", False):
        fields["tls"] = True
    if getattr(args, "password_file", None):
        fields["password_file"] = args.password_file
    elif getattr(args, "password_env", None):
        fields["password_env"] = args.password_env
    return Device(**fields)


def _journal(policy: Policy | None, config: Path | None, kind: str, data: dict[str, Any]) -> None:
    if policy is None or config is None:
        return
    from notaus.controller.cli import state_dir_of
    from notaus.controller.journal import Journal

    journal = Journal(state_dir_of(policy, config) / "journal.sqlite")
    try:
        journal.append(kind, data)
    finally:
        journal.close()


def run_discovery(args: argparse.Namespace) -> tuple[Discovery, Policy | None, Device | None, Path | None]:
    policy, config = _policy(args)
    router = _router_arg(args, policy)
    base_dir = Path.cwd() if router is not None else (config.resolve().parent if config else None)
    state_dir = None
    if policy is not None and config is not None:
        from notaus.controller.cli import state_dir_of

        state_dir = state_dir_of(policy, config)
    from notaus.api.auth import kiosk_names  # a command line wires the layers together

    result = discover(policy, router=router, base_dir=base_dir, probe=bool(getattr(args, "probe", False)),
                      kiosks=kiosk_names(state_dir), with_switches=not getattr(args, "no_switches", False))
    return result, policy, router, config


def cmd_discover(args: argparse.Namespace) -> int:
    try:
        result, policy, router, config = run_discovery(args)
    except DriverError as exc:
        print(f"notaus discover: {exc}", file=sys.stderr)
        return EXIT_ERROR
    lang = getattr(args, "lang", None) or (policy.controller.language if policy else "de")
    text = render_draft(result, policy, router, lang)
    _journal(policy, config, "discover.run", {"hosts": len(result.hosts), "probe": result.probed,
                                               "router": result.router.get("device"),
                                               "warnings": result.warnings, "output": args.output or "-"})
    if getattr(args, "json", False):
        import json

        json.dump({**result.to_dict(), "draft": text}, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    elif args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
        roles: dict[str, int] = {}
        for h in result.hosts:
            roles[h.role] = roles.get(h.role, 0) + 1
        summary = ", ".join(f"{n} {r}" for r, n in sorted(roles.items()))
        print(f"Entwurf/draft: {args.output} – {len(result.hosts)} hosts ({summary}); prüfen, dann "
              f"`notaus policy check {args.output}`", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_policy_diff_discover(args: argparse.Namespace) -> int:
    """``notaus policy diff --discover``: the running policy against a fresh discovery."""
    try:
        result, policy, _router, config = run_discovery(args)
    except DriverError as exc:
        print(f"notaus policy diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if policy is None:
        raise ValueError("policy diff --discover compares the running policy: give --config PATH")
    findings = compare(policy, result.hosts)
    lang = getattr(args, "lang", None) or policy.controller.language
    _journal(policy, config, "discover.diff", {"findings": [f.en for f in findings]})
    if getattr(args, "json", False):
        import json

        json.dump({"findings": [f.to_dict() for f in findings], "warnings": result.warnings}, sys.stdout,
                  ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        if not findings:
            print("Richtlinie und Router stimmen überein." if lang == "de" else "policy and router agree.")
        for f in findings:
            print(f"[{f.kind}] {f.text(lang)}")
        for w in result.warnings:
            print(f"({w})")
    return EXIT_FINDINGS if findings else EXIT_OK


def add_discover_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--router", default=None, help="router address (default: the policy's router, else the "
                                                  "default gateway)")
    p.add_argument("--driver", choices=["fritzbox", "speedport"], default=None,
                   help="router kind (default: FRITZ!Box if TR-064 answers, else Speedport)")
    p.add_argument("--router-name", default=None, help="device name in the draft (default: the driver name)")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--tls", action="store_true", help="TR-064 over HTTPS (49443)")
    p.add_argument("--user", default=None, help="router user (FRITZ!Box)")
    p.add_argument("--password-file", default=None)
    p.add_argument("--password-env", default=None)
    p.add_argument("--probe", action="store_true",
                   help="also try a TCP connect to ports 9100/631/5060 of private LAN hosts (off by default)")
    p.add_argument("--no-switches", action="store_true", help="do not ask the policy's switches")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("discover", help="ask router and switches, write a draft policy (never applied)")
    add_discover_arguments(p)
    p.add_argument("-o", "--output", default=None, help="draft file (default: stdout)")
    p.set_defaults(func=cmd_discover)
