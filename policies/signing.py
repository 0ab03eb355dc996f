"""Signed policy bundles: the provider signs with Ed25519, the practice box verifies offline.

A bundle is one JSON object::

    {"format": "notaus-policy-bundle/1", "version": 7, "created": "2024-05-01T08:00:00+00:00",
     "key_id": "3f9c1a2b4d5e6f70", "policy": "<the YAML text>", "signature": "<base64>"}

The signature covers :func:`signed_bytes` — a canonical JSON array of format, version, created,
key_id and the SHA-256 of the policy text — so that any edit to any of them (or to one byte of the
policy) breaks it. ``key_id`` is the first 16 hex digits of SHA-256 over the raw 32-byte public
key; it only selects which pinned key to try, it is not trusted on its own.

Public keys are pinned at install as PEM files (``*.pub``) in a directory such as
``/etc/notaus/provider_keys``. Private keys never leave the provider's machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

BUNDLE_FORMAT = "notaus-policy-bundle/1"
MAX_BUNDLE_BYTES = 2 * 1024 * 1024


class BundleError(ValueError):
    """The bundle is unusable; ``code`` is machine-readable, ``str()`` says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Bundle:
    """A parsed, not yet verified bundle."""

    version: int
    created: str
    key_id: str
    policy: str
    signature: bytes

    @property
    def policy_sha256(self) -> str:
        return hashlib.sha256(self.policy.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------ keys
def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair(prefix: str | Path) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; refuse to overwrite."""
    prefix = Path(prefix)
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise FileExistsError(f"{path} exists already; choose another --out prefix or move it away")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub_path.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise BundleError("key_unreadable", f"cannot read private key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise BundleError("key_invalid", f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError("key_invalid",
                          f"{path} is not an Ed25519 key (create one with `notaus policy keygen`)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise BundleError("key_unreadable", f"cannot read public key {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BundleError("key_invalid", f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("key_invalid", f"{path} is not an Ed25519 public key")
    return key


def load_public_keys(*locations: str | Path) -> dict[str, Ed25519PublicKey]:
    """Pinned provider keys by key id from files or directories of ``*.pub`` (missing ones skipped)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for location in locations:
        path = Path(location)
        files = sorted(path.glob("*.pub")) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            key = load_public_key(file)
            keys[key_id(key)] = key
    return keys


# --------------------------------------------------------------------------------- bundles
def signed_bytes(version: int, created: str, kid: str, policy_sha256: str) -> bytes:
    """The exact bytes the signature covers (documented so other tools can sign/verify)."""
    material = [BUNDLE_FORMAT, version, created, kid, policy_sha256]
    return json.dumps(material, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_policy(policy_text: str, version: int, private_key: Ed25519PrivateKey,
                created: str | None = None) -> bytes:
    """Build a signed bundle; ``version`` must equal the policy's own ``version:`` (checked by the CLI)."""
    created = created or datetime.now(UTC).isoformat(timespec="seconds")
    kid = key_id(private_key.public_key())
    digest = hashlib.sha256(policy_text.encode("utf-8")).hexdigest()
    signature = private_key.sign(signed_bytes(version, created, kid, digest))
    bundle = {"format": BUNDLE_FORMAT, "version": version, "created": created, "key_id": kid,
              "policy": policy_text, "signature": base64.b64encode(signature).decode("ascii")}
    return (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def parse_bundle(data: bytes) -> Bundle:
    """Check the shape only; nothing here is trusted until :func:`verify_bundle` passed."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError("bad_format", f"bundle larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        obj: Any = json.loads(data.decode("utf-8"))
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError, an integer beyond Python's digit limit
        raise BundleError("bad_format", f"not a policy bundle (JSON expected): {exc}") from None
    except RecursionError:
        raise BundleError("bad_format", "not a policy bundle: JSON nested far too deep") from None
    if not isinstance(obj, dict) or obj.get("format") != BUNDLE_FORMAT:
        raise BundleError("bad_format", f"not a policy bundle: format must be {BUNDLE_FORMAT!r} "
                                        "(create bundles with `notaus policy sign`)")
    expected = {"format": str, "version": int, "created": str, "key_id": str, "policy": str, "signature": str}
    for name, typ in expected.items():
        value = obj.get(name)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise BundleError("bad_format", f"bundle field {name!r} missing or not a {typ.__name__}")
    extra = set(obj) - set(expected)
    if extra:
        raise BundleError("bad_format", f"unknown bundle fields: {', '.join(sorted(extra))}")
    try:
        signature = base64.b64decode(obj["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise BundleError("bad_format", "bundle signature is not base64") from None
    return Bundle(obj["version"], obj["created"], obj["key_id"], obj["policy"], signature)


def verify_bundle(data: bytes, keys: dict[str, Ed25519PublicKey]) -> Bundle:
    """Parse and verify against the pinned keys; raise :class:`BundleError` otherwise."""
    bundle = parse_bundle(data)
    if not keys:
        raise BundleError("no_keys", "no provider public key is pinned on this box; install the provider's "
                                     "*.pub into the provider_keys directory")
    key = keys.get(bundle.key_id)
    if key is None:
        raise BundleError("unknown_key", f"bundle signed with key {bundle.key_id}, which is not pinned here "
                                         f"(pinned: {', '.join(sorted(keys))})")
    try:
        key.verify(bundle.signature, signed_bytes(bundle.version, bundle.created, bundle.key_id,
                                                  bundle.policy_sha256))
    except InvalidSignature:
        raise BundleError("bad_signature", "signature does not match: the bundle was altered or signed "
                                           "with another key; ask the provider for a freshly signed "
                                           "bundle") from None
    return bundle
