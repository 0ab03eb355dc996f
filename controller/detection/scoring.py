"""Beacon scoring that holds up against the jitter styles real implants use.

RITA's timestamp score (Bowley skew + MAD of raw intervals) is built for symmetric noise around
one interval. Implants do otherwise: Cobalt Strike only *shortens* sleeps (interval =
sleep * (1 - U(0, j))), Sliver *adds* up to N seconds, callbacks get missed (gaps that are
multiples of the period), taskings add bursts of extra connections, and slow beacons never fill
RITA's 24-hour histogram. This scorer therefore:

1. merges bursts (connections a small fraction of the typical gap apart) into one callback; the
   threshold is relative to the gaps, never a fixed second (a fixed 1 s merged a third of the gaps
   of busy random traffic and made it look regular);
2. estimates the period robustly and explains each gap as ``k`` periods (``k - 1`` missed);
3. scores how much of the gap sequence such a period explains (gaps far shorter than the
   period are what aperiodic traffic has and beacons do not), how many callbacks had to be
   assumed missing (square-root penalty only: randomness is judged by step 5, which folding
   cannot fool), and how wide the sleep range is relative to its maximum (bounded jitter up
   to 50 % keeps full marks; memoryless traffic spreads wider);
4. scales by confidence in the number of gaps seen, so a score exists after a handful of
   callbacks but only reaches the isolate band with more evidence;
5. caps the score by the evidence *against randomness*: live mode rescores every pair as
   connections arrive, so a score that random traffic reaches by chance at some point will be
   reached by some pair every day. Memoryless (Poisson) traffic has exponential gaps - many short
   ones - while a beacon's sleeps are bounded below (Cobalt Strike: >= (1 - j) * sleep). The test
   statistic is the smallest gap over the mean gap (Greenwood/spacings family): for ``n``
   exponential gaps P(min / mean >= c) = (1 - c)^(n - 1) exactly, so -log10 of that probability
   says how surprising the regularity is if the traffic were random. A few outlying gaps (an
   unmerged tasking burst, a PC asleep overnight) may be left out; that is paid for with the
   number of ways to choose them (union bound), so the bound stays valid. The alert band needs
   p <= 1e-4, the isolate band p <= 1e-6: a CS beacon with 50 % jitter gets there after about a
   dozen callbacks, a tight one after six;
6. nudges by how constant the bytes per connection are.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoringConfig:
    min_connections: int = 6
    full_confidence_gaps: int = 11          # gaps needed for full confidence
    burst_fraction: float = 0.05            # gaps < this * q75(gap) are the same callback ...
    burst_cap_s: float = 10.0               # ... but never more than this
    base_burst_fraction: float = 0.15       # and gaps < this * base period (gaps above q90 / 4) too ...
    base_burst_cap_s: float = 30.0          # ... up to this (operator tasks: a burst of 2-5 within seconds)
    early_fraction: float = 0.35            # gaps under this share of the period are unexplained
    change_ratio: float = 1.8               # sleep medians this far apart on two sides: a sleep change
    size_band: float = 1.5                  # connections within this size ratio may form a beacon of their own
    burst_floor_s: float = 0.0              # and always merge starts closer than this
    evidence_base: float = 0.3              # score cap = base + slope * evidence (-log10 p under Poisson):
    evidence_slope: float = 0.1             # alert 0.7 needs p <= 1e-4, isolate 0.9 needs p <= 1e-6
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
    evidence: float = 0.0                   # -log10 P(this regular | Poisson), as far as the cap needed it
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


_LN10 = math.log(10)
_LOG10_FACT = [math.lgamma(i + 1) / _LN10 for i in range(1024)]   # log10 i!, covers the start ring
_LOG10_W_PLAIN = math.log10(0.35)         # alpha share of each untrimmed test ...
_W_TRIMMED = 0.3                          # ... and of all trimmed variants together


def _log10_fact(i: int) -> float:
    return _LOG10_FACT[i] if i < 1024 else math.lgamma(i + 1) / _LN10


def _log10_ratio_p(m: int, ratio: float) -> float:
    """log10 P(max / min <= ratio) for ``m`` i.i.d. exponentials: m/(R-1) * B(m/(R-1), m)."""
    a = m / max(ratio - 1.0, 1e-9)
    return (math.log(a) + math.lgamma(a) - math.lgamma(a + m)) / _LN10 + _log10_fact(m - 1)


def randomness_evidence(quiet: Sequence[float], max_trim_low: int = 2, enough: float = math.inf) -> float:
    """-log10 of an upper bound on P(gaps this regular) if the connections were a Poisson process.

    ``quiet`` are the times from the end of one burst to the next connection beyond the merge
    threshold; for Poisson traffic they are independent exponentials (memorylessness), for a beacon
    they are bounded below by its shortest sleep (and, without missed callbacks, above by its
    longest). Two exact tests for ``m`` exponentials:

    * smallest over mean: P(min / mean >= c) = (1 - c)^(m - 1) - keeps its power when callbacks
      are missed (long gaps only raise the mean);
    * largest over smallest: P(max / min <= R) = m/(R-1) * B(m/(R-1), m) - the stronger one for a
      few callbacks with wide jitter (Cobalt Strike 50 %: R <= 2).

    Up to ``max_trim_low`` of the smallest and a tenth of the largest gaps may be left out (an
    unmerged tasking burst, missed callbacks, a night off); the union bound over which ``d`` gaps
    were left out multiplies the probability by C(n, d). The two untrimmed tests get 35 % of the
    error budget each, the trimmed variants share the rest (weighted Bonferroni). O(n log n); stops
    as soon as the evidence reaches ``enough`` (the untrimmed tests come first).
    """
    n = len(quiet)
    if n < 2:
        return 0.0
    h = sorted(quiet)
    if h[0] <= 0:
        h = [max(v, 1e-9) for v in h]
    prefix = list(itertools.accumulate(h, initial=0.0))
    highs = (0, 1, 2) if n < 30 else (0, 1, 2, n // 10)
    variants = [(lo, hi) for lo in range(min(max_trim_low, n - 2) + 1) for hi in highs if n - lo - hi >= 2]
    log_w_trimmed = math.log10(_W_TRIMMED / max(1, 2 * (len(variants) - 1)))
    log_fact_n = _log10_fact(n)
    best = 0.0                              # smallest log10 (p / weight) over the variants tried
    for lo, hi in variants:
        m = n - lo - hi
        # weight of the untrimmed tests, or C(n, d) ways to leave d gaps out / their weight
        cost = (log_fact_n - _LOG10_FACT[lo + hi] - _log10_fact(m) - log_w_trimmed) if lo or hi \
            else -_LOG10_W_PLAIN
        c = h[lo] * m / (prefix[n - hi] - prefix[lo])
        log_p = (m - 1) * math.log10(1.0 - c) if c < 1.0 - 1e-12 else -12.0 * (m - 1)
        log_p = min(log_p, _log10_ratio_p(m, h[n - hi - 1] / h[lo])) + cost
        if log_p < best:
            best = log_p
            if -best >= enough:
                break
    return -best


def score_timing(timestamps: Sequence[float], cfg: ScoringConfig = ScoringConfig(),
                 extra_tests: float = 0.0) -> TimingResult | None:
    """Score a sequence of connection start times; None if there is too little to say anything.

    ``extra_tests`` is log10 of how many variants of this pair were tried (sleep-change splits,
    size bands): the randomness evidence pays for them (Bonferroni), so trying more never buys
    an alert on random traffic.
    """
    if len(timestamps) < cfg.min_connections:
        return None
    ts = sorted(timestamps)
    raw = [b - a for a, b in zip(ts, ts[1:], strict=False)]
    sraw = sorted(raw)
    q75 = _quantile(sraw, 0.75)
    merge_below = min(cfg.burst_cap_s, max(cfg.burst_floor_s, cfg.burst_fraction * q75))
    # bursts relative to the base period: the callbacks' own gaps are the large ones, so a quarter of
    # the callbacks bursting cannot drag the estimate down (only gaps above q90 / 4 count)
    floor = _quantile(sraw, 0.9) / 4
    base = _quantile([g for g in sraw if g > floor], 0.5) if floor > 0 else 0.0
    merge_below = max(merge_below, min(cfg.base_burst_cap_s, cfg.base_burst_fraction * base))
    events = [ts[0]]
    quiet: list[float] = []                # from a callback's last connection to the next callback
    for t, gap in zip(ts[1:], raw, strict=False):
        if gap > merge_below:
            events.append(t)
            quiet.append(gap - merge_below)
    merged = len(ts) - len(events)
    if len(events) < cfg.min_connections:
        return None
    gaps = [b - a for a, b in zip(events, events[1:], strict=False)]

    sgaps = sorted(gaps)
    p0 = _quantile(sgaps, 0.5)
    if p0 <= 0:
        return None
    folded = []
    for g in gaps:
        k = int(g / p0 + 0.5)             # round half up; int() is several times faster than round()
        if k >= 1 and abs(g / (k * p0) - 1) <= 0.5:
            folded.append(g / k)
    period = _quantile(sorted(folded), 0.5) if folded else p0

    early = 0
    missed = 0
    per_sleep: list[float] = []
    single: list[float] = []
    for g in gaps:
        x = g / period
        k = max(1, int(x + 0.5))
        if x < cfg.early_fraction:
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
    # Cobalt Strike's sleep in [(1 - j) s, s] with j up to 0.8 spreads single gaps by up to ~0.7;
    # memoryless traffic spreads ~0.9 and more. The randomness cap below does the rest.
    jitter_term = min(1.0, max(0.0, (0.9 - jitter) / 0.2))
    confidence = min(1.0, 0.5 + 0.5 * len(gaps) / cfg.full_confidence_gaps)
    score = (1 - early_frac) ** 2 * math.sqrt(1 - missed_frac) * jitter_term * confidence
    # the cap only matters above its base: most pairs are settled without computing the evidence
    evidence = 0.0
    capped = False
    if score > cfg.evidence_base:
        evidence = randomness_evidence(quiet, enough=(score - cfg.evidence_base) / cfg.evidence_slope
                                       + extra_tests) - extra_tests
        cap = cfg.evidence_base + cfg.evidence_slope * evidence
        capped = score > cap
        score = min(score, cap)

    why = [f"regelmäßig etwa alle {_fmt_s(period)} (Streuung {jitter * 100:.0f} %)",
           f"{len(events)} Rückmeldungen"]
    if missed:
        why.append(f"{missed} ausgelassene Rückmeldungen eingerechnet")
    if merged:
        why.append(f"{merged} Zusatzverbindungen als Bündel gezählt")
    if early:
        why.append(f"{early} unregelmäßig kurze Abstände")
    if capped:
        why.append("Abstände könnten noch Zufall sein - Einschätzung vorläufig")
    elif confidence < 1.0:
        why.append("noch wenige Rückmeldungen - Einschätzung vorläufig")
    return TimingResult(score, period, len(events), missed, merged, early, jitter, evidence, why)


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


def _sleep_change(ts: Sequence[float], cfg: ScoringConfig) -> tuple[TimingResult, float, float] | None:
    """Best-scoring side of the strongest sleep change (operator's ``sleep`` command), if any.

    Split candidates every ``n / 32`` gaps; a change is where the median gap on the two sides
    differs by ``change_ratio`` or more. Each side is scored on its own, paying for the splits tried.
    """
    n = len(ts)
    m = cfg.min_connections
    if n < 2 * m + 1:
        return None
    gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
    step = max(1, len(gaps) // 32)
    best: tuple[float, int, float, float] | None = None
    tried = 0
    for k in range(m, len(gaps) - m + 1, step):
        tried += 1
        left = _quantile(sorted(gaps[:k]), 0.5)
        right = _quantile(sorted(gaps[k:]), 0.5)
        if min(left, right) <= 0:
            continue
        ratio = max(left, right) / min(left, right)
        if ratio >= cfg.change_ratio and (best is None or ratio > best[0]):
            best = (ratio, k, left, right)
    if best is None:
        return None
    _, k, left, right = best
    extra = math.log10(2 * tried)
    sides = [score_timing(ts[:k + 1], cfg, extra), score_timing(ts[k:], cfg, extra)]
    scored = [r for r in sides if r is not None]
    if not scored:
        return None
    return max(scored, key=lambda r: r.score), left, right


def _size_band(ts: Sequence[float], sizes: Sequence[float], cfg: ScoringConfig) -> tuple[list[float], int] | None:
    """Connections of one typical size: a beacon's check-ins, apart from page loads to the same address.

    The densest band ``[x, x * size_band]`` of sizes; chosen by size alone, so under randomness the
    timing of its members is as random as the whole (no selection bias for the timing test).
    """
    n = min(len(ts), len(sizes))
    if n < 2 * cfg.min_connections:
        return None
    pairs = sorted(zip(sizes[-n:], ts[-n:], strict=False))
    best_i = best_j = 0
    j = 0
    for i in range(n):
        if j < i:
            j = i
        while j + 1 < n and pairs[j + 1][0] <= max(pairs[i][0], 1.0) * cfg.size_band:
            j += 1
        if j - i > best_j - best_i:
            best_i, best_j = i, j
    count = best_j - best_i + 1
    if count < cfg.min_connections or count > 0.9 * n:
        return None
    return sorted(t for _, t in pairs[best_i:best_j + 1]), n


def beacon_score(timestamps: Sequence[float], sizes: Sequence[float],
                 cfg: ScoringConfig = ScoringConfig()) -> TimingResult | None:
    """Timing score nudged by data-size consistency (up to 15 % of the total).

    When the whole sequence does not look like a beacon, two explanations are tried (each paying
    for the extra tests): the sleep changed part-way (score the side after/before the change), and
    a beacon shares the address with other traffic (score the connections of one typical size).
    """
    ts = sorted(timestamps)
    timing = score_timing(ts, cfg)
    if timing is None:
        return None
    if timing.score < 0.9:
        change = _sleep_change(ts, cfg)
        if change is not None and change[0].score > timing.score:
            timing = change[0]
            timing.why.append(f"Schlafzeit gewechselt (von etwa {_fmt_s(change[1])} auf {_fmt_s(change[2])})")
    if timing.score < 0.9:
        band = _size_band(timestamps, sizes, cfg)
        if band is not None:
            sub = score_timing(band[0], cfg, math.log10(2))
            if sub is not None and sub.score > timing.score:
                timing = sub
                timing.why.append(f"{len(band[0])} von {band[1]} Verbindungen gleich groß - "
                                  "der Rest ist anderer Verkehr zum selben Ziel")
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
