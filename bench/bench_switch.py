"""Benchmark: command start -> switch port down, read back and verified, for SSH and SNMP.

Each method is measured with the driver's warm session and, as the baseline in the same run, with a
fresh connection per command (what a driver without session reuse would cost). Runs on loopback:
the fake IOS CLI (real netmiko, real paramiko SSH) and a real snmpd (root only) serving a simulated
switch through the bridge FDB pass_persist script.

    python3 bench/bench_switch.py [--runs 20]

Targets (issue 3): SSH <= 1 s median, SNMP <= 0.3 s median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notaus.drivers.base import DriverError, SwitchDriver  # noqa: E402
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver  # noqa: E402
from notaus.drivers.sim.fake_switch_cli import FakeSwitchServer, MemoryPorts, SimPort  # noqa: E402
from notaus.drivers.snmp_switch import SnmpSwitchDriver  # noqa: E402
from tests.lab.switch_servers import RW_COMMUNITY, LoopbackSnmpd, snmpd_unavailable_reason  # noqa: E402

PORT_SSH = "Gi1/0/1"
PORT_SNMP = "ws1"


def down_verified(driver: SwitchDriver, port: str) -> None:
    driver.port_down(port)
    state = driver.port_state(port)
    if state.admin_up:
        raise DriverError(f"read-back says {port} is still up")


def measure(runs: int, make: Callable[[], SwitchDriver], port: str, *, warm: bool) -> list[float]:
    times: list[float] = []
    driver = make() if warm else None
    if driver is not None:
        driver.open()
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            if driver is None:
                fresh = make()
                fresh.open()
                down_verified(fresh, port)
                times.append(time.perf_counter() - t0)
                fresh.port_up(port)
                fresh.close()
            else:
                down_verified(driver, port)
                times.append(time.perf_counter() - t0)
                driver.port_up(port)
    finally:
        if driver is not None:
            driver.close()
    return times


def report(label: str, warm: list[float], fresh: list[float], target: float) -> None:
    mw, mf = statistics.median(warm), statistics.median(fresh)
    verdict = "OK" if mw <= target else "OVER TARGET"
    print(f"{label:5} warm  median {mw * 1000:7.1f} ms  (min {min(warm) * 1000:.1f}, max {max(warm) * 1000:.1f}, "
          f"n={len(warm)})  target <= {target * 1000:.0f} ms: {verdict}")
    print(f"{label:5} fresh median {mf * 1000:7.1f} ms  (min {min(fresh) * 1000:.1f}, max {max(fresh) * 1000:.1f}, "
          f"n={len(fresh)})")
    print(f"{label:5} ratio fresh/warm = {mf / mw:.1f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    backend = MemoryPorts({PORT_SSH: SimPort(macs=["aa:bb:cc:00:00:01"]), "Gi1/0/2": SimPort()})
    server = FakeSwitchServer(backend, dialect="ios")
    try:
        def make_ssh() -> SwitchDriver:
            return NetmikoSwitchDriver("bench-ssh", "127.0.0.1", port=server.port, user="admin",
                                       password="secret", timeout=5, options={"device_type": "cisco_ios"})
        warm = measure(args.runs, make_ssh, PORT_SSH, warm=True)
        fresh = measure(args.runs, make_ssh, PORT_SSH, warm=False)
        report("SSH", warm, fresh, 1.0)
    finally:
        server.close()

    reason = snmpd_unavailable_reason()
    if reason:
        print(f"SNMP  skipped: {reason}")
        return 0
    snmpd = LoopbackSnmpd({1: {"name": PORT_SNMP, "ifindex": 11, "macs": ["aa:bb:cc:00:00:01"]},
                           2: {"name": "ws2", "ifindex": 12}})
    try:
        def make_snmp() -> SwitchDriver:
            return SnmpSwitchDriver("bench-snmp", "127.0.0.1", port=snmpd.port, timeout=2,
                                    options={"snmp": {"version": "2c", "community": RW_COMMUNITY}})
        warm = measure(args.runs, make_snmp, PORT_SNMP, warm=True)
        fresh = measure(args.runs, make_snmp, PORT_SNMP, warm=False)
        report("SNMP", warm, fresh, 0.3)
    finally:
        snmpd.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
