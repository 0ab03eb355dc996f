"""The RITA-v5 reference reproduces RITA's own test vectors.

The inputs and expected scores below are those of activecm/rita ``analysis/beacons_test.go``
(``TestGetTimestampScore``, ``TestGetHistogramScore``, ``TestGetDurationScore``; RITA v5, GPL-3.0);
only the numbers are taken, the code under test is our re-implementation.
"""

from __future__ import annotations

import pytest

from notaus.controller.detection.rita_reference import (
    duration_score,
    histogram_score,
    rita_eligible,
    rita_score,
    timestamp_score,
)

T = 1517338924


@pytest.mark.parametrize(("ts", "expected"), [
    (list(range(1, 11)), 1.0),                                               # "Simple Number List"
    ([T + 60 * i for i in range(10)], 1.0),                                 # "Perfect Intervals"
    ([T, 1517339022, 1517339121, 1517339220, 1517339320, 1517339420, 1517339520, 1517339621,
      1517339722, 1517339824], 0.995),                                      # "Closely-Valued Intervals"
    ([T, 1517339022, 1517339322, 1517339420, 1517339720, 1517339818, 1517340118, 1517340216,
      1517340516, 1517340614, 1517340914], 0.746),                          # "Bi-Modal Intervals"
    ([T, 1517338925, 1517339224, 1517339249, 1517344224, 1517344314, 1517344316, 1517344358,
      1517344858, 1517346358], 0.083),                                      # "Random Intervals"
])
def test_timestamp_score_matches_rita(ts: list[int], expected: float) -> None:
    assert timestamp_score(ts) == pytest.approx(expected, abs=1e-9)


def test_fewer_than_three_nonzero_intervals_is_not_scored() -> None:
    assert timestamp_score([60] * 9) is None                                # "< 3 Non-Zero Intervals"


def test_histogram_of_hourly_connections_over_a_day_scores_one() -> None:
    score, bars, longest = histogram_score(T, T + 24 * 3600, [T + h * 3600 for h in range(24)])
    assert (score, bars, longest) == (1.0, 24, 24)                          # "Regular Intervals"


@pytest.mark.parametrize(("first", "bars", "longest", "expected"), [
    (T, 24, 24, 1.0),                  # "Full Dataset Coverage, Full Consistency"
    (T, 6, 0, 1.0),                    # "Full Dataset Coverage, Min Consistency"
    (T + 12 * 3600, 6, 0, 0.5),        # "First Half Dataset Coverage, Min Consistency"
])
def test_duration_score_matches_rita(first: int, bars: int, longest: int, expected: float) -> None:
    assert duration_score(T, T + 24 * 3600, first, T + 24 * 3600, bars, longest) == pytest.approx(expected)


def test_selection_like_rita() -> None:
    """>= 4 unique whole-second timestamps; 86,400 connections or more are a strobe, not a beacon."""
    assert not rita_eligible([T + 0.1, T + 0.5, T + 1.2, T + 1.7])         # 2 unique seconds
    assert rita_eligible([T, T + 1, T + 2, T + 3])
    assert rita_score([T + i for i in range(86_400)], [100.0] * 86_400, T, T + 86_400) is None
