"""Helpers for policy tests: a practice box's state dir, a real journal, provider key pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from notaus.controller.journal import Journal
from notaus.policies.loader import load_policy_text
from notaus.policies.schema import Policy
from notaus.policies.signing import generate_keypair, load_private_key, load_public_keys
from notaus.policies.store import PolicyStore

BASE_POLICY = """\
version: {version}
practice: "Praxis Test"
controller:
  state_dir: ./var
devices:
  - name: fritzbox
    driver: fritzbox
    address: 192.168.178.1
    user: notaus
    password: secret-{version}
hosts:
  - {{name: empfang-pc, ip: 192.168.178.20, role: workstation}}
{extra_hosts}detection:
  isolate_score: {isolate_score}
"""


def policy_text(version: int, isolate_score: float = 0.9, extra_hosts: str = "") -> str:
    return BASE_POLICY.format(version=version, isolate_score=isolate_score, extra_hosts=extra_hosts)


@dataclass
class Box:
    state_dir: Path
    store: PolicyStore
    journal: Journal
    keys: dict[str, Ed25519PublicKey]
    private: Ed25519PrivateKey
    baseline: Policy

    def snapshot(self) -> dict[str, bytes]:
        """Every file of the policy store, to prove a refusal changed nothing."""
        root = self.store.dir
        if not root.exists():
            return {}
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_box(tmp_path: Path) -> Box:
    state = tmp_path / "var"
    key_path, pub_path = generate_keypair(tmp_path / "provider")
    journal = Journal(state / "journal.sqlite")
    b = Box(state, PolicyStore(state), journal, load_public_keys(pub_path), load_private_key(key_path),
            load_policy_text(policy_text(1), "installed.yaml"))
    return b
