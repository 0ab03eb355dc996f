"""Benchmark the API: panic -> devices verified, and /api/v1/status throughput under 50 clients.

Everything runs against the TR-064 simulator with 50 ms latency per SOAP call, behind a real
threaded WSGI server (werkzeug) on loopback. Baselines come from the same run:

* panic via the API vs ``engine.panic`` called directly (the API's own overhead);
* ``/api/v1/status`` with the 1 s shared status cache vs without it, and vs ``/healthz``;
* ``/api/v1/status`` served from the one observer (``controller.observer``, no time cache) beside
  today's uncached status (every request reads the router).

Usage: ``python3 bench/bench_api.py [--rounds 8] [--seconds 3] [--clients 50] [--latency 0.05]``
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "api"))

from api_practice import SIM_HOSTS, practice_policy  # noqa: E402

from notaus.api.app import create_app  # noqa: E402
from notaus.api.serve import start_server  # noqa: E402
from notaus.controller.engine import Engine  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[idx]


def panic_rounds(base: str, tokens: dict[str, str], engine: Engine, rounds: int) -> dict[str, Any]:
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    prov = {"Authorization": f"Bearer {tokens['provider']}"}
    api_times: list[float] = []
    direct_times: list[float] = []
    with requests.Session() as s:
        for i in range(rounds):
            t0 = time.perf_counter()
            r = s.post(f"{base}/api/v1/panic", json={"profile": "full", "confirm": True}, headers=staff, timeout=60)
            api_times.append(time.perf_counter() - t0)
            if r.status_code != 200 or r.json()["outcome"] != "done":
                raise SystemExit(f"panic round {i}: {r.status_code} {r.text[:300]}")
            s.post(f"{base}/api/v1/restore", json={"reason": "bench", "stage": "all"}, headers=prov, timeout=60)
            t0 = time.perf_counter()
            res = engine.panic("full", actor="bench:direct")
            direct_times.append(time.perf_counter() - t0)
            if res.outcome != "done":
                raise SystemExit(f"direct panic round {i}: {res.outcome}")
            engine.restore(actor="bench:direct", reason="bench", stage="all")
    return {"api_median_s": statistics.median(api_times), "api_p95_s": pct(api_times, 95),
            "direct_median_s": statistics.median(direct_times), "direct_p95_s": pct(direct_times, 95),
            "rounds": rounds}


def hammer(url: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads, each with its own keep-alive session, for ``seconds``; counts 200s."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    errors = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def worker(i: int) -> None:
        with requests.Session() as s:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    r = s.get(url, headers=headers, timeout=30)
                    ok = r.status_code == 200
                except requests.RequestException:
                    ok = False
                latencies[i].append(time.perf_counter() - t0)
                if ok:
                    counts[i] += 1
                else:
                    errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - t0
    flat = [x for lst in latencies for x in lst]
    return {"rps": sum(counts) / elapsed, "ok": float(sum(counts)), "errors": float(sum(errors)),
            "p50_ms": 1000 * statistics.median(flat) if flat else 0.0,
            "p95_ms": 1000 * pct(flat, 95) if flat else 0.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--observer-interval", type=float, default=5.0, help="seconds between observer rounds")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = ap.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # one access-log line per request otherwise
    tmp = Path(tempfile.mkdtemp(prefix="notaus-bench-api-"))
    sim = Tr064Simulator(hosts=SIM_HOSTS, latency=args.latency, hostfilter_delay=0.05, reconnect_delay=0.05).start()
    engine = Engine.from_policy(practice_policy(sim.port, tmp / "var"), base_dir=tmp)
    servers = []
    apps: list[Any] = []
    try:
        cached_app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 1.0})
        uncached_app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0})
        tokens = {r: cached_app.extensions["notaus"].tokens.create(r, f"bench-{r}") for r in ("staff", "provider")}
        cached, t1 = start_server(engine, "127.0.0.1:0", app=cached_app)
        uncached, t2 = start_server(engine, "127.0.0.1:0", app=uncached_app)
        servers = [(cached, t1), (uncached, t2)]
        base = f"http://127.0.0.1:{cached.server_port}"
        base_uncached = f"http://127.0.0.1:{uncached.server_port}"
        print(f"TR-064 simulator latency {args.latency * 1000:.0f} ms per call; werkzeug threaded server")

        panic = panic_rounds(base, tokens, engine, args.rounds)
        print(f"panic -> verified via API     median {panic['api_median_s'] * 1000:7.1f} ms   "
              f"p95 {panic['api_p95_s'] * 1000:7.1f} ms   ({args.rounds} rounds)")
        print(f"panic -> verified engine only median {panic['direct_median_s'] * 1000:7.1f} ms   "
              f"p95 {panic['direct_p95_s'] * 1000:7.1f} ms   (baseline)")
        print(f"ratio API/engine (median): {panic['api_median_s'] / panic['direct_median_s']:.2f}")

        h = {"Authorization": f"Bearer {tokens['staff']}"}
        health = hammer(f"{base}/healthz", {}, args.clients, args.seconds)
        status = hammer(f"{base}/api/v1/status", h, args.clients, args.seconds)
        # the observer's app starts only now, so its loop does not load the router during the panic rounds;
        # measured before the uncached run, whose 15 s requests outlive its window
        observed_app = create_app(engine, config={"state_dir": str(tmp / "api"), "status_cache_seconds": 0,
                                                  "status_observer_seconds": args.observer_interval})
        observed, t3 = start_server(engine, "127.0.0.1:0", app=observed_app)
        servers.append((observed, t3))
        apps.append(observed_app)
        obs = hammer(f"http://127.0.0.1:{observed.server_port}/api/v1/status", h, args.clients, args.seconds)
        raw = hammer(f"{base_uncached}/api/v1/status", h, args.clients, args.seconds)
        for name, res in (("/healthz (baseline)", health), ("/api/v1/status cached 1 s", status),
                          ("/api/v1/status uncached", raw), ("/api/v1/status observer", obs)):
            print(f"{name:28s} {res['rps']:8.1f} req/s  p50 {res['p50_ms']:7.1f} ms  p95 {res['p95_ms']:7.1f} ms  "
                  f"errors {res['errors']:.0f}  ({args.clients} clients, {args.seconds:.0f} s)")
        print(f"ratio status cached / uncached: {status['rps'] / max(raw['rps'], 1e-9):.1f}x; "
              f"status cached / healthz: {status['rps'] / max(health['rps'], 1e-9):.2f}")
        print(f"status from the observer (no time cache, reads every {args.observer_interval:g} s) beside today's "
              f"uncached: p95 {obs['p95_ms']:.1f} ms vs {raw['p95_ms']:.1f} ms, "
              f"{obs['rps'] / max(raw['rps'], 1e-9):.0f}x req/s; observer / healthz: "
              f"{obs['rps'] / max(health['rps'], 1e-9):.2f}; target p95 < 50 ms: "
              f"{'met' if obs['p95_ms'] < 50 else 'NOT met'}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"panic": panic, "healthz": health, "status_cached": status,
                                             "status_uncached": raw, "status_observer": obs, "clients": args.clients,
                                             "latency_s": args.latency}, indent=2))
        return 0
    finally:
        for server, thread in servers:
            server.shutdown()
            thread.join(timeout=5)
        for app in apps:
            app.extensions["notaus"].close()
        engine.close()
        sim.stop()


if __name__ == "__main__":
    raise SystemExit(main())
