"""Follow-up sensitivity: while an incident's follow-up period runs, the Responder's bands drop by
FOLLOWUP_DELTA (floor FOLLOWUP_FLOOR). Real Journal and real IncidentManager on a temp state dir."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from notaus.controller.detection.analyzer import Detection
from notaus.controller.detection.response import FOLLOWUP_DELTA, FOLLOWUP_FLOOR, Responder, lowered
from notaus.controller.incident import IncidentManager, utcnow
from notaus.controller.journal import Journal
from notaus.policies.schema import Policy


def _det(score: float, src: str = "192.168.178.150") -> Detection:
    return Detection(src=src, dst="45.83.10.66", dst_port=443, proto="tcp", score=score, interval_s=60.0,
                     connections=20, name=None, kind="beacon", why=["test"])


def _policy(tmp_path: Path, alert: float = 0.7, isolate: float = 0.9, days: int = 14) -> Policy:
    return Policy.model_validate({
        "controller": {"state_dir": str(tmp_path)},
        "schedules": {"followup_days": days},
        "detection": {"response": "isolate", "alert_score": alert, "isolate_score": isolate}})


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


def _responder(policy: Policy, journal: Journal, mgr: IncidentManager | None) -> Responder:
    return Responder(policy, journal, None, followup_until=mgr.followup_until if mgr else None)


def test_lowered_threshold_rule() -> None:
    assert FOLLOWUP_DELTA == 0.1 and FOLLOWUP_FLOOR == 0.5
    assert lowered(0.9) == pytest.approx(0.8) and lowered(0.7) == pytest.approx(0.6)
    assert lowered(0.55) == 0.5            # floor
    assert lowered(0.4) == 0.4             # a policy below the floor is never raised


def test_open_incident_lowers_both_bands(tmp_path: Path, journal: Journal) -> None:
    policy = _policy(tmp_path)
    mgr = IncidentManager(journal, tmp_path, followup_days=14)
    normal = _responder(policy, journal, mgr)
    assert normal.thresholds().followup is False
    assert normal.handle(_det(0.65)) is None and normal.handle(_det(0.85, "192.168.178.151")) == "alert"

    mgr.open(actor="test", note="Verschlüsselung an der Anmeldung")
    raised = _responder(policy, journal, mgr)
    bands = raised.thresholds()
    assert bands.followup and bands.alert == pytest.approx(0.6) and bands.isolate == pytest.approx(0.8)
    assert raised.handle(_det(0.65)) == "alert"
    assert raised.handle(_det(0.85, "192.168.178.151")) == "isolate"
    assert raised.handle(_det(0.55, "192.168.178.152")) is None
    # the journal says which bands applied, so the decision is explainable afterwards
    entries = journal.entries(limit=100)
    iso = next(e for e in entries if e.kind == "detection.decision" and e.data["decision"] == "isolate")
    assert iso.data["followup"] is True
    det = next(e for e in entries if e.kind == "detection" and e.data["src"] == "192.168.178.151"
               and e.data["band"] == "isolate")
    assert det.data["thresholds"] == {"alert": pytest.approx(0.6), "isolate": pytest.approx(0.8), "followup": True}
    # no incident manager -> policy bands
    assert _responder(policy, journal, None).thresholds().alert == 0.7
    mgr.close()


def test_followup_ends_after_the_period(tmp_path: Path, journal: Journal) -> None:
    policy = _policy(tmp_path, alert=0.55, isolate=0.9, days=14)
    mgr = IncidentManager(journal, tmp_path, followup_days=14)
    inc = mgr.open(actor="test")
    mgr.close_incident(inc.id, actor="test", reason="bereinigt")
    r = _responder(policy, journal, mgr)
    assert r.thresholds().followup and r.thresholds().alert == 0.5 and r.thresholds().isolate == pytest.approx(0.8)
    later = utcnow() + timedelta(days=15)
    assert mgr.followup_until(now=later) is None
    r2 = Responder(policy, journal, None, followup_until=lambda: mgr.followup_until(now=later))
    assert r2.thresholds() == r2.thresholds().__class__(0.55, 0.9, False)
    mgr.close()


def test_broken_incident_source_keeps_policy_bands_and_is_cached(tmp_path: Path, journal: Journal) -> None:
    calls = 0

    def broken() -> datetime | None:
        nonlocal calls
        calls += 1
        raise OSError("incidents.sqlite unreadable")

    r = Responder(_policy(tmp_path), journal, None, followup_until=broken)
    assert r.thresholds().alert == 0.7 and r.handle(_det(0.75)) == "alert"
    assert calls == 1                      # asked once, then reused for followup_check_s
