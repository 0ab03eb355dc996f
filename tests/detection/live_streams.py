"""Seeded connection-time streams and a live-mode replay that records each pair's highest score.

The replay goes through the live path itself: one SYN + request + answer per connection is fed to
``Analyzer(streaming=True).feed`` in time order and ``poll()`` runs after every connection, which is
the most often the sniffer can rescore a pair (it polls on a timer, so never more often). Request
sizes are constant per stream: the data-size nudge then works *for* the benign stream, so the
measured false-alert rate is an upper bound for traffic with varying sizes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from notaus.controller.detection.analyzer import Analyzer
from notaus.policies.schema import Policy

from .corpus import T0, frame

Stream = list[float]
Generator = Callable[[random.Random], Stream]


def poisson(mean_gap_s: float, connections: int) -> Generator:
    """Memoryless traffic: exponential gaps with the given mean."""
    def gen(rng: random.Random) -> Stream:
        t = T0 + rng.uniform(0, mean_gap_s)
        out = [t]
        while len(out) < connections:
            t += rng.expovariate(1 / mean_gap_s)
            out.append(t)
        return out
    return gen


def page_loads(connections: int, pause_mean_s: float = 90.0) -> Generator:
    """Browsing one site: bursts of 1-8 connections within a few seconds, then a random pause
    (log-normal think time: mostly short, sometimes long)."""
    sigma = 1.0
    mu = math.log(pause_mean_s) - sigma * sigma / 2
    def gen(rng: random.Random) -> Stream:
        t = T0 + rng.uniform(0, pause_mean_s)
        out: list[float] = []
        while len(out) < connections:
            burst = sorted(t + rng.uniform(0, 4.0) for _ in range(rng.randint(1, 8)))
            out.extend(burst)
            t = burst[-1] + rng.lognormvariate(mu, sigma)
        return sorted(out)[:connections]
    return gen


def working_hours(connections: int, mean_gap_s: float = 600.0) -> Generator:
    """A person at a PC: Poisson activity 7:30-17:30 with a lunch break, nothing at night."""
    def gen(rng: random.Random) -> Stream:
        out: list[float] = []
        day = 0
        while len(out) < connections:
            start = T0 + day * 86400 + 7.5 * 3600 + rng.uniform(0, 1800)
            lunch = start + rng.uniform(4, 5) * 3600
            t = start + rng.expovariate(1 / mean_gap_s)
            end = start + 10 * 3600
            while t < end and len(out) < connections:
                if not lunch <= t < lunch + 2700:
                    out.append(t)
                t += rng.expovariate(1 / mean_gap_s)
            day += 1
        return out
    return gen


def beacon(period_s: float, style: str, jitter: float, connections: int, missed: float = 0.0,
           bursts: float = 0.0) -> Generator:
    """A beacon as the corpus writes one: Cobalt-Strike shortening (``cs``: sleep * (1 - U(0, j)))
    or Sliver additive (``sliver``: sleep + U(0, j) s) jitter, a share of ``missed`` callbacks and
    a share of callbacks followed by a tasking burst of 1-4 extra connections within 3 s."""
    def gen(rng: random.Random) -> Stream:
        t = T0 + rng.uniform(0, period_s)
        out: list[float] = []
        while len(out) < connections:
            if not out or rng.random() >= missed:
                out.append(t)
                if bursts and rng.random() < bursts:
                    out.extend(t + rng.uniform(0.2, 3.0) for _ in range(rng.randint(1, 4)))
            if style == "cs":
                t += period_s * (1 - rng.uniform(0, jitter))
            else:
                t += period_s + rng.uniform(0, jitter)
        return sorted(out)[:connections]
    return gen


def replay_max_scores(streams: Sequence[Stream], policy: Policy | None = None,
                      after: int = 0) -> list[float]:
    """Highest beacon score each stream reached during a live replay (0.0 if never scored).

    ``after``: only count scores from this connection count on (for "score available after n").
    """
    analyzer = Analyzer(policy or Policy(), streaming=True)
    events: list[tuple[float, int, int]] = []
    for i, stream in enumerate(streams):
        events.extend((ts, i, n) for n, ts in enumerate(stream))
    events.sort()
    src_of = {f"10.77.{i // 250}.{i % 250 + 1}": i for i in range(len(streams))}
    best = [0.0] * len(streams)
    feed = analyzer.feed
    for ts, i, n in events:
        src = f"10.77.{i // 250}.{i % 250 + 1}"
        sport = 20000 + n % 40000
        for off, fr in ((0.0, frame(src, "203.0.113.7", 6, sport, 443, flags=0x02)),
                        (0.01, frame(src, "203.0.113.7", 6, sport, 443, bytes(400)))):
            feed(fr, 0, len(fr), len(fr), ts + off, 1)
        for det in analyzer.poll():
            j = src_of[det.src]
            if det.kind == "beacon" and det.connections >= after and det.score > best[j]:
                best[j] = det.score
    return best


def streams(gen: Generator, count: int, seed: int) -> list[Stream]:
    rng = random.Random(seed)
    return [gen(rng) for _ in range(count)]
