"""Benchmark: the whole panic path through the engine, and in the network lab to the last packet.

1. Simulator (50 ms per SOAP call): ``Engine.panic("full")`` on a warm engine – time until the WAN is
   *verified* down (the cut_wan step's read-back) and until the whole panic (WAN + every WLAN, journal
   writes included) is done – beside the naive way (new FritzConnection, discover, cut, read back).
2. Lab (root only): a probe in a workstation namespace sends every 10 ms to the "internet"; time from
   pressing panic to the last packet that still got through, for a warm engine (what the web button
   does) beside a cold ``notaus panic`` CLI process (python start, imports, connect), same run.

Run: ``python3 bench/bench_panic.py [--runs 20] [--lab-runs 10]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notaus.controller.engine import Engine  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402
from notaus.policies.loader import load_policy_text  # noqa: E402

LATENCY = 0.05


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {pct(values, 0.95) * 1000:7.1f} ms"


def naive_cut(port: int) -> None:
    from fritzconnection import FritzConnection

    fc = FritzConnection(address="127.0.0.1", port=port, user="notaus", password="bench", timeout=5)
    svc = fc.call_action("Layer3Forwarding1", "GetDefaultConnectionService")["NewDefaultConnectionService"]
    _, kind, idx = svc.split(".")
    fc.call_action(kind + idx, "SetConnectionTrigger", NewConnectionTrigger="Manual")
    fc.call_action(kind + idx, "ForceTermination")
    assert fc.call_action(kind + idx, "GetStatusInfo")["NewConnectionStatus"] != "Connected"


def bench_simulator(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Tr064Simulator(password="bench", latency=LATENCY,
                                                              reconnect_delay=5) as sim:
        policy = load_policy_text(f"""
controller: {{state_dir: {tmp}/state}}
devices: [{{name: fritzbox, driver: fritzbox, address: 127.0.0.1, port: {sim.port}, user: notaus,
            password: bench}}]
hosts: [{{name: pc, ip: 192.168.178.20, role: workstation}}]
""")
        engine = Engine.from_policy(policy)
        wan_down: list[float] = []
        total: list[float] = []
        naive: list[float] = []
        marks: dict[str, float] = {}

        def mark(event: str, data: dict[str, Any]) -> None:
            if event == "device.result" and data.get("outcome") == "done":
                marks.setdefault(data["action"], time.perf_counter())
        engine.listeners.append(mark)
        for _ in range(runs):
            marks.clear()
            t0 = time.perf_counter()
            res = engine.panic("full", actor="bench")
            t1 = time.perf_counter()
            assert res.outcome == "done", res.to_dict()
            wan_down.append(marks["cut_wan"] - t0)
            total.append(t1 - t0)
            engine.restore(actor="bench", reason="bench")
            t0 = time.perf_counter()
            naive_cut(sim.port)
            naive.append(time.perf_counter() - t0)
            engine.restore(actor="bench", reason="bench")
        engine.close()
    print(f"Engine panic against the TR-064 simulator ({LATENCY * 1000:.0f} ms per SOAP call), {runs} runs")
    print(f"  panic -> WAN verified down   {fmt(wan_down)}")
    print(f"  panic complete (WAN + WLAN)  {fmt(total)}")
    print(f"  naive new FritzConnection    {fmt(naive)}")
    med = statistics.median(wan_down)
    print(f"  ratio naive/engine (WAN down, median): {statistics.median(naive) / med:.2f}x   "
          f"target <= 500 ms: {'met' if med <= 0.5 else 'MISSED'}")


def bench_lab(runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.lab.netlab import Lab, lab_unavailable_reason
    from tests.lab.probe import Probe
    from tests.lab.test_lab_panic import SIM_PORT, write_policy

    reason = lab_unavailable_reason()
    if reason:
        print(f"Lab benchmark skipped: {reason}")
        return
    warm: list[float] = []
    cold: list[float] = []
    with Lab() as lab:
        policy = write_policy(lab)
        sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64", "--listen",
                        f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                        "--effects", "nft", "--hosts-from", str(policy), "--reconnect-delay", "5",
                        env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert sim.stdout is not None and "TR-064" in sim.stdout.readline()
        # a warm engine in the controller namespace, driven line by line over stdin (like the web button)
        driver = lab.popen("ctrl", sys.executable, "-u", "-c",
                           "import sys; from pathlib import Path; from notaus.policies.loader import load_policy\n"
                           "from notaus.controller.engine import Engine\n"
                           f"e = Engine.from_policy(load_policy('{policy}'), base_dir=Path('{policy.parent}'))\n"
                           "print('ready', flush=True)\n"
                           "for line in sys.stdin:\n"
                           "    r = e.panic('full', actor='bench') if line.strip() == 'panic' else "
                           "e.restore(actor='bench', reason='bench')\n"
                           "    print(r.outcome, flush=True)\n",
                           env=lab.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert driver.stdout is not None and driver.stdin is not None
        assert driver.stdout.readline().strip() == "ready"

        def measure(press: str) -> float:
            with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as probe:
                assert probe.wait_replies(5, timeout=10)
                t0 = time.monotonic()
                if press == "warm":
                    driver.stdin.write("panic\n")  # type: ignore[union-attr]
                    driver.stdin.flush()  # type: ignore[union-attr]
                    assert driver.stdout.readline().strip() == "done"  # type: ignore[union-attr]
                else:
                    lab.run("ctrl", sys.executable, "-m", "notaus.controller.cli", "--config", str(policy), "panic",
                            "--yes", env=lab.env, timeout=60)
                assert probe.wait_silent(0.5, timeout=10)
                last = probe.last_sent_answered()
                assert last is not None
                return max(0.0, last - t0)

        for _ in range(runs):
            warm.append(measure("warm"))
            driver.stdin.write("restore\n")
            driver.stdin.flush()
            driver.stdout.readline()
            cold.append(measure("cold"))
            driver.stdin.write("restore\n")
            driver.stdin.flush()
            driver.stdout.readline()
        lab.stop(driver)
        lab.stop(sim)
    print(f"Lab: panic pressed -> last packet through (probe every 10 ms), {runs} runs")
    print(f"  warm engine (web button)     {fmt(warm)}")
    print(f"  cold CLI process             {fmt(cold)}")
    med = statistics.median(warm)
    print(f"  ratio cold/warm (median): {statistics.median(cold) / max(med, 1e-6):.2f}x   "
          f"target <= 1 s: {'met' if med <= 1.0 else 'MISSED'}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--lab-runs", type=int, default=10)
    args = ap.parse_args()
    bench_simulator(args.runs)
    if os.geteuid() == 0:
        bench_lab(args.lab_runs)
    else:
        print("Lab benchmark skipped: needs root")
    return 0


if __name__ == "__main__":
    sys.exit(main())
