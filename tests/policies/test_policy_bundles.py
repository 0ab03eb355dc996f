"""Signed bundles: good ones apply atomically; tampered, foreign, replayed, downgraded ones change nothing."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notaus.policies.signing import key_id, sign_policy
from notaus.policies.update import apply_bundle, current_policy, rollback_policy

from .policy_helpers import Box, policy_text


def apply(box: Box, data: bytes):  # noqa: ANN201 - test helper
    return apply_bundle(data, store=box.store, keys=box.keys, journal=box.journal, baseline=box.baseline,
                        actor="test", source="test")


def signed(box: Box, version: int, **kw: object) -> bytes:
    return sign_policy(policy_text(version, **kw), version, box.private)  # type: ignore[arg-type]


def kinds(box: Box) -> list[str]:
    return [e.kind for e in box.journal.entries(limit=1000)]


def assert_refused(box: Box, data: bytes, code: str) -> None:
    before = box.snapshot()
    journal_before = box.journal.count()
    result = apply(box, data)
    assert not result.ok
    assert result.code == code, result.detail
    assert box.snapshot() == before, "a refused bundle must not touch the policy store"
    new_entries = box.journal.entries(after=journal_before)
    assert [e.kind for e in new_entries] == ["policy.rejected"]
    assert new_entries[0].data["reason"] == code


def test_good_bundle_applies_and_journals_the_diff(box: Box) -> None:
    result = apply(box, signed(box, 2, isolate_score=0.8))
    assert result.ok and result.version == 2 and result.previous_version == 1
    assert box.store.current() is not None and box.store.current().version == 2  # type: ignore[union-attr]
    assert box.store.current_text() == policy_text(2, isolate_score=0.8)
    applied = box.journal.entries(kind="policy.applied")
    assert len(applied) == 1
    assert "auto-isolate threshold 0.9 → 0.8" in applied[0].data["summary_en"]
    assert applied[0].data["key_id"] == key_id(box.private.public_key())
    policy = current_policy(box.store, box.baseline)
    assert policy is not None and policy.detection.isolate_score == 0.8


def test_tampered_policy_text_is_refused(box: Box) -> None:
    bundle = json.loads(signed(box, 2))
    bundle["policy"] = bundle["policy"].replace("isolate_score: 0.9", "isolate_score: 0.1")
    assert_refused(box, json.dumps(bundle).encode(), "bad_signature")


def test_tampered_version_field_is_refused(box: Box) -> None:
    apply(box, signed(box, 2))
    bundle = json.loads(signed(box, 3))
    bundle["version"] = 30
    assert_refused(box, json.dumps(bundle).encode(), "bad_signature")
    assert box.store.current().version == 2  # type: ignore[union-attr]


def test_flipped_signature_byte_is_refused(box: Box) -> None:
    raw = bytearray(signed(box, 2))
    bundle = json.loads(bytes(raw))
    sig = bytearray(__import__("base64").b64decode(bundle["signature"]))
    sig[5] ^= 0x01
    bundle["signature"] = __import__("base64").b64encode(bytes(sig)).decode()
    assert_refused(box, json.dumps(bundle).encode(), "bad_signature")


def test_unpinned_key_is_refused(box: Box) -> None:
    stranger = Ed25519PrivateKey.generate()
    assert_refused(box, sign_policy(policy_text(2), 2, stranger), "unknown_key")


def test_foreign_key_claiming_the_pinned_key_id_is_refused(box: Box) -> None:
    stranger = Ed25519PrivateKey.generate()
    bundle = json.loads(sign_policy(policy_text(2), 2, stranger))
    bundle["key_id"] = key_id(box.private.public_key())
    assert_refused(box, json.dumps(bundle).encode(), "bad_signature")


def test_replayed_bundle_is_refused(box: Box) -> None:
    bundle = signed(box, 2)
    assert apply(box, bundle).ok
    assert_refused(box, bundle, "replay")


def test_downgrade_is_refused(box: Box) -> None:
    old = signed(box, 2)
    assert apply(box, signed(box, 3)).ok
    assert_refused(box, old, "downgrade")


def test_bundle_not_newer_than_installed_policy_is_refused(box: Box) -> None:
    # the installed policy is version 1: a bundle "version 1" is a replay of it
    assert_refused(box, signed(box, 1), "replay")


def test_bundle_version_must_match_policy_version(box: Box) -> None:
    data = sign_policy(policy_text(4), 5, box.private)
    assert_refused(box, data, "version_mismatch")


def test_invalid_policy_is_refused_with_line_and_key(box: Box) -> None:
    text = policy_text(2) + "schedules:\n  enforce_secnds: 5\n"
    before = box.snapshot()
    result = apply(box, sign_policy(text, 2, box.private))
    assert result.code == "invalid_policy"
    typo_line = len(policy_text(2).splitlines()) + 2
    assert result.detail == f"bundle v2:{typo_line}: schedules.enforce_secnds: unknown key (typo?)"
    assert box.snapshot() == before


def test_moving_the_state_dir_is_refused(box: Box) -> None:
    text = policy_text(2).replace("state_dir: ./var", "state_dir: /tmp/elsewhere")
    assert_refused(box, sign_policy(text, 2, box.private), "state_dir_changed")


def test_garbage_is_refused(box: Box) -> None:
    assert_refused(box, b"<html>captive portal</html>", "bad_format")
    assert_refused(box, b'{"format": "notaus-policy-bundle/1"}', "bad_format")


def test_no_pinned_keys_refuses(box: Box) -> None:
    before = box.snapshot()
    result = apply_bundle(signed(box, 2), store=box.store, keys={}, journal=box.journal, baseline=box.baseline)
    assert result.code == "no_keys" and box.snapshot() == before


def test_rollback_restores_the_previous_version(box: Box) -> None:
    assert apply(box, signed(box, 2, isolate_score=0.85)).ok
    assert apply(box, signed(box, 3, isolate_score=0.6)).ok
    result = rollback_policy(store=box.store, journal=box.journal, baseline=box.baseline, actor="test")
    assert result.ok and result.version == 2 and result.previous_version == 3
    assert box.store.current_text() == policy_text(2, isolate_score=0.85)
    policy = current_policy(box.store, box.baseline)
    assert policy is not None and policy.detection.isolate_score == 0.85
    assert any("0.6 → 0.85" in c.en for c in result.changes)
    rb = box.journal.entries(kind="policy.rollback")
    assert rb[-1].data["from_version"] == 3 and rb[-1].data["to_version"] == 2
    # the rolled-back version cannot sneak back in; a newer one can
    assert_refused(box, signed(box, 3, isolate_score=0.6), "replay")
    assert apply(box, signed(box, 4)).ok


def test_rollback_of_first_update_returns_to_installed_policy(box: Box) -> None:
    assert apply(box, signed(box, 2, isolate_score=0.5)).ok
    result = rollback_policy(store=box.store, journal=box.journal, baseline=box.baseline)
    assert result.ok and result.version == 1
    assert box.store.current() is None
    policy = current_policy(box.store, box.baseline)
    assert policy is box.baseline
    again = rollback_policy(store=box.store, journal=box.journal, baseline=box.baseline)
    assert not again.ok and again.code == "no_previous"
