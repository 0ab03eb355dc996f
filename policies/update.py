"""Apply a signed policy bundle, or roll back: the one path every remote update takes.

``PUT /api/v1/policy``, ``notaus policy apply`` and the scheduled pull all call
:func:`apply_bundle`. It refuses — changing nothing and journaling ``policy.rejected`` with the
reason — a bundle that is malformed, signed by an unpinned key, altered, not newer than every
version applied before (replay/downgrade), whose version differs from the policy's own
``version:``, that does not validate, or that would move the state directory. A good bundle is
stored atomically and journaled as ``policy.applied`` with the version and the changes in words.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from notaus.policies.diff import Change, diff_policies, summary
from notaus.policies.loader import PolicyError, load_policy_text
from notaus.policies.schema import Policy
from notaus.policies.signing import BundleError, verify_bundle
from notaus.policies.store import AppliedVersion, PolicyStore


class JournalLike(Protocol):
    def append(self, kind: str, data: dict[str, Any] | None = ..., actor: str = ...) -> Any: ...


#: machine code -> HTTP status the API should answer with
HTTP_STATUS = {
    "applied": 200, "rolled_back": 200, "bad_format": 400, "no_keys": 403, "unknown_key": 403,
    "bad_signature": 403, "replay": 409, "downgrade": 409, "version_mismatch": 422,
    "invalid_policy": 422, "state_dir_changed": 422, "no_previous": 409, "store_failed": 500,
}

_MESSAGES_DE = {
    "bad_format": "Das ist kein gültiges Richtlinien-Paket. Bitte beim IT-Dienstleister ein neues anfordern.",
    "no_keys": "Auf diesem Gerät ist kein Schlüssel des IT-Dienstleisters hinterlegt. "
               "Den öffentlichen Schlüssel (*.pub) im Ordner provider_keys ablegen.",
    "unknown_key": "Das Paket ist mit einem hier nicht hinterlegten Schlüssel signiert. Nichts geändert.",
    "bad_signature": "Die Signatur passt nicht: Das Paket wurde verändert. Nichts geändert; "
                     "beim IT-Dienstleister ein neu signiertes Paket anfordern.",
    "replay": "Diese Version wurde schon angewendet (Wiederholung). Nichts geändert.",
    "downgrade": "Diese Version ist älter als die angewendete. Nichts geändert; für eine Rückkehr "
                 "`notaus policy rollback` verwenden.",
    "version_mismatch": "Die Version im Paket passt nicht zur Version in der Richtlinie. Nichts geändert.",
    "invalid_policy": "Die Richtlinie im Paket ist fehlerhaft (Details unten). Nichts geändert.",
    "state_dir_changed": "Die Richtlinie würde den Datenordner (controller.state_dir) verlegen; das geht "
                         "nur vor Ort. Nichts geändert.",
    "store_failed": "Die Richtlinie konnte nicht gespeichert werden (Speicher voll oder schreibgeschützt?). "
                    "Die bisherige gilt weiter.",
    "no_previous": "Es gibt keine frühere Version, zu der zurückgekehrt werden kann.",
}

_apply_lock = threading.Lock()


@dataclass
class ApplyResult:
    """What happened to one bundle (or rollback); ``to_dict()`` is the API's JSON body."""

    ok: bool
    code: str
    message: str                     # German, for the UI
    detail: str = ""                 # English technical reason (signature, problem list, ...)
    version: int | None = None
    previous_version: int | None = None
    changes: list[Change] = field(default_factory=list)
    policy: Policy | None = None     # the policy now in force, when ok

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "code": self.code, "message": self.message, "detail": self.detail,
                "version": self.version, "previous_version": self.previous_version,
                "changes_de": [c.de for c in self.changes], "changes_en": [c.en for c in self.changes]}


def current_policy(store: PolicyStore, baseline: Policy | None = None) -> Policy | None:
    """The policy in force: the last applied version, else the installed one (``baseline``)."""
    text = store.current_text()
    if text is None:
        return baseline
    return load_policy_text(text, str(store.current_path()))


def version_floor(store: PolicyStore, baseline: Policy | None) -> int:
    """New bundles must be strictly above this."""
    return max(store.high_water(), baseline.version if baseline else 0)


def _reject(journal: JournalLike | None, code: str, detail: str, actor: str, source: str,
            bundle_sha: str, version: int | None = None, key_id: str = "") -> ApplyResult:
    if journal is not None:
        journal.append("policy.rejected", {"reason": code, "detail": detail, "version": version,
                                           "key_id": key_id, "bundle_sha256": bundle_sha, "source": source},
                       actor=actor)
    return ApplyResult(False, code, _MESSAGES_DE.get(code, detail), detail, version)


def apply_bundle(bundle_bytes: bytes, *, store: PolicyStore, keys: dict[str, Ed25519PublicKey],
                 journal: JournalLike | None, baseline: Policy | None = None, actor: str = "provider",
                 source: str = "api",
                 on_applied: Callable[[Policy, AppliedVersion], None] | None = None) -> ApplyResult:
    """Verify, validate and atomically apply one signed bundle; a refusal changes nothing.

    ``baseline`` is the installed policy (the config file), used for the version floor and the
    diff while nothing has been applied remotely. ``on_applied`` runs after the new version is
    stored (reload the engine, re-plan scheduler jobs); its failure does not undo the apply.
    """
    bundle_sha = hashlib.sha256(bundle_bytes).hexdigest()
    with _apply_lock:
        try:
            bundle = verify_bundle(bundle_bytes, keys)
        except BundleError as exc:
            return _reject(journal, exc.code, str(exc), actor, source, bundle_sha)
        floor = version_floor(store, baseline)
        if bundle.version <= floor:
            applied_now = store.current()
            running = applied_now.version if applied_now else (baseline.version if baseline else 0)
            code = "replay" if bundle.version in (running, floor) else "downgrade"
            detail = (f"bundle version {bundle.version} is not newer than the highest version applied "
                      f"so far ({floor}); sign the policy with a higher version")
            return _reject(journal, code, detail, actor, source, bundle_sha, bundle.version, bundle.key_id)
        try:
            new = load_policy_text(bundle.policy, f"bundle v{bundle.version}")
        except PolicyError as exc:
            return _reject(journal, "invalid_policy", str(exc), actor, source, bundle_sha, bundle.version,
                           bundle.key_id)
        if new.version != bundle.version:
            detail = f"bundle says version {bundle.version} but the policy says version: {new.version}"
            return _reject(journal, "version_mismatch", detail, actor, source, bundle_sha, bundle.version,
                           bundle.key_id)
        try:
            old = current_policy(store, baseline)
        except PolicyError:
            old = None      # a broken stored version must not block the fix for it
        if old is not None and old.controller.state_dir != new.controller.state_dir:
            detail = f"controller.state_dir {old.controller.state_dir!r} -> {new.controller.state_dir!r}"
            return _reject(journal, "state_dir_changed", detail, actor, source, bundle_sha, bundle.version,
                           bundle.key_id)
        changes = diff_policies(old, new) if old is not None else []
        try:
            applied = store.apply(bundle.version, bundle.policy, sha256=bundle.policy_sha256, source=source,
                                  key_id=bundle.key_id, bundle=bundle_bytes)
        except OSError as exc:
            return _reject(journal, "store_failed", str(exc), actor, source, bundle_sha, bundle.version,
                           bundle.key_id)
        previous = old.version if old is not None else None
        if journal is not None:
            journal.append("policy.applied", {
                "version": bundle.version, "previous_version": previous, "key_id": bundle.key_id,
                "policy_sha256": bundle.policy_sha256, "source": source,
                "summary": summary(changes, "de"), "summary_en": summary(changes, "en"),
                "changes": [c.de for c in changes]}, actor=actor)
    if on_applied is not None:
        on_applied(new, applied)
    return ApplyResult(True, "applied", f"Richtlinie Version {bundle.version} angewendet.",
                       summary(changes, "en"), bundle.version, previous, changes, new)


def rollback_policy(*, store: PolicyStore, journal: JournalLike | None, baseline: Policy | None = None,
                    actor: str = "provider",
                    on_applied: Callable[[Policy, AppliedVersion | None], None] | None = None) -> ApplyResult:
    """Return to the version before the current one (or to the installed ``baseline`` policy).

    Journaled as ``policy.rollback``. The high-water mark stays, so the rolled-back version
    cannot come back by replay; the provider fixes it by publishing a higher version.
    """
    with _apply_lock:
        try:
            old_text = store.current_text()
            left, target = store.rollback()
        except LookupError as exc:
            return ApplyResult(False, "no_previous", _MESSAGES_DE["no_previous"], str(exc))
        new = current_policy(store, baseline)
        changes: list[Change] = []
        if old_text is not None and new is not None:
            try:
                changes = diff_policies(load_policy_text(old_text, f"v{left.version}"), new)
            except PolicyError:
                changes = []
        to_version = new.version if new is not None else None
        if journal is not None:
            journal.append("policy.rollback", {"from_version": left.version, "to_version": to_version,
                                               "to": "applied" if target else "installed",
                                               "summary": summary(changes, "de"),
                                               "summary_en": summary(changes, "en")}, actor=actor)
    if on_applied is not None and new is not None:
        on_applied(new, target)
    return ApplyResult(True, "rolled_back", f"Zurück auf Richtlinie Version {to_version}.",
                       summary(changes, "en"), to_version, left.version, changes, new)


def provider_key_locations(state_dir: Path) -> list[Path]:
    """Where pinned provider keys live: ``$NOTAUS_PROVIDER_KEYS`` (``:``-separated), else
    ``/etc/notaus/provider_keys`` and ``<state_dir>/provider_keys``.

    Deliberately not a policy field: a policy update must not be able to choose who may sign the
    next one.
    """
    env = os.environ.get("NOTAUS_PROVIDER_KEYS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path("/etc/notaus/provider_keys"), state_dir / "provider_keys"]


def resolve_state_dir(policy: Policy, config_path: Path) -> Path:
    """The state directory as the engine resolves it (relative paths: next to the policy file)."""
    from notaus.policies.context import state_dir_of_config

    return state_dir_of_config(policy, config_path)
