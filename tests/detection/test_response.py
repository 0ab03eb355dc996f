"""Streaming detection -> journal -> decision -> engine isolate, with evidence (real Journal, real Engine)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from notaus.controller.detection.analyzer import Analyzer
from notaus.controller.detection.flows import FlowTable
from notaus.controller.detection.pcapio import iter_frames, read_file
from notaus.controller.detection.response import HostRing, Responder
from notaus.controller.engine import Engine
from notaus.policies.schema import Policy

from .corpus import Corpus, add_allowed, practice_hosts

SUSPECT = "192.168.178.150"
C2 = "45.83.10.66"


def _capture(tmp_path: Path) -> Path:
    c = Corpus(rng=random.Random(5))
    t = 1_700_000_000.0
    for _ in range(30):                          # CS-style beacon, 60 s sleep, 30 % jitter
        c.tcp(t, SUSPECT, C2, 443, 350, 200)
        t += 60 * (1 - c.rng.uniform(0, 0.3))
    c.tcp(1_700_000_100.0, SUSPECT, "93.184.0.1", 443, 5000, 100)   # some other upload
    add_allowed(c, hours=0.6)
    return c.write(tmp_path / "live.pcap")


def _policy(tmp_path: Path, response: str) -> Policy:
    return Policy.model_validate({
        "hosts": [*practice_hosts(), {"name": "empfang", "ip": SUSPECT}],
        "controller": {"state_dir": str(tmp_path / "var")},
        "detection": {"response": response, "alert_score": 0.7, "isolate_score": 0.9}})


def _run(tmp_path: Path, response: str) -> tuple[Engine, Responder, list[str]]:
    pcap = _capture(tmp_path)
    policy = _policy(tmp_path, response)
    engine = Engine.from_policy(policy)
    analyzer = Analyzer(policy, streaming=True)
    ring = HostRing(bytes_per_host=64 << 10)
    responder = Responder(policy, engine.journal, engine, table=analyzer.table, ring=ring)
    decisions: list[str] = []
    count = 0

    def sink(buf, off, caplen, wirelen, ts, lt):  # type: ignore[no-untyped-def,unused-ignore]
        nonlocal count
        analyzer.feed(buf, off, caplen, wirelen, ts, lt)
        ring.feed(buf, off, caplen, wirelen, ts, lt)
        count += 1
        if count % 50 == 0:                      # what the live loop does once per second
            for det in analyzer.poll():
                d = responder.handle(det)
                if d and det.src == SUSPECT:
                    decisions.append(d)

    read_file(pcap, sink)
    for det in analyzer.poll():
        d = responder.handle(det)
        if d and det.src == SUSPECT:
            decisions.append(d)
    # the suspect's decisions only: allowed pairs of other hosts come out of poll() in set order, which
    # changes from run to run with Python's hash seed
    return engine, responder, decisions


def test_isolate_policy_goes_through_engine_with_evidence(tmp_path: Path) -> None:
    engine, responder, decisions = _run(tmp_path, "isolate")
    everything = engine.journal.entries(limit=1000)
    kinds = [e.kind for e in everything]
    # alert first (few callbacks, provisional score), then isolate once the score is certain
    assert decisions[:1] == ["alert"] and "isolate" in decisions
    first = next(i for i, e in enumerate(everything) if e.kind == "detection" and e.data.get("src") == SUSPECT)
    assert kinds[first + 1] == "detection.decision"
    iso = kinds.index("isolate.request")
    # through the guardrail layer first (budget, host identity), then the engine's own guards
    assert kinds[iso - 3: iso] == ["detection", "detection.decision", "agent.request"]
    assert kinds[iso + 1] == "guard.refused" and "detection.action" in kinds[iso:]
    entries = engine.journal.entries(limit=1000)
    decision = next(e for e in entries if e.kind == "detection.decision" and e.data["decision"] == "isolate")
    assert decision.data["src"] == SUSPECT and decision.data["dst"] == C2
    ev = decision.data["evidence"]
    pcap = Path(ev["pcap"])
    assert hashlib.sha256(pcap.read_bytes()).hexdigest() == ev["pcap_sha256"]
    frames = list(iter_frames(pcap))
    assert len(frames) == ev["pcap_packets"] > 10
    ft = FlowTable()
    read_file(pcap, ft.feed)
    assert {p.src for p in ft.pairs.values()} == {bytes([192, 168, 178, 150])}
    out = ev["bytes_out_internet"]
    sent = {row["dst"]: row["bytes"] for row in out}
    assert set(sent) == {C2, "93.184.0.1"} and sent["93.184.0.1"] > 4000 and sent[C2] > 350 * 6
    req = next(e for e in entries if e.kind == "isolate.request")
    assert req.data["source"] == "detection" and req.data["evidence"]["pcap_sha256"] == ev["pcap_sha256"]
    # dedupe: one decision per band and pair, not one per packet
    assert decisions.count("isolate") == 1 and decisions.count("alert") == 1
    assert engine.journal.verify().ok


def test_ask_policy_does_not_isolate_and_allowed_pairs_get_no_decision(tmp_path: Path) -> None:
    engine, responder, decisions = _run(tmp_path, "ask")
    kinds = [e.kind for e in engine.journal.entries(limit=1000)]
    assert "ask" in decisions and "isolate.request" not in kinds
    assert responder.pending_asks and responder.pending_asks[0]["src"] == SUSPECT
    entries = engine.journal.entries(limit=1000)
    allowed = [e for e in entries if e.kind == "detection" and e.data["allowed"]]
    assert {e.data["src"] for e in allowed} >= {"192.168.178.30"}
    decided = {e.data["src"] for e in entries if e.kind == "detection.decision"}
    assert decided == {SUSPECT}
