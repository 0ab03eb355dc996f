"""Benchmark: what the PDF incident report costs on the box – ReportLab beside Chromium, same report.

A real incident (panic against the TR-064 simulator, checklist ticks, NOTES staff notes) is written
as PDF twice from the same data: by ReportLab (what notaus uses, pip-installed) and, as the baseline,
by headless Chromium printing the HTML report (what notaus used before; skipped if not installed).
Each renderer runs in a fresh child process, so its imports, fonts and memory are its own:

* time: wall clock of the child from start to the finished file (imports included, as for a CLI call);
* RAM: peak memory – ReportLab: the child's peak RSS (``ru_maxrss``, the whole notaus process) and how
  much rendering added; Chromium: the highest sum of the proportional set size (PSS) of its whole
  process tree, sampled every 10 ms (browser, renderer, GPU and utility processes run at once);
* disk: the installed files of the Python distributions (ReportLab and what it pulls in) beside the
  Debian packages of Chromium (``Installed-Size`` of chromium and chromium-common only). A fresh box
  also needs Chromium's libraries: in a fresh bookworm minbase root (``deploy/chroot-test.sh``),
  ``apt-get install --no-install-recommends chromium`` wanted 154 packages and 693 MB (884 MB and 290
  packages with recommends), measured 2026-12.

Run: ``python bench/bench_report_pdf.py [--notes 100] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY_RENDER = """
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[3])
from notaus.controller.engine import Engine
from notaus.controller.incident import IncidentManager
from notaus.controller.report_export import export
from notaus.policies.loader import load_policy
policy = load_policy(sys.argv[1])
engine = Engine.from_policy(policy)
mgr = IncidentManager.for_engine(engine)
inc = mgr.current() or mgr.all()[0]
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t1 = time.perf_counter()
export(mgr, inc, policy, sys.argv[2], sys.argv[4])
t2 = time.perf_counter()
print(json.dumps({"total": t2 - t0, "render": t2 - t1, "rss_before_kb": rss_before,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _tree_rss_kb(root_pid: int) -> int:
    """Memory of ``root_pid`` and all its descendants: the sum of their PSS (shared pages counted once, split
    between the processes sharing them), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.M)
        if ppid:
            children.setdefault(int(ppid.group(1)), []).append(int(entry))
        try:
            vm = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{entry}/smaps_rollup").read_text(), re.M)
        except OSError:
            vm = None
        rss[int(entry)] = int(vm.group(1)) if vm else 0
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def chromium_pdf(html: Path, pdf: Path) -> tuple[float, int]:
    """Print ``html`` with headless Chromium as notaus did before; (seconds, peak tree RSS in kB)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "HOME": profile})
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
    assert proc.returncode == 0 and pdf.stat().st_size > 0, proc.returncode
    return elapsed, peak


def pages(pdf: Path) -> int:
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        m = re.search(r"^Pages:\s+(\d+)", out, re.M)
        if m:
            return int(m.group(1))
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def dist_size_mb(names: list[str]) -> float:
    total = 0
    for name in names:
        dist = importlib.metadata.distribution(name)
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                total += p.stat().st_size
    return total / 1e6


def debian_size_mb(packages: list[str]) -> float | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Installed-Size}\\n", *packages], capture_output=True,
                             text=True, timeout=10)
    except OSError:
        return None
    sizes = [int(x) for x in out.stdout.split() if x.isdigit()]
    return sum(sizes) / 1e3 if out.returncode == 0 and sizes else None


def build_incident(tmp: Path, notes: int) -> Path:
    """A policy file whose state holds one incident with a panic, ticks and ``notes`` notes."""
    from notaus.controller.engine import Engine
    from notaus.controller.incident import IncidentManager
    from notaus.drivers.sim.tr64 import Tr064Simulator
    from notaus.policies.loader import load_policy

    sim = Tr064Simulator(password="bench", reconnect_delay=0.05, hostfilter_delay=0.01).start()
    policy_file = tmp / "policy.yaml"
    policy_file.write_text(f"""
practice: Praxis Dr. Müller-Lüdenscheidt
controller: {{state_dir: {tmp}/state}}
devices: [{{name: fritzbox, driver: fritzbox, address: 127.0.0.1, port: {sim.port}, user: notaus,
            password: bench}}]
hosts: [{{name: empfang-pc, ip: 192.168.178.20, role: workstation}}]
contacts: {{data_protection_officer: {{name: Dr. Datenschutz GmbH, phone: 0221 555 66}}}}
""", encoding="utf-8")
    engine = Engine.from_policy(load_policy(policy_file))
    try:
        mgr = IncidentManager.for_engine(engine)          # listens: the panic opens the incident
        assert engine.panic("full", actor="staff:empfang").outcome == "done"
        inc = mgr.current()
        assert inc is not None
        for item in ("calm", "disconnect", "call-provider"):
            mgr.tick(inc.id, item, actor="staff:empfang")
        for i in range(notes):
            mgr.add_note(inc.id, f"Beobachtung {i + 1}: Bildschirm im Sprechzimmer zeigt Lösegeldforderung; "
                         "Größe der Dateien unverändert, Übergabe an IT Müller", actor="staff:empfang")
        mgr.close()
    finally:
        engine.close()
        sim.stop()
    return policy_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=100, help="staff notes in the incident (report length)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp_s:
        tmp = Path(tmp_s)
        policy = build_incident(tmp, args.notes)
        rl_times: list[float] = []
        rl_peaks: list[int] = []
        rl_added: list[int] = []
        rl_render: list[float] = []
        out = tmp / "reportlab.pdf"
        for _ in range(args.runs):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", PY_RENDER, str(policy), str(out), str(ROOT), "pdf"],
                                  capture_output=True, text=True, timeout=300)
            wall = time.perf_counter() - t0
            assert proc.returncode == 0, proc.stderr
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            rl_times.append(wall)
            rl_peaks.append(res["peak_kb"])
            rl_added.append(res["peak_kb"] - res["rss_before_kb"])
            rl_render.append(res["render"])
        n_pages = pages(out)
        size_rl = dist_size_mb(["reportlab", "pillow", "charset-normalizer"])
        print(f"Incident report, {args.notes} notes -> {n_pages} pages (ReportLab); {args.runs} runs each, median")
        print(f"  ReportLab  time {statistics.median(rl_times):6.2f} s (process start to file; rendering "
              f"{statistics.median(rl_render):.2f} s)   "
              f"peak RSS {statistics.median(rl_peaks) / 1024:6.0f} MB "
              f"(+{statistics.median(rl_added) / 1024:.0f} MB for rendering)   "
              f"disk {size_rl:5.0f} MB (reportlab, pillow, charset-normalizer)")
        if not (shutil.which("chromium") or shutil.which("chromium-browser")):
            print("  Chromium   not installed: baseline skipped")
            return 0
        html = tmp / "report.html"
        proc = subprocess.run([sys.executable, "-c", PY_RENDER, str(policy), str(html), str(ROOT), "html"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        html_ms = json.loads(proc.stdout.strip().splitlines()[-1])["total"]
        ch_times: list[float] = []
        ch_peaks: list[int] = []
        cpdf = tmp / "chromium.pdf"
        for _ in range(args.runs):
            sec, peak = chromium_pdf(html, cpdf)
            ch_times.append(sec + html_ms)
            ch_peaks.append(peak)
        size_ch = debian_size_mb(["chromium", "chromium-common"])
        disk = f"disk {size_ch:5.0f} MB (chromium, chromium-common; + libraries)" if size_ch else "disk ?"
        print(f"  Chromium   time {statistics.median(ch_times):6.2f} s (HTML process + Chromium print, {pages(cpdf)} "
              f"pages)   peak PSS {statistics.median(ch_peaks) / 1024:6.0f} MB (process tree)   {disk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
