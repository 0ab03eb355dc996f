"""``make bench``: run every benchmark, each printing its figures beside a baseline from the same run.

Benchmarks are separate processes so one's threads, sockets and memory do not colour another's
figures. A failing benchmark is reported and the others still run; the exit code says whether all ran.
Output is also written to ``bench-results/latest.txt``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("FRITZ!Box driver: cut WAN -> verified down", ["bench_fritzbox.py"]),
    ("Panic path: engine and network lab", ["bench_panic.py", "--runs", "20", "--lab-runs", "10"]),
    ("Routers in the field: dead router, keep-phones x20, three WLANs", ["bench_router_field.py"]),
    ("Switch isolation: SSH and SNMP", ["bench_switch.py", "--runs", "20"]),
    ("Frozen switch: verdict time beside the timeout", ["bench_switch_frozen.py", "--timeout", "3"]),
    ("Detection: offline, live capture, memory", ["bench_detection.py"]),
    ("API: panic via HTTP, status under 50 clients", ["bench_api.py"]),
    ("PDF incident report: ReportLab beside Chromium", ["bench_report_pdf.py"]),
]


def main() -> int:
    out_dir = HERE.parent / "bench-results"
    out_dir.mkdir(exist_ok=True)
    failures = 0
    lines: list[str] = []
    for title, cmd in BENCHES:
        banner = f"\n=== {title} ==="
        print(banner, flush=True)
        lines.append(banner)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], capture_output=True, text=True,
                              cwd=HERE.parent, timeout=900)
        text = proc.stdout.rstrip()
        print(text, flush=True)
        lines.append(text)
        if proc.returncode != 0:
            failures += 1
            err = f"  !! exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"
            print(err, flush=True)
            lines.append(err)
        lines.append(f"  ({time.monotonic() - t0:.0f} s)")
    (out_dir / "latest.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
