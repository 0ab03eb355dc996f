"""Benchmark the beacon detector's capture path; prints figures and ratios to baselines run here.

1. offline pcap analysis (parse + flow table) on one core vs scapy's PcapReader on the same file;
2. live capture over a veth pair between two network namespaces (root only): our TPACKET_V3
   ring vs scapy's sniff, packets received vs sent by a raw-socket blaster;
3. peak memory for 100,000 concurrent pairs.

Run: ``python3 bench/bench_detection.py`` (about a minute and a half).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "detection"))

from corpus import build_bulk, frame  # noqa: E402

from notaus.controller.detection.flows import FlowTable  # noqa: E402
from notaus.controller.detection.pcapio import read_file  # noqa: E402

OFFLINE_PACKETS = 1_000_000
SCAPY_PACKETS = 20_000
LIVE_SECONDS = 3.0


FLOW_PACKETS = 400_000


def _bare_struct_reader(path: Path) -> int:
    """The baseline: a bare ``struct`` pcap walk (record headers only, no parsing, no table)."""
    import mmap
    import struct

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        unpack = struct.Struct("<IIII").unpack_from
        off, end, n = 24, len(buf), 0
        while off + 16 <= end:
            _sec, _frac, caplen, _wire = unpack(buf, off)
            off += 16 + caplen
            n += 1
    return n


def offline_vs_bare(tmp: Path) -> None:
    """Office-shaped flows (~100 packets per connection): full reader, prefiltered reader, bare walk."""
    from corpus import build_flows

    from notaus.controller.detection.prefilter import available, read_file_prefiltered

    path = tmp / "flows.pcap"
    n = build_flows(path, FLOW_PACKETS)
    best: dict[str, float] = {}
    for _ in range(3):
        for label, run in (("bare struct reader (baseline)", lambda: _bare_struct_reader(path)),
                           ("notaus full reader + flow table", lambda: read_file(path, FlowTable().feed)),
                           ("notaus prefiltered + flow table", lambda: read_file_prefiltered(path, FlowTable()))):
            if "prefiltered" in label and not available():
                continue
            t0 = time.process_time()
            run()
            best[label] = max(best.get(label, 0.0), n / max(time.process_time() - t0, 1e-9))
    base = best["bare struct reader (baseline)"]
    for label, rate in best.items():
        print(f"offline  {label:32s}: {rate:12,.0f} pkt/s CPU  ({rate / base:4.2f} x baseline; "
              f"{n:,} packets, best of 3)")
    pre = best.get("notaus prefiltered + flow table", 0.0)
    print(f"offline  target >= 2 x bare struct reader: {'met' if pre >= 2 * base else 'NOT met'} "
          f"({pre / base:.2f} x)")


def offline(tmp: Path) -> None:
    path = tmp / "bulk.pcap"
    build_bulk(path, OFFLINE_PACKETS)
    best = 0.0
    for _ in range(3):
        ft = FlowTable()
        t0 = time.perf_counter()
        stats = read_file(path, ft.feed)
        dt = time.perf_counter() - t0
        best = max(best, stats.records / dt)
    import scapy.all  # noqa: F401  (registers the Ethernet/IP layers, so packets are dissected)
    from scapy.utils import PcapReader

    t0 = time.perf_counter()
    n = 0
    with PcapReader(str(path)) as r:
        for _pkt in r:
            n += 1
            if n >= SCAPY_PACKETS:
                break
    scapy_rate = n / (time.perf_counter() - t0)
    print(f"offline  notaus parse+flow table : {best:12,.0f} pkt/s  ({OFFLINE_PACKETS:,} packets, best of 3)")
    print(f"offline  scapy PcapReader        : {scapy_rate:12,.0f} pkt/s  ({n:,} packets, extrapolated)")
    print(f"offline  ratio                   : {best / scapy_rate:12.1f} x   target >= 500,000 pkt/s: "
          f"{'met' if best >= 500_000 else 'NOT met'}")


_SENDER = """
import socket, struct, sys, time
iface, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
frames = [bytes.fromhex(h) for h in sys.argv[3:]]
send = s.send
n = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for f in frames:
        try:
            send(f)
            n += 1
        except BlockingIOError:
            pass
print(n)
"""

_OURS = """
import sys, threading, time, json
sys.path.insert(0, sys.argv[3])
from notaus.controller.detection.capture import LiveCapture
from notaus.controller.detection.flows import FlowTable
ft = FlowTable()
cap = LiveCapture(sys.argv[1], bpf="udp", block_timeout_ms=10)
t = threading.Thread(target=cap.run, args=(ft.feed,)); t.start()
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
cap.stop(); t.join(); cap.close()
print(json.dumps({"received": ft.packets, "kernel_drops": cap.stats.kernel_drops}), flush=True)
"""

_SCAPY = """
import sys, json, threading
from scapy.all import sniff, conf
n = [0]
def count(_p): n[0] += 1
print("ready", flush=True)
sniff(iface=sys.argv[1], filter="udp", prn=count, store=False, timeout=float(sys.argv[2]))
print(json.dumps({"received": n[0], "kernel_drops": None}), flush=True)
"""


def _ns(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def live() -> None:
    if os.geteuid() != 0:
        print("live     skipped (needs root for network namespaces)")
        return
    tag = f"nbd{os.getpid() % 10000}"
    a, b = f"{tag}a", f"{tag}b"
    try:
        _ns("netns", "add", a)
        _ns("netns", "add", b)
        _ns("link", "add", f"{tag}x", "netns", a, "type", "veth", "peer", "name", f"{tag}y", "netns", b)
        for ns, dev in ((a, f"{tag}x"), (b, f"{tag}y")):
            _ns("-n", ns, "link", "set", dev, "up")
        frames = [frame("10.99.0.1", "10.99.0.2", 17, 40000 + i, 5000 + i % 7, b"x" * 18).hex()
                  for i in range(64)]
        results = {}
        for label, code in (("notaus ring", _OURS), ("scapy sniff", _SCAPY)):
            rx = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, "-c", code, f"{tag}y",
                                   str(LIVE_SECONDS + 1.5), str(ROOT)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                assert rx.stdout is not None
                rx.stdout.readline()
                time.sleep(0.3)
                tx = subprocess.run(["ip", "netns", "exec", a, sys.executable, "-c", _SENDER, f"{tag}x",
                                     str(LIVE_SECONDS), *frames], capture_output=True, text=True, timeout=60)
                sent = int(tx.stdout.strip() or 0)
                out, _ = rx.communicate(timeout=60)
            finally:
                if rx.poll() is None:
                    rx.kill()
            res = json.loads(out.strip().splitlines()[-1])
            results[label] = (sent, res["received"], res["kernel_drops"])
            print(f"live     {label:22s}: sent {sent:10,}  received {res['received']:10,} "
                  f"({res['received'] / max(sent, 1) * 100:5.1f} %)  offered {sent / LIVE_SECONDS:10,.0f} pkt/s"
                  f"  kernel drops {res['kernel_drops']}")
        o, s = results["notaus ring"], results["scapy sniff"]
        ours_rate, scapy_rate = o[1] / LIVE_SECONDS, s[1] / LIVE_SECONDS
        lossless = o[1] >= o[0] and o[0] / LIVE_SECONDS >= 150_000
        print(f"live     received rate ratio      : {ours_rate:,.0f} vs {scapy_rate:,.0f} pkt/s = "
              f"{ours_rate / max(scapy_rate, 1):.1f} x   (sender is one Python core; "
              f"lossless target 150,000 pkt/s {'met' if lossless else 'not shown'})")
    finally:
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)


def memory() -> None:
    n = 100_000
    frames = []
    for i in range(n):
        src = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
        frames.append(frame(src, f"93.184.{i % 200}.{i % 250 + 1}", 6, 40000, 443, flags=0x02))
    tracemalloc.start()
    ft = FlowTable(max_pairs=n + 1)
    base = tracemalloc.get_traced_memory()[0]
    for i, f in enumerate(frames):
        ft.feed(f, 0, len(f), len(f), 1000.0 + i * 0.001, 1)
    for rnd in range(1, 6):                      # a few more connection starts per pair
        for i, f in enumerate(frames):
            ft.feed(f, 0, len(f), len(f), 1000.0 + rnd * 200 + i * 0.001, 1)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory   {len(ft.pairs):,} pairs x 6 starts: {(cur - base) / 2**20:7.1f} MiB held, "
          f"peak {(peak - base) / 2**20:7.1f} MiB ({(cur - base) / len(ft.pairs):,.0f} B/pair); evicted {ft.evicted}")


#: the per-class table is reported on this seed; the scorer was tuned on seed 1 only
REPORT_SEED = 2
TUNE_SEED = 1
CLASS_COPIES = 6


def classes(tmp: Path) -> None:
    """Recall per beacon class, F1 and benign alerts per 24 h: notaus beside the RITA-v5 reference,
    on the 24-hour practice mixes (``tests/detection/mixes.py``), same captures, no policy."""
    from notaus.controller.detection.analyzer import Analyzer
    from notaus.policies.schema import Policy
    from tests.detection.evaluate import evaluate_mix, mix_table
    from tests.detection.mixes import build_mix

    alert = Policy().detection.alert_score

    print(f"classes  seed {REPORT_SEED} (scorer tuned on seed {TUNE_SEED} only), {CLASS_COPIES} beacons per class, "
          "no policy; RITA reference at its 0.5/0.7/0.9 bands and at 0.8")
    for mix in ("easy", "hard"):
        path = tmp / f"{mix}.pcap"
        corpus = build_mix(path, mix, REPORT_SEED, copies=CLASS_COPIES)
        ours = Analyzer(None)
        ours.analyze_file(path)
        rita = Analyzer(None, ring=86_400)          # RITA keeps every timestamp of the day
        rita.analyze_file(path)
        res = evaluate_mix(corpus, ours, rita, alert, (0.5, 0.7, 0.8, 0.9))
        print(mix_table(mix, res, alert), flush=True)


def main() -> None:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        classes(Path(tmp))
        offline(Path(tmp))
        offline_vs_bare(Path(tmp))
    live()
    memory()
    print(f"bench_detection done in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
