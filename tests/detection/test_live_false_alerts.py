"""Live mode must not cry wolf: random benign traffic, rescored as each connection arrives, almost
never reaches the alert band and never the isolate band - while beacons still alert after about a
dozen callbacks (the corpus test keeps recall on whole captures).

Each benign stream is replayed through ``Analyzer(streaming=True)`` with ``poll()`` after every
connection and counts if its score reached the band *at any point*. Seeds are fixed, so a failure
is reproducible; the counts are bounded so the module runs in seconds.
"""

from __future__ import annotations

import math
import random

import pytest

from notaus.controller.detection.scoring import ScoringConfig, randomness_evidence, score_timing
from notaus.policies.schema import Policy

from .live_streams import (
    Generator,
    beacon,
    page_loads,
    poisson,
    replay_max_scores,
    streams,
    working_hours,
)

ALERT = Policy().detection.alert_score
ISOLATE = Policy().detection.isolate_score
PER_KIND = 150

BENIGN: dict[str, Generator] = {
    "poisson 2.5 s": poisson(2.5, 150),
    "poisson 10 s": poisson(10.0, 150),
    "poisson 60 s": poisson(60.0, 120),
    "poisson 600 s": poisson(600.0, 60),
    "page loads + pauses": page_loads(150),
    "working hours": working_hours(110),
}


@pytest.fixture(scope="module")
def benign_best() -> dict[str, list[float]]:
    return {kind: replay_max_scores(streams(gen, PER_KIND, seed=100 + i))
            for i, (kind, gen) in enumerate(BENIGN.items())}


def test_random_streams_rarely_reach_alert_and_never_isolate(benign_best: dict[str, list[float]],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    total = sum(len(v) for v in benign_best.values())
    alerts = {k: sum(s >= ALERT for s in v) for k, v in benign_best.items()}
    with capsys.disabled():
        print(f"\n{'benign live stream':22s} {'streams':>7s} {'>=alert':>8s} {'max score':>9s}")
        for k, v in benign_best.items():
            print(f"{k:22s} {len(v):7d} {alerts[k]:8d} {max(v):9.2f}")
    assert total == PER_KIND * len(BENIGN)
    assert sum(alerts.values()) < 0.005 * total, alerts
    assert all(n <= 1 for n in alerts.values()), alerts
    isolating = {k: max(v) for k, v in benign_best.items() if max(v) >= ISOLATE}
    assert isolating == {}


def test_random_streams_are_scored_not_silenced(benign_best: dict[str, list[float]]) -> None:
    """The streams were scored (low scores, not missing ones): the cap works on the score."""
    for kind, best in benign_best.items():
        assert sum(s > 0 for s in best) >= 0.9 * len(best), kind


@pytest.mark.parametrize(("profile", "gen"), [            # stream length = callbacks seen so far
    ("fixed 60 s, 7 callbacks", beacon(60, "cs", 0.0, 7)),
    ("cobalt strike 50 % / 300 s, 12", beacon(300, "cs", 0.5, 12)),
    ("sliver 60 + 30 s, 12", beacon(60, "sliver", 30, 12)),
    ("slow hourly, 12", beacon(3600, "cs", 0.1, 12)),
    ("missed 15 %, 30", beacon(300, "cs", 0.1, 30, missed=0.15)),
    ("missed 10 % + cs 50 %, 30", beacon(120, "cs", 0.5, 30, missed=0.1)),
    ("tasking bursts, 40 connections", beacon(120, "cs", 0.3, 40, bursts=0.3)),
])
def test_beacons_alert_live_after_a_handful_of_callbacks(profile: str, gen: Generator) -> None:
    best = replay_max_scores(streams(gen, 30, seed=7))
    assert min(best) >= ALERT, (profile, sorted(best)[:3])


def test_evidence_bound_holds_for_exponential_gaps() -> None:
    """-log10 p is an upper bound: on random gaps, evidence >= e happens at most 10^-e of the time."""
    rng = random.Random(5)
    samples = [[rng.expovariate(1.0) for _ in range(rng.randint(5, 60))] for _ in range(3000)]
    ev = [randomness_evidence(s) for s in samples]
    for e in (1.0, 2.0):
        assert sum(x >= e for x in ev) <= 3000 * 10 ** -e
    assert max(ev) < 4.0                                   # the alert band needs 4


def test_evidence_matches_the_exact_spacings_formula() -> None:
    # five gaps, smallest 0.8 of the mean: P = (1 - 0.8)^4; largest/smallest 1.5: P = 10 * B(10, 5)
    gaps = [8.0, 9.0, 10.0, 11.0, 12.0]
    p_min = (1 - 8.0 / 10.0) ** 4
    a = 5 / 0.5
    p_ratio = math.exp(math.log(a) + math.lgamma(a) + math.lgamma(5) - math.lgamma(a + 5))
    expected = -math.log10(min(p_min, p_ratio) / 0.35)
    assert randomness_evidence(gaps) == pytest.approx(expected, rel=1e-9)
    assert randomness_evidence([5.0, 5.0, 5.0, 5.0, 5.0, 5.0]) > 20


def test_burst_merging_scales_with_the_gaps() -> None:
    """Busy random traffic (2.5 s mean) keeps most of its short gaps: a fixed 1 s merge swallowed a
    third. The merge is relative to the base period (15 % of it), so it takes about a sixth of
    exponential gaps - and the gaps after a merge stay exponential, so the randomness cap holds."""
    rng = random.Random(3)
    ts = [0.0]
    for _ in range(200):
        ts.append(ts[-1] + rng.expovariate(1 / 2.5))
    res = score_timing(ts, ScoringConfig())
    assert res is not None and res.merged < 0.2 * len(ts) and res.score < 0.5
    # tasking bursts a few seconds after a 2-minute callback are still one callback
    beacon_ts = [i * 120.0 + d for i in range(20) for d in ((0.0, 1.5, 2.9) if i % 3 == 0 else (0.0,))]
    res = score_timing(beacon_ts, ScoringConfig())
    assert res is not None and res.callbacks == 20 and res.score >= ALERT
    # ... and so are bursts up to 15 % of the base period later (45 s beacon, tasks 0.2-6 s after)
    rng = random.Random(5)
    beacon_ts = []
    t = 0.0
    for i in range(60):
        t += 45.0 * (1 - rng.uniform(0, 0.1))
        beacon_ts.append(t)
        if i % 7 == 0:
            beacon_ts.extend(t + rng.uniform(0.2, 6.0) for _ in range(rng.randint(1, 4)))
    res = score_timing(sorted(beacon_ts), ScoringConfig())
    assert res is not None and res.callbacks == 60 and res.score >= ISOLATE
