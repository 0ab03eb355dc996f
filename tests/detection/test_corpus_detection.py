"""The detector on the generated practice corpus, side by side with the RITA-v5 reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from notaus.controller.detection.analyzer import Analyzer
from notaus.policies.schema import Policy

from .corpus import Corpus, build_practice, practice_hosts
from .evaluate import evaluate_ours, evaluate_rita

ALERT = Policy().detection.alert_score


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Corpus, Analyzer, Path]:
    path = tmp_path_factory.mktemp("corpus") / "practice.pcap"
    corpus = build_practice(path, seed=1)
    analyzer = Analyzer(Policy.model_validate({"hosts": practice_hosts()}))
    report = analyzer.analyze_file(path)
    assert report.packets == len(corpus.packets) and report.malformed == 0
    return corpus, analyzer, path


def test_recall_on_beacons_with_12_or_more_callbacks(practice: tuple[Corpus, Analyzer, Path]) -> None:
    corpus, analyzer, _ = practice
    ours, _ = evaluate_ours(corpus, analyzer, ALERT)
    assert ours.beacons >= 30
    assert ours.recall >= 0.95, ours.missed


def test_no_alerts_on_aperiodic_benign_traffic(practice: tuple[Corpus, Analyzer, Path]) -> None:
    corpus, analyzer, _ = practice
    ours, dets = evaluate_ours(corpus, analyzer, ALERT)
    assert ours.false_alerts == []
    # the benign long-lived connection is reported as its own finding, below the alert band
    longs = [d for d in dets if d.kind == "long_connection"]
    assert [(d.dst, d.dst_port) for d in longs] == [("151.101.1.1", 443)]
    assert longs[0].score < ALERT


def test_legitimate_periodic_services_are_reported_as_allowed(practice: tuple[Corpus, Analyzer, Path]) -> None:
    corpus, analyzer, _ = practice
    dets = analyzer.detections()
    for lb in corpus.labels:
        if lb.kind != "allowed":
            continue
        rows = [d for d in dets if d.src == lb.src and d.dst == lb.dst and d.dst_port == lb.dst_port]
        assert rows, f"{lb.profile} from {lb.src} not reported"
        assert all(d.allowed and d.allow_rule for d in rows), (lb.profile, rows)
    # periodic ones really are periodic: they are allowed despite scores in the alert band
    sip = next(d for d in dets if d.src == "192.168.178.30")
    assert sip.score >= ALERT and sip.allowed and sip.allow_rule == "SIP-Registrierung Telefon"
    ti = next(d for d in dets if d.src == "192.168.178.40")
    assert ti.score >= ALERT and ti.allowed


def test_without_policy_protocol_knowledge_recognises_sip(practice: tuple[Corpus, Analyzer, Path]) -> None:
    """Without the host inventory the phone's REGISTER loop is still known (SIP), and says so;
    with it, the policy's role rule names it."""
    _, _, path = practice
    bare = Analyzer(Policy())
    bare.analyze_file(path)
    sip = next(d for d in bare.detections() if d.src == "192.168.178.30" and d.dst_port == 5060)
    assert sip.score >= ALERT and sip.allowed and sip.allow_rule == "bekannt: SIP-Registrierung (Telefonie)"


def test_rotating_ip_beacon_is_found_by_name(practice: tuple[Corpus, Analyzer, Path]) -> None:
    corpus, analyzer, _ = practice
    dets = analyzer.detections()
    for lb in (x for x in corpus.labels if x.profile == "rotating-ips"):
        by_name = [d for d in dets if d.src == lb.src and d.name == lb.name and d.kind == "beacon"]
        assert by_name and by_name[0].score >= ALERT
        assert any("4 Adressen" in w for w in by_name[0].why)
        assert by_name[0].connections == lb.callbacks


def test_side_by_side_with_rita_reference(practice: tuple[Corpus, Analyzer, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    corpus, analyzer, _ = practice
    ours, _ = evaluate_ours(corpus, analyzer, ALERT)
    rita = evaluate_rita(corpus, analyzer, ALERT)
    rita_low = evaluate_rita(corpus, analyzer, 0.5)
    rita_low.name += " @0.5"
    with capsys.disabled():
        print(f"\n{'Scorer':22s} {'Recall':>7s} {'Fehlalarme':>10s}  verpasst")
        for o in (ours, rita, rita_low):
            print(f"{o.name:22s} {o.recall:7.2f} {len(o.false_alerts):10d}  {sorted(set(o.missed))}")
    assert rita.beacons == ours.beacons
    assert ours.recall >= rita.recall
    assert len(ours.false_alerts) <= len(rita.false_alerts)
