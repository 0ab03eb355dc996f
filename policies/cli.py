"""``notaus policy …``: check, show, diff, sign, keygen, apply, rollback, pull.

The provider runs ``check``/``diff``/``sign``/``keygen`` on its own machine; ``apply``,
``rollback``, ``pull`` and ``show`` run on the practice box and use its state directory and
pinned provider keys. Every handler takes the argparse namespace (``.config``, ``.json``) and
returns the exit code (0 ok, 1 refused or error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from notaus.policies import context
from notaus.policies.diff import describe, diff_policies
from notaus.policies.diff import masked as _masked
from notaus.policies.loader import PolicyError, load_policy, load_policy_text
from notaus.policies.schema import Policy
from notaus.policies.signing import (
    BundleError,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_keys,
    sign_policy,
)
from notaus.policies.store import PolicyStore
from notaus.policies.update import (
    ApplyResult,
    apply_bundle,
    current_policy,
    provider_key_locations,
    resolve_state_dir,
    rollback_policy,
    version_floor,
)

EXIT_OK, EXIT_ERROR = 0, 1


# ------------------------------------------------------------------------------- helpers
def _emit(args: argparse.Namespace, doc: dict[str, Any], human: Callable[[], None]) -> None:
    if getattr(args, "json", False):
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        human()


def _lang(args: argparse.Namespace, policy: Policy | None = None) -> str:
    return context.cli_lang(args, policy)


def _config(args: argparse.Namespace) -> Path:
    return context.config_path(args)  # none: the main CLI says "use --config PATH or set NOTAUS_CONFIG"


class _Box:
    """The practice box's view: installed policy, state dir, store, journal, pinned keys."""

    def __init__(self, args: argparse.Namespace, *, journal: bool = True) -> None:
        self.config = _config(args)
        self.baseline = load_policy(self.config)
        self.state_dir = resolve_state_dir(self.baseline, self.config)
        self.store = PolicyStore(self.state_dir)
        keys_arg = getattr(args, "keys", None)
        self.key_locations = [Path(k) for k in keys_arg] if keys_arg else provider_key_locations(self.state_dir)
        self.journal: Any = None
        if journal:
            from notaus.controller.journal import Journal
            self.journal = Journal(self.state_dir / "journal.sqlite")

    def keys(self) -> dict[str, Any]:
        return load_public_keys(*self.key_locations)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()




def _actor() -> str:
    return context.cli_actor()


def _print_apply(result: ApplyResult, lang: str) -> None:
    out = sys.stdout if result.ok else sys.stderr
    print(("OK: " if result.ok else "ABGELEHNT: " if lang == "de" else "REFUSED: ") + result.message, file=out)
    if not result.ok and result.detail:
        print(f"  {result.detail}", file=out)
    for change in result.changes:
        print(f"  - {change.text('en' if lang == 'en' else 'de')}", file=out)


# ------------------------------------------------------------------------------- commands
def cmd_check(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        doc = {"ok": False, "file": args.file, "problems": [
            {"file": p.file, "line": p.line, "key": p.key, "message": p.message} for p in exc.problems]}
        text = str(exc)
        _emit(args, doc, lambda: print(text, file=sys.stderr))
        return EXIT_ERROR
    protected = [h.name for h in policy.hosts if policy.is_protected(h)]
    doc = {"ok": True, "file": args.file, "version": policy.version, "devices": len(policy.devices),
           "hosts": len(policy.hosts), "protected": protected}

    def human() -> None:
        if _lang(args, policy) == "de":
            print(f"OK: {args.file} – Version {policy.version}, {len(policy.devices)} Geräte, "
                  f"{len(policy.hosts)} Hosts, geschützt: {', '.join(protected) or '—'}")
        else:
            print(f"OK: {args.file} – version {policy.version}, {len(policy.devices)} devices, "
                  f"{len(policy.hosts)} hosts, protected: {', '.join(protected) or '(none)'}")
    _emit(args, doc, human)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    box = _Box(args, journal=False)
    applied = box.store.current()
    policy = current_policy(box.store, box.baseline)
    assert policy is not None
    source = str(box.store.current_path()) if applied else str(box.config)
    doc = {"source": source, "version": policy.version, "applied": applied.to_dict() if applied else None,
           "rollback_to": [p.version for p in box.store.previous()],
           "policy": _masked(policy.model_dump(mode="json"))}

    def human() -> None:
        de = _lang(args, policy) == "de"
        print(f"# {'Richtlinie' if de else 'policy'} v{policy.version} – {source}")
        if applied:
            print(f"# {'angewendet' if de else 'applied'} {applied.applied_at} ({applied.source}, "
                  f"key {applied.key_id or '-'})")
        print(yaml.safe_dump(doc["policy"], sort_keys=False, allow_unicode=True), end="")
    _emit(args, doc, human)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    if getattr(args, "discover", False):  # running policy vs. a fresh discovery (controller.discover_cli)
        from notaus.controller.discover_cli import cmd_policy_diff_discover
        return cmd_policy_diff_discover(args)
    if not args.file:
        raise ValueError("policy diff needs FILE, or --discover")
    box = _Box(args, journal=False)
    try:
        new = load_policy(args.file)
    except PolicyError as exc:
        text = str(exc)
        _emit(args, {"ok": False, "problems": [str(p) for p in exc.problems]},
              lambda: print(text, file=sys.stderr))
        return EXIT_ERROR
    old = current_policy(box.store, box.baseline)
    assert old is not None
    changes = diff_policies(old, new)
    floor = version_floor(box.store, box.baseline)
    lang = _lang(args, old)
    doc = {"from_version": old.version, "to_version": new.version, "version_ok": new.version > floor,
           "changes_de": [c.de for c in changes], "changes_en": [c.en for c in changes]}

    def human() -> None:
        print(describe(changes, "en" if lang == "en" else "de"))
        if new.version <= floor:
            print(f"Hinweis: version {new.version} ist nicht höher als {floor}; ein signiertes Paket damit "
                  "würde abgelehnt. `version:` erhöhen." if lang == "de" else
                  f"Note: version {new.version} is not above {floor}; a signed bundle would be refused. "
                  "Raise `version:`.")
    _emit(args, doc, human)
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = path.read_text(encoding="utf-8")
    policy = load_policy_text(text, str(path))      # never sign a policy that does not validate
    try:
        private = load_private_key(args.key)
    except BundleError as exc:
        text = str(exc)
        _emit(args, {"ok": False, "error": exc.code, "detail": text}, lambda: print(text, file=sys.stderr))
        return EXIT_ERROR
    bundle = sign_policy(text, policy.version, private)
    out = Path(args.output) if args.output else path.with_name(path.stem + f".v{policy.version}.bundle.json")
    out.write_bytes(bundle)
    kid = key_id(private.public_key())
    _emit(args, {"ok": True, "bundle": str(out), "version": policy.version, "key_id": kid},
          lambda: print(f"signed version {policy.version} with key {kid}: {out}"))
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        key_path, pub_path = generate_keypair(args.out)
    except FileExistsError as exc:
        text = str(exc)
        _emit(args, {"ok": False, "detail": text}, lambda: print(text, file=sys.stderr))
        return EXIT_ERROR
    kid = next(iter(load_public_keys(pub_path)))
    _emit(args, {"ok": True, "private_key": str(key_path), "public_key": str(pub_path), "key_id": kid},
          lambda: print(f"private key (keep secret, mode 0600): {key_path}\n"
                        f"public key (pin on each practice box in provider_keys/): {pub_path}\nkey id: {kid}"))
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read() if args.bundle == "-" else Path(args.bundle).read_bytes()
    box = _Box(args)
    try:
        result = apply_bundle(data, store=box.store, keys=box.keys(), journal=box.journal,
                              baseline=box.baseline, actor=_actor(), source=f"cli {args.bundle}")
    finally:
        box.close()
    _emit(args, result.to_dict(), lambda: _print_apply(result, _lang(args, box.baseline)))
    if result.ok and not getattr(args, "json", False):
        print("Der laufende Dienst übernimmt die neue Richtlinie beim nächsten Neustart "
              "(systemctl restart notaus)." if _lang(args, box.baseline) == "de" else
              "The running service picks the new policy up on its next restart.")
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_rollback(args: argparse.Namespace) -> int:
    box = _Box(args)
    try:
        result = rollback_policy(store=box.store, journal=box.journal, baseline=box.baseline, actor=_actor())
    finally:
        box.close()
    _emit(args, result.to_dict(), lambda: _print_apply(result, _lang(args, box.baseline)))
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_pull(args: argparse.Namespace) -> int:
    from notaus.policies.pull import pull_once

    box = _Box(args)
    try:
        policy = current_policy(box.store, box.baseline)
        assert policy is not None
        url = args.url or policy.schedules.policy_url
        if not url:
            msg = "no URL: set schedules.policy_url in the policy or pass --url"
            _emit(args, {"status": "error", "message": msg}, lambda: print(msg, file=sys.stderr))
            return EXIT_ERROR
        result = pull_once(url, store=box.store, keys=box.keys(), journal=box.journal, baseline=box.baseline,
                           verify=args.ca or True, actor=_actor())
    finally:
        box.close()

    def human() -> None:
        if result.apply is not None:
            _print_apply(result.apply, _lang(args, box.baseline))
        else:
            print(f"{result.status}: {result.message}", file=sys.stderr if result.status == "error" else sys.stdout)
    _emit(args, result.to_dict(), human)
    return EXIT_ERROR if result.status in ("error", "rejected") else EXIT_OK


# ------------------------------------------------------------------------------- wiring
def add_parser(subparsers: Any) -> None:
    """Register ``notaus policy …`` on the main CLI's sub-parsers."""
    p = subparsers.add_parser("policy", help="policy: check | show | diff | sign | keygen | apply | rollback | pull")
    sub = p.add_subparsers(dest="policy_command", required=True, metavar="ACTION")

    s = sub.add_parser("check", help="validate a policy file (errors with line and key)")
    s.add_argument("file")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("show", help="the policy in force on this box (secrets masked)")
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("diff", help="what FILE would change, in words; --discover: policy vs. the network")
    s.add_argument("file", nargs="?")
    s.add_argument("--discover", action="store_true",
                   help="compare the running policy with a fresh `notaus discover` (unknown, wrong role, left)")
    from notaus.controller.discover_cli import add_discover_arguments
    add_discover_arguments(s)
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser("sign", help="sign FILE into a bundle (provider side)")
    s.add_argument("--key", required=True, help="Ed25519 private key (PEM) from `policy keygen`")
    s.add_argument("file")
    s.add_argument("-o", "--output", default=None, help="bundle path (default: FILE.vN.bundle.json)")
    s.set_defaults(func=cmd_sign)

    s = sub.add_parser("keygen", help="create a provider signing key pair PREFIX.key / PREFIX.pub")
    s.add_argument("--out", required=True, metavar="PREFIX")
    s.set_defaults(func=cmd_keygen)

    for name, helptext, func in (("apply", "verify and apply a signed bundle (- for stdin)", cmd_apply),
                                 ("rollback", "return to the previously applied version", cmd_rollback),
                                 ("pull", "fetch the bundle from schedules.policy_url now", cmd_pull)):
        s = sub.add_parser(name, help=helptext)
        if name == "apply":
            s.add_argument("bundle")
        if name == "pull":
            s.add_argument("--url", default=None)
            s.add_argument("--ca", default=None, help="CA or certificate file to trust for the URL")
        if name != "rollback":
            s.add_argument("--keys", action="append", default=None,
                           help="pinned provider key file or directory (default: /etc/notaus/provider_keys "
                                "and <state_dir>/provider_keys, or $NOTAUS_PROVIDER_KEYS)")
        s.set_defaults(func=func)
