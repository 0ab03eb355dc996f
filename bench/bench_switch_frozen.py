"""Benchmark: how long a frozen switch takes to get a verdict, beside the driver's timeout.

A frozen switch keeps TCP open and answers nothing (here: the fake IOS/ProCurve CLI in its own process,
stopped with SIGSTOP; and a real snmpd, stopped the same way, for the SNMP driver). Each call is measured
against the live switch first (baseline, same run), then
against the frozen one: with a warm session (the switch froze mid-session) and with a fresh login. The
bound is ``timeout + 1 s`` (issue 13); the figure printed beside it is the real wall time, and the
verdict's own message. After each verdict we also report whether the abandoned worker reconnected.

    python3 bench/bench_switch_frozen.py [--timeout 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notaus.drivers.base import DriverError  # noqa: E402
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver  # noqa: E402

PROFILES = {"cisco_ios": ("ios", "Gi1/0/1"), "hp_procurve": ("procurve", "1")}


def start_switch(dialect: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "notaus.drivers.sim.fake_switch_cli", "--dialect", dialect,
                             "--listen", "127.0.0.1:0", "--ports", "4"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening"):
        proc.kill()
        raise RuntimeError(f"fake switch did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def timed(fn: Callable[[], Any]) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
        fn()
        verdict = "ok"
    except DriverError as exc:
        verdict = f"{exc.kind}: {exc}"
    return time.perf_counter() - t0, verdict


def workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("switch-"))


def bench_profile(profile: str, dialect: str, port: str, timeout: float) -> int:
    """Print one profile's rows; return how many verdicts were over the bound or not a timeout."""
    bound = timeout + 1.0
    proc, tcp = start_switch(dialect)
    try:
        def make() -> NetmikoSwitchDriver:
            return NetmikoSwitchDriver("frozen", "127.0.0.1", port=tcp, user="admin", password="secret",
                                       timeout=timeout, options={"device_type": profile})
        warm = make()
        warm.open()
        calls: dict[str, Callable[[], Any]] = {
            "ports": warm.ports, "port_down": lambda: warm.port_down(port), "mac_table": warm.mac_table}
        base = {name: timed(fn)[0] for name, fn in calls.items()}
        warm.port_up(port)
        live_fresh = make()
        base["open"] = timed(live_fresh.open)[0]
        live_fresh.close()
        os.kill(proc.pid, signal.SIGSTOP)
        rows = [(f"warm  {name}", base[name], *timed(fn)) for name, fn in calls.items()]
        rows.append(("fresh open", base["open"], *timed(make().open)))
        time.sleep(1.5)   # the abandoned workers' own netmiko timeout (timeout + 1 s) ends meanwhile
        leftover = workers()
        over = 0
        for label, live, took, verdict in rows:
            ok = took <= bound and verdict.startswith("timeout")
            over += not ok
            print(f"{profile:11} {label:15} frozen {took:5.2f} s  (live baseline {live * 1000:6.1f} ms, "
                  f"timeout {timeout:g} s, bound {bound:g} s) {'OK' if ok else 'OVER BOUND'}")
        print(f"{profile:11} verdict texts: {rows[0][3][:140]}")
        print(f"{profile:11}                {rows[1][3][:140]}")
        print(f"{profile:11} driver session after the verdicts: {'none' if warm._conn is None else 'OPEN'}; "
              f"worker threads still running 1.5 s later: {leftover}")
        return over
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(5)


def bench_snmp(timeout: float) -> int:
    """The SNMP driver against a real snmpd (root), frozen with SIGSTOP."""
    from notaus.drivers.snmp_switch import SnmpSwitchDriver
    from tests.lab.switch_servers import RW_COMMUNITY, LoopbackSnmpd, snmpd_unavailable_reason

    reason = snmpd_unavailable_reason()
    if reason:
        print(f"snmp        skipped: {reason}")
        return 0
    server = LoopbackSnmpd({1: {"name": "ws1", "ifindex": 11, "macs": ["aa:bb:cc:00:00:01"]},
                            2: {"name": "ws2", "ifindex": 12}})
    driver = SnmpSwitchDriver("frozen", "127.0.0.1", port=server.port, timeout=timeout,
                              options={"snmp": {"version": "2c", "community": RW_COMMUNITY}})
    try:
        driver.open()
        calls: dict[str, Callable[[], Any]] = {"ports": driver.ports, "port_down": lambda: driver.port_down("ws1"),
                                               "mac_table": driver.mac_table}
        base = {name: timed(fn)[0] for name, fn in calls.items()}
        driver.port_up("ws1")
        os.kill(server.proc.pid, signal.SIGSTOP)
        over = 0
        for name, fn in calls.items():
            took, verdict = timed(fn)
            ok = took <= timeout + 1.0 and verdict.startswith("timeout")
            over += not ok
            print(f"{'snmp':11} {name:15} frozen {took:5.2f} s  (live baseline {base[name] * 1000:6.1f} ms, "
                  f"timeout {timeout:g} s, bound {timeout + 1:g} s) {'OK' if ok else 'OVER BOUND'}")
        return over
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        driver.close()
        server.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--timeout", type=float, default=3.0)
    args = ap.parse_args()
    # paramiko's transport threads log the socket we closed under them (expected after a verdict)
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    over = sum(bench_profile(profile, dialect, port, args.timeout) for profile, (dialect, port) in PROFILES.items())
    over += bench_snmp(args.timeout)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
