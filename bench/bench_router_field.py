"""Benchmark: routers as they behave in the field (issue 12), each figure beside the code before it.

The baseline is the same scenario run, in the same run, against the tree of the commit before
issue 12 (``git archive`` of the parent of the commit that added ``controller/keep_phones.py``,
unpacked to a temporary directory); both talk to the same TR-064 simulator from this tree.

1. Cold CLI, dead router: ``notaus panic --yes`` while the box accepts and never answers (device
   timeout 2 s, TR-064 description on disk from an earlier ``status``): time to the verdict.
2. keep-phones with 20 clients at 50 ms per SOAP call (host filter applied after 0.2 s, as the
   simulator's default), beside a full panic on the same engine.
3. full panic with three WLANs at 50 ms per call.

Run: ``python3 bench/bench_router_field.py [--runs 10] [--cold-runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402

LATENCY = 0.05
TIMEOUT = 2.0
PHONE = {"name": "telefon", "ip": "192.168.178.60", "mac": "AA:BB:CC:DD:EE:60", "role": "phone"}
CLIENTS = [{"name": f"pc-{i}", "ip": f"192.168.178.{100 + i}", "mac": f"02:00:00:00:01:{i:02X}",
            "role": "workstation"} for i in range(20)]

SCENARIO = r"""
import json, sys, time
from pathlib import Path
from notaus.controller.engine import Engine
from notaus.policies.loader import load_policy
engine = Engine.from_policy(load_policy(sys.argv[1]), base_dir=Path(sys.argv[1]).parent)
runs = int(sys.argv[2])
out = {"keep": [], "full": [], "keep_outcome": [], "full_outcome": []}
for _ in range(runs):
    for profile, key in (("keep-phones", "keep"), ("full", "full")):
        t0 = time.perf_counter()
        r = engine.panic(profile, actor="bench")
        out[key].append(time.perf_counter() - t0)
        out[key + "_outcome"].append(r.outcome)
        engine.restore(actor="bench", reason="bench")
engine.close()
print(json.dumps(out))
"""


def fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    s = sorted(values)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def baseline_tree(tmp: Path) -> Path | None:
    """The tree before issue 12, or ``None`` where git history is not at hand."""
    try:
        added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "controller/keep_phones.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        if not added:
            return None
        tree = tmp / "before"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", f"{added[-1]}^"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        return tree
    except (OSError, subprocess.CalledProcessError):
        return None


def write_policy(path: Path, port: int, hosts: list[dict[str, str]]) -> Path:
    rows = "\n".join(f"  - {{name: {h['name']}, ip: {h['ip']}, mac: \"{h['mac']}\", role: {h['role']}}}"
                     for h in hosts)
    path.mkdir(parents=True, exist_ok=True)
    policy = path / "policy.yaml"
    policy.write_text(f"""controller: {{state_dir: state, verify_timeout: 5, parallel_timeout: 10}}
devices:
  - {{name: fritzbox, driver: fritzbox, address: 127.0.0.1, port: {port}, user: notaus, password: bench,
     timeout: {TIMEOUT}}}
hosts:
{rows}
""")
    return policy


def run(tree: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` against ``tree``; the tree before issue 12 knows its modules by their old top-level
    names (``controller.cli``), this one by ``notaus.controller.cli``."""
    if tree != ROOT:
        args = tuple(a.replace("notaus.", "") for a in args)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=tree,
                          timeout=timeout)


def cold_dead_router(trees: dict[str, Path], runs: int, tmp: Path) -> None:
    """Wall time of the whole command, and the interpreter start + imports alone (same run) to subtract."""
    figures: dict[str, list[float]] = {}
    with Tr064Simulator(password="bench", reconnect_delay=5) as sim:
        for label, tree in trees.items():
            start = figures.setdefault(f"{label}: python + imports", [])
            for _ in range(runs):
                t0 = time.perf_counter()
                run(tree, "-c", "import notaus.controller.cli, notaus.controller.engine, notaus.drivers.fritzbox")
                start.append(time.perf_counter() - t0)
            for cached in (True, False):
                policy = write_policy(tmp / f"cold-{label}-{cached}", sim.port, [CLIENTS[0], PHONE])
                if cached:   # the service or doctor ran before: the TR-064 description is on disk
                    run(tree, "-m", "notaus.controller.cli", "--config", str(policy), "status", "--json")
                what = "description on disk" if cached else "first run, no description"
                values = figures.setdefault(f"{label}: {what}", [])
                for _ in range(runs):
                    if not cached:
                        for stale in (policy.parent / "state").rglob("*_cache.*"):
                            stale.unlink()
                    sim.hang = True
                    t0 = time.perf_counter()
                    p = run(tree, "-m", "notaus.controller.cli", "--config", str(policy), "panic", "--yes", "--json")
                    values.append(time.perf_counter() - t0)
                    sim.hang = False
                    doc = json.loads(p.stdout)
                    assert doc["outcome"] == "failed" and "kabel" in doc["message"].lower(), doc
    print(f"Cold CLI panic, router accepts and never answers (device timeout {TIMEOUT:g} s), {runs} runs, "
          "wall time of the whole command")
    for label, values in figures.items():
        print(f"  {label:<48} {fmt(values)}")
    now_start = statistics.median(figures["now: python + imports"])
    worst = max(statistics.median(v) for k, v in figures.items() if k.startswith("now: ") and "imports" not in k)
    print(f"  now, verdict after start-up (median, worst case): {worst - now_start:.2f} s   "
          f"target <= timeout + 1 s = {TIMEOUT + 1:g} s: {'met' if worst - now_start <= TIMEOUT + 1 else 'MISSED'}")


def warm_engine(trees: dict[str, Path], runs: int, tmp: Path) -> None:
    hosts = [*CLIENTS, PHONE]
    results: dict[str, dict[str, list]] = {}
    for label, tree in trees.items():
        with Tr064Simulator(password="bench", latency=LATENCY, reconnect_delay=5, hostfilter_delay=0.2,
                            hosts=[{k: h[k] for k in ("ip", "mac", "name")} for h in hosts],
                            phones=["Empfang"]) as sim:
            policy = write_policy(tmp / f"warm-{label}", sim.port, hosts)
            p = run(tree, "-c", SCENARIO, str(policy), str(runs), timeout=900)
            if p.returncode != 0:
                raise SystemExit(f"{label}: scenario failed: {p.stderr.strip().splitlines()[-3:]}")
            results[label] = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"Warm engine, {LATENCY * 1000:.0f} ms per SOAP call, three WLANs, host filter applied after 0.2 s, "
          f"{runs} runs")
    for label, r in results.items():
        outcomes = sorted(set(r["keep_outcome"]) | set(r["full_outcome"]))
        print(f"  {label:<16} keep-phones, 20 clients {fmt(r['keep'])}")
        print(f"  {label:<16} full (WAN + 3 WLANs)    {fmt(r['full'])}   outcomes {outcomes}")
    med = {label: {k: statistics.median(r[k]) for k in ("keep", "full")} for label, r in results.items()}
    now = med["now"]
    print(f"  now: keep-phones / full (median): {now['keep'] / now['full']:.2f}x"
          f"   target <= ~2x: {'met' if now['keep'] <= 2.2 * now['full'] else 'MISSED'}")
    if "before issue 12" in med:
        before = med["before issue 12"]
        print(f"  before/now keep-phones (median): {before['keep'] / now['keep']:.1f}x;"
              f"  before/now full: {before['full'] / now['full']:.1f}x")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--cold-runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        trees = {"now": ROOT}
        before = baseline_tree(tmp)
        if before is not None:
            trees = {"before issue 12": before, "now": ROOT}
        else:
            print("(no git history here: figures without the before-issue-12 baseline)")
        cold_dead_router(trees, args.cold_runs, tmp)
        warm_engine(trees, args.runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
