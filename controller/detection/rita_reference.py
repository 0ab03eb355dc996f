"""A RITA-v5-style reference beacon scorer, re-implemented from the published algorithm.

Used as the baseline the detector must beat on the same corpus. Follows activecm/rita
``analysis/beacons.go``, ``analysis/analysis.go`` and ``default_config.hjson`` (checked against
the v5 source): timestamp score = mean of Bowley-skewness score and MAD score of the non-zero
intervals between whole-second timestamps; data-size score the same over the originator's IP
bytes per connection; histogram score = max(coefficient-of-variation score, bimodal fit) over 24
bins spanning the beacon window, on whole-second timestamps; duration score = max(coverage,
consistency) once at least 6 bins are occupied; final score = weighted mean with the default
weights (0.25 each), rounded to 0.001.

Which pairs RITA scores (``analysis.go``): at least ``unique_connection_threshold`` (4) *unique*
timestamps and fewer than 86,400 connections (more is a strobe, not scored as a beacon). RITA
groups connections by source and destination *address* (all ports together) and keeps at most
86,400 timestamps per pair; connections that belong to an SNI/HTTP-host beacon are scored under
that name and left out of the address pair (``uconns.sql``). :func:`rita_eligible` states the
selection; the caller groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

TS_WEIGHT = DS_WEIGHT = DUR_WEIGHT = HIST_WEIGHT = 0.25
HIST_MODE_SENSITIVITY = 0.05
HIST_BIMODAL_OUTLIER_REMOVAL = 1
HIST_BIMODAL_MIN_HOURS = 11
DUR_MIN_HOURS = 6
DUR_IDEAL_CONSISTENT_HOURS = 12
HIST_BINS = 24
UNIQUE_CONNECTION_THRESHOLD = 4
STROBE_CONNECTIONS = 86_400
MAX_TIMESTAMPS = 86_400


@dataclass(frozen=True)
class RitaScore:
    score: float
    ts_score: float
    ds_score: float
    hist_score: float
    dur_score: float


def _median(sorted_vals: Sequence[float]) -> float:
    n = len(sorted_vals)
    mid = n // 2
    return float(sorted_vals[mid]) if n % 2 else (sorted_vals[mid - 1] + sorted_vals[mid]) / 2.0


def _quartiles(sorted_vals: Sequence[float]) -> tuple[float, float, float]:
    """Quartiles the way montanaflynn/stats computes them (median excluded from halves for odd n)."""
    n = len(sorted_vals)
    c1 = n // 2
    c2 = c1 if n % 2 == 0 else c1 + 1
    return _median(sorted_vals[:c1]), _median(sorted_vals), _median(sorted_vals[c2:])


def _bowley_score(sorted_vals: Sequence[float]) -> float:
    q1, q2, q3 = _quartiles(sorted_vals)
    den = q3 - q1
    skew = 0.0
    if den >= 10 and q2 != q1 and q2 != q3:
        skew = (q1 + q3 - 2 * q2) / den
    return 1.0 - abs(skew)


def _mad_score(sorted_vals: Sequence[float], default: float) -> float:
    med = _median(sorted_vals)
    mad = _median(sorted(abs(v - med) for v in sorted_vals))
    score = default
    if med >= 1:
        score = (med - mad) / med
    return 0.0 if score < 0 or math.isnan(score) else score


def _statistical(sorted_vals: Sequence[float], default_mad: float) -> float:
    return round(((_bowley_score(sorted_vals) + _mad_score(sorted_vals, default_mad)) / 2.0) * 1000) / 1000


def timestamp_score(ts: Sequence[float]) -> float | None:
    """RITA works on whole-second timestamps; intervals of 0 s are dropped."""
    secs = sorted(int(t) for t in ts)
    if len(secs) < 4:
        return None
    deltas = sorted(float(b - a) for a, b in zip(secs, secs[1:], strict=False))
    nonzero = [d for d in deltas if d > 0]
    if len(nonzero) < 3:
        return None
    return _statistical(nonzero, 1.0)


def datasize_score(sizes: Sequence[float]) -> float | None:
    if len(sizes) < 3:
        return None
    return _statistical(sorted(float(s) for s in sizes), 0.0)


def rita_eligible(ts: Sequence[float]) -> bool:
    """RITA analyses a pair for beaconing only with >= 4 unique timestamps (its ``conn.ts`` is a
    ``DateTime``: whole seconds) and < 86,400 connections."""
    return len({int(t) for t in ts}) >= UNIQUE_CONNECTION_THRESHOLD and len(ts) < STROBE_CONNECTIONS


def _histogram(ds_min: float, ds_max: float, ts: Sequence[float]) -> list[int]:
    """Connections per bin; edges from the window's whole seconds, a timestamp on an edge counts right."""
    lo, hi = int(ds_min), int(ds_max)
    step = (hi - lo) / HIST_BINS
    hist = [0] * HIST_BINS
    for t in ts:
        idx = int((int(t) - lo) / step) if step > 0 else 0
        hist[min(max(idx, 0), HIST_BINS - 1)] += 1
    return hist


def histogram_score(ds_min: float, ds_max: float, ts: Sequence[float]) -> tuple[float, int, int]:
    """Return (score, total occupied bins, longest run of occupied bins incl. wrap-around)."""
    hist = _histogram(ds_min, ds_max, ts)
    total_bars = sum(1 for h in hist if h > 0)
    largest = max(hist)
    bin_size = math.ceil(largest * HIST_MODE_SENSITIVITY) or 1
    freq: dict[int, int] = {}
    longest = run = 0
    for i in range(len(hist) * 2):
        f = hist[i % len(hist)]
        if f > 0:
            run += 1
        else:
            longest = max(longest, run)
            run = 0
        if i < len(hist) and f > 0:
            b = int(math.floor(f / bin_size) * bin_size)
            freq[b] = freq.get(b, 0) + 1
    longest = min(max(longest, run), len(hist))
    mean = sum(hist) / len(hist)
    sd = math.sqrt(sum((h - mean) ** 2 for h in hist) / len(hist))
    cv = sd / abs(mean) if mean else 1.0
    cv_score = 0.0 if cv > 1.0 else min(1.0, round((1.0 - cv) * 1000) / 1000)
    bimodal = 0.0
    if total_bars >= HIST_BIMODAL_MIN_HOURS:
        top = sorted(freq.values(), reverse=True)[:2]
        bimodal = min(1.0, round(sum(top) / max(total_bars - HIST_BIMODAL_OUTLIER_REMOVAL, 1) * 1000) / 1000)
    return max(cv_score, bimodal), total_bars, longest


def duration_score(ds_min: float, ds_max: float, first: float, last: float, total_bars: int,
                   longest_run: int) -> float:
    ds_min, ds_max, first, last = int(ds_min), int(ds_max), int(first), int(last)
    if ds_max <= ds_min or last <= first or total_bars < DUR_MIN_HOURS:
        return 0.0
    coverage = min(1.0, math.ceil((last - first) / (ds_max - ds_min) * 1000) / 1000)
    consistency = min(1.0, math.ceil(longest_run / DUR_IDEAL_CONSISTENT_HOURS * 1000) / 1000)
    return max(coverage, consistency)


def rita_score(ts: Sequence[float], sizes: Sequence[float], ds_min: float, ds_max: float) -> RitaScore | None:
    """Score one pair (or one name) like RITA v5; None when RITA would not score it."""
    if not rita_eligible(ts):
        return None
    ts_sorted = sorted(ts)[:MAX_TIMESTAMPS]
    tss = timestamp_score(ts_sorted)
    dss = datasize_score(sizes)
    if tss is None or dss is None or ds_max <= ds_min:
        return None
    hist, bars, longest = histogram_score(ds_min, ds_max, ts_sorted)
    dur = duration_score(ds_min, ds_max, ts_sorted[0], ts_sorted[-1], bars, longest)
    score = round((tss * TS_WEIGHT + dss * DS_WEIGHT + dur * DUR_WEIGHT + hist * HIST_WEIGHT) * 1000) / 1000
    return RitaScore(score, tss, dss, hist, dur)
