"""The prefiltered reader (libpcap BPF, only SYN/FIN/RST, UDP and TLS hellos reach Python) finds
the same beacons as the full reader, and counts bytes per connection from sequence numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from notaus.controller.detection import prefilter
from notaus.controller.detection.analyzer import Analyzer
from notaus.controller.detection.flows import FlowTable
from notaus.controller.detection.pcapio import read_file
from notaus.policies.schema import Policy

from .corpus import Corpus, build_flows, build_practice, practice_hosts

pytestmark = pytest.mark.skipif(not prefilter.available(), reason="libpcap not installed")
ALERT = Policy().detection.alert_score


def _alerts(analyzer: Analyzer) -> set[tuple[str, str, int, str, bool]]:
    return {(d.src, d.name or d.dst, d.dst_port, d.kind, d.allowed) for d in analyzer.detections()
            if d.score >= ALERT and d.kind == "beacon"}


def test_same_findings_as_the_full_reader(tmp_path: Path) -> None:
    path = tmp_path / "practice.pcap"
    corpus: Corpus = build_practice(path, seed=5)
    policy = Policy.model_validate({"hosts": practice_hosts()})
    full, pre = Analyzer(policy), Analyzer(policy)
    full.analyze_file(path)
    stats = prefilter.read_file_prefiltered(path, pre.table)
    assert stats is not None and 0 < stats.records < len(corpus.packets)
    assert _alerts(pre) == _alerts(full) and len(_alerts(full)) >= 30


def test_bytes_come_from_sequence_numbers(tmp_path: Path) -> None:
    path = tmp_path / "flows.pcap"
    build_flows(path, 3000, data_packets=40)
    full, pre = FlowTable(), FlowTable()
    read_file(path, full.feed)
    stats = prefilter.read_file_prefiltered(path, pre)
    assert stats is not None and stats.records < 0.2 * 3000
    checked = cut = 0
    for key, p in full.pairs.items():
        if key[3] != 6 or not p.conns:
            continue
        q = pre.pairs[key]
        assert q.conns == p.conns
        if q.bytes_in < 1400:      # the capture ends before this connection's FIN (build_flows cuts there)
            cut += 1
            continue
        # downstream: 40 segments of 1400 bytes by sequence numbers, within the headers the full reader adds
        assert 40 * 1400 <= q.bytes_in <= p.bytes_in
        checked += 1
    assert checked >= 20 and cut <= 1
