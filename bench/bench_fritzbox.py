"""Benchmark: "cut WAN -> verified down" on a FRITZ!Box, warm driver vs the naive way, same run.

The simulator adds 50 ms to every SOAP call (a real box answers TR-064 in roughly that time).

* warm: ``FritzBoxDriver`` opened once; each run is ``cut_wan()`` + ``wan_status()`` read-back
  (4 SOAP calls on a kept-alive, already authenticated session).
* naive: each run builds a new ``FritzConnection`` (loads the description: 2 device descriptions +
  40 SCPDs), asks for the default connection service, reads the trigger, sets ``Manual``,
  terminates and reads back (5 SOAP calls, plus the digest challenge).

Restoring the WAN between runs is not timed. Run: ``python3 bench/bench_fritzbox.py [--runs 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fritzconnection import FritzConnection  # noqa: E402

from notaus.drivers.fritzbox import FritzBoxDriver  # noqa: E402
from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402

USER, PASSWORD = "notaus", "bench-pass"
TARGET_MEDIAN = 0.5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def naive_cut(port: int) -> str:
    fc = FritzConnection(address="127.0.0.1", port=port, user=USER, password=PASSWORD, timeout=5)
    default = fc.call_action("Layer3Forwarding1", "GetDefaultConnectionService")["NewDefaultConnectionService"]
    _, kind, index = default.split(".")
    service = kind + index
    fc.call_action(service, "GetInfo")
    fc.call_action(service, "SetConnectionTrigger", NewConnectionTrigger="Manual")
    fc.call_action(service, "ForceTermination")
    status = str(fc.call_action(service, "GetStatusInfo")["NewConnectionStatus"])
    fc.session.close()
    return status


def measure(runs: int, cut: Callable[[], bool], restore: Callable[[], None]) -> list[float]:
    times = []
    for _ in range(runs):
        restore()
        start = time.perf_counter()
        ok = cut()
        times.append(time.perf_counter() - start)
        if not ok:
            raise SystemExit("benchmark invalid: WAN did not read back as down")
    restore()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per SOAP call in the simulator")
    args = parser.parse_args()

    sim = Tr064Simulator(user=USER, password=PASSWORD, latency=args.latency, reconnect_delay=0.2,
                         connect_delay=0.0).start()
    try:
        with tempfile.TemporaryDirectory() as cache:
            driver = FritzBoxDriver("fritzbox", "127.0.0.1", port=sim.port, user=USER, password=PASSWORD,
                                    timeout=5, options={"cache_dir": cache})
            t0 = time.perf_counter()
            driver.open()
            open_s = time.perf_counter() - t0

            def restore() -> None:  # not timed: straight on the model, like the IT provider restoring
                sim.state.set_trigger("AlwaysOn")
                sim.state.request_connection()
                deadline = time.monotonic() + 5
                while sim.state.wan.status != "Connected" and time.monotonic() < deadline:
                    time.sleep(0.005)

            def warm_cut() -> bool:
                driver.cut_wan()
                return driver.wan_status() == "down"

            warm = measure(args.runs, warm_cut, restore)
            naive = measure(args.runs, lambda: naive_cut(sim.port) == "Disconnected", restore)
            driver.close()
    finally:
        sim.stop()

    wm, wp = statistics.median(warm), percentile(warm, 0.95)
    nm, np_ = statistics.median(naive), percentile(naive, 0.95)
    print(f"FRITZ!Box cut WAN -> verified down, simulator latency {args.latency * 1000:.0f} ms/SOAP call, "
          f"{args.runs} runs each")
    print(f"  driver open (once, description loaded + cached): {open_s * 1000:7.1f} ms")
    print(f"  warm driver   median {wm * 1000:7.1f} ms   p95 {wp * 1000:7.1f} ms")
    print(f"  naive (new FritzConnection each time)  median {nm * 1000:7.1f} ms   p95 {np_ * 1000:7.1f} ms")
    print(f"  ratio naive/warm (median): {nm / wm:.2f}x   target warm median <= {TARGET_MEDIAN * 1000:.0f} ms: "
          f"{'met' if wm <= TARGET_MEDIAN else 'MISSED'}")
    return 0 if wm <= TARGET_MEDIAN else 1


if __name__ == "__main__":
    sys.exit(main())
