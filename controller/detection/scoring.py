"""Beacon scoring that holds up against the jitter styles real implants use.

RITA's timestamp score (Bowley skew + MAD of raw intervals) is built for symmetric noise around
one interval. Implants do otherwise: Cobalt Strike only *shortens* sleeps (interval =
sleep * (1 - U(0, j))), Sliver *adds* up to N seconds, callbacks get missed (gaps that are
multiples of the period), taskings add bursts of extra connections, and slow beacons never fill
RITA's 24-hour histogram. This scorer therefore:

1. merges bursts (connections a small fraction of the typical gap apart) into one callback;
2. estimates the period robustly and explains each gap as ``k`` periods (``k - 1`` missed);
3. scores how much of the gap sequence such a period explains (gaps far shorter than the
   period are what aperiodic traffic has and beacons do not), how many callbacks had to be
   assumed missing, and how wide the sleep range is relative to its maximum (bounded jitter up
   to 50 % keeps full marks; memoryless traffic spreads wider);
4. scales by confidence in the number of gaps seen, so a score exists after a handful of
   callbacks but only reaches the isolate band with more evidence;
5. nudges by how constant the bytes per connection are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoringConfig:
    min_connections: int = 6
    full_confidence_gaps: int = 11          # gaps needed for full confidence
    burst_fraction: float = 0.1             # gaps < this * q75(gap) are the same callback ...
    burst_cap_s: float = 10.0               # ... but never more than this
    burst_floor_s: float = 1.0              # and always merge starts closer than this (page loads)
    long_connection_s: float = 3600.0       # report connections open longer than this
    long_connection_full_s: float = 86400.0  # ... with score 1.0 at this duration
    strobe_connections: int = 1000          # this many connection starts on one pair ...
    strobe_max_interval_s: float = 10.0     # ... at this mean interval or faster is a strobe


@dataclass
class TimingResult:
    score: float
    period_s: float
    callbacks: int
    missed: int
    merged: int
    early: int
    jitter: float
    why: list[str] = field(default_factory=list)


def _quantile(sorted_vals: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of an already sorted sequence."""
    if not sorted_vals:
        return 0.0
    pos = (len(sorted_vals) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def _fmt_s(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def score_timing(timestamps: Sequence[float], cfg: ScoringConfig = ScoringConfig()) -> TimingResult | None:
    """Score a sequence of connection start times; None if there is too little to say anything."""
    if len(timestamps) < cfg.min_connections:
        return None
    ts = sorted(timestamps)
    raw = [b - a for a, b in zip(ts, ts[1:], strict=False)]
    q75 = _quantile(sorted(raw), 0.75)
    merge_below = min(cfg.burst_cap_s, max(cfg.burst_floor_s, cfg.burst_fraction * q75))
    events = [ts[0]]
    for t, gap in zip(ts[1:], raw, strict=False):
        if gap > merge_below:
            events.append(t)
    merged = len(ts) - len(events)
    gaps = [b - a for a, b in zip(events, events[1:], strict=False)]
    if len(events) < cfg.min_connections:
        return None

    sgaps = sorted(gaps)
    p0 = _quantile(sgaps, 0.5)
    if p0 <= 0:
        return None
    folded = []
    for g in gaps:
        k = round(g / p0)
        if k >= 1 and abs(g / (k * p0) - 1) <= 0.5:
            folded.append(g / k)
    period = _quantile(sorted(folded), 0.5) if folded else p0

    early = 0
    missed = 0
    per_sleep: list[float] = []
    single: list[float] = []
    for g in gaps:
        x = g / period
        k = round(x)
        if x < 0.5:
            early += 1
            continue
        missed += k - 1
        per_sleep.append(g / k)
        if k == 1:
            single.append(g)
    if not per_sleep:
        return TimingResult(0.0, period, len(events), missed, merged, early, 1.0)
    # Folded gaps (g / k) always land within 0.75..1.25 periods, whatever the traffic: measuring the
    # spread on them would make memoryless traffic look regular. Use the unfolded gaps when there are enough.
    if len(single) >= 3:
        per_sleep = single
    per_sleep.sort()
    hi = _quantile(per_sleep, 0.9)
    lo = _quantile(per_sleep, 0.1)
    jitter = (hi - lo) / hi if hi > 0 else 1.0

    early_frac = early / len(gaps)
    missed_frac = missed / (len(gaps) + missed)
    jitter_term = min(1.0, max(0.0, (0.75 - jitter) / 0.30))
    confidence = min(1.0, 0.5 + 0.5 * len(gaps) / cfg.full_confidence_gaps)
    score = (1 - early_frac) ** 2 * (1 - missed_frac) * jitter_term * confidence

    why = [f"regelmäßig etwa alle {_fmt_s(period)} (Streuung {jitter * 100:.0f} %)",
           f"{len(events)} Rückmeldungen"]
    if missed:
        why.append(f"{missed} ausgelassene Rückmeldungen eingerechnet")
    if merged:
        why.append(f"{merged} Zusatzverbindungen als Bündel gezählt")
    if early:
        why.append(f"{early} unregelmäßig kurze Abstände")
    if confidence < 1.0:
        why.append("noch wenige Rückmeldungen - Einschätzung vorläufig")
    return TimingResult(score, period, len(events), missed, merged, early, jitter, why)


def size_consistency(sizes: Sequence[float]) -> float:
    """0..1: how constant the bytes per connection are (1 = same size every time)."""
    if len(sizes) < 3:
        return 0.0
    s = sorted(sizes)
    med = _quantile(s, 0.5)
    if med <= 0:
        return 0.0
    mad = _quantile(sorted(abs(v - med) for v in s), 0.5)
    return max(0.0, 1.0 - mad / med)


def beacon_score(timestamps: Sequence[float], sizes: Sequence[float],
                 cfg: ScoringConfig = ScoringConfig()) -> TimingResult | None:
    """Timing score nudged by data-size consistency (up to 15 % of the total)."""
    timing = score_timing(timestamps, cfg)
    if timing is None:
        return None
    ds = size_consistency(sizes)
    timing.score = round(min(1.0, timing.score * (0.85 + 0.15 * ds)), 3)
    if ds >= 0.8:
        timing.why.append("gleichbleibende Datenmenge je Verbindung")
    return timing


def long_connection_score(duration_s: float, cfg: ScoringConfig = ScoringConfig()) -> float | None:
    if duration_s < cfg.long_connection_s:
        return None
    return round(min(1.0, duration_s / cfg.long_connection_full_s), 3)


def strobe_score(connections: int, span_s: float, cfg: ScoringConfig = ScoringConfig()) -> float | None:
    if connections < cfg.strobe_connections:
        return None
    if span_s / max(connections - 1, 1) > cfg.strobe_max_interval_s:
        return None
    return round(min(1.0, 0.7 + 0.3 * math.log10(connections / cfg.strobe_connections)), 3)
