"""The sleep spread is measured on gaps that needed no folding: folded gaps (g / k) always land
within 0.75..1.25 periods, so counting them would make irregular traffic look regular."""

from __future__ import annotations

import itertools

import pytest

from notaus.controller.detection.scoring import ScoringConfig, _quantile, score_timing

# unfolded gaps spread 1.2 .. 2.9 s; the long ones (4.0, 5.8, 6.0, 4.1) fold neatly into ~2 s
GAPS = [1.2, 4.0, 1.4, 2.0, 5.8, 2.6, 2.9, 6.0, 1.3, 2.4, 4.1, 1.6]


def test_jitter_comes_from_unfolded_gaps() -> None:
    ts = list(itertools.accumulate([0.0, *GAPS]))
    res = score_timing(ts, ScoringConfig())
    assert res is not None and res.missed == 6
    single = sorted(g for g in GAPS if round(g / res.period_s) == 1)
    hi, lo = _quantile(single, 0.9), _quantile(single, 0.1)
    assert res.jitter == pytest.approx((hi - lo) / hi)
    assert res.score < 0.5                 # not in the alert band, not even at follow-up sensitivity


def test_regular_beacon_with_missed_callbacks_keeps_full_marks() -> None:
    gaps = [60.0, 55.0, 120.0, 58.0, 52.0, 180.0, 57.0, 60.0, 54.0, 118.0, 59.0, 56.0]
    res = score_timing(list(itertools.accumulate([0.0, *gaps])), ScoringConfig())
    assert res is not None and res.missed == 4 and res.jitter < 0.2 and res.score >= 0.7
