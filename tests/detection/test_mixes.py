"""Per-class targets on the 24-hour practice mixes, no policy, beside the RITA-v5 reference.

Seed 3 here (the scorer was tuned on seed 1; ``make bench`` reports seed 2). Two beacons per class
keep the module at a few seconds per mix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from notaus.controller.detection.analyzer import Analyzer
from notaus.policies.schema import Policy

from .evaluate import MixResult, evaluate_mix, mix_table
from .mixes import build_mix

ALERT = Policy().detection.alert_score


@pytest.fixture(scope="module", params=["easy", "hard"])
def mix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, MixResult]:
    path = tmp_path_factory.mktemp("mix") / f"{request.param}.pcap"
    corpus = build_mix(path, request.param, seed=3, copies=2)
    ours = Analyzer(None)
    ours.analyze_file(path)
    rita = Analyzer(None, ring=86_400)
    rita.analyze_file(path)
    return request.param, evaluate_mix(corpus, ours, rita, ALERT)


def test_every_class_recall_f1_and_benign_alerts(mix: tuple[str, MixResult]) -> None:
    name, res = mix
    print("\n" + mix_table(name, res, ALERT))
    assert {r.cls: r.ours / r.beacons for r in res.rows if r.ours / r.beacons < 0.95} == {}
    assert res.ours_f1() >= 0.9
    assert len(res.ours_fp) * 24 / res.hours <= 1.0, res.ours_fp


def test_dominates_the_rita_reference(mix: tuple[str, MixResult]) -> None:
    """Every beacon RITA scores >= 0.8 is ours too; and RITA really does find some (not a straw man)."""
    _, res = mix
    assert res.not_dominated == []
    assert sum(r.rita[0.8] for r in res.rows) >= len(res.rows)


def test_legitimate_periodics_are_visible_but_silent(tmp_path: Path) -> None:
    """NTP, SIP, SSDP, printer SNMP, TI-Konnektor, messenger, IMAP, LAN scrape: each reported, none alerting."""
    path = tmp_path / "easy.pcap"
    corpus = build_mix(path, "easy", seed=4, copies=1)
    ours = Analyzer(None)
    ours.analyze_file(path)
    dets = ours.detections()
    for lb in corpus.labels:
        if lb.kind != "benign" or lb.profile in ("browsing", "smb"):
            continue
        rows = [d for d in dets if d.src == lb.src and d.dst == lb.dst and d.dst_port == lb.dst_port
                and d.kind in ("beacon", "strobe")]
        assert rows, lb.profile
        for d in rows:
            assert d.allowed or d.scope == "lan", (lb.profile, d)
    scrape = next(d for d in dets if d.dst_port == 9182)
    assert scrape.scope == "lan" and not scrape.allowed and scrape.score >= ALERT   # judged apart, not hidden
