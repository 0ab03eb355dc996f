"""Traffic probe: a numbered packet every few milliseconds to an echo server, answers time-stamped.

Why: end-to-end tests must show that traffic *really* stops when notaus acts, and the benchmark
wants "action -> last packet through". The probe runs inside a lab namespace (so its packets take
the practice's path through switch and router) and prints one line per answered packet::

    <seq> <sent_monotonic> <reply_monotonic>

``time.monotonic()`` is the system-wide CLOCK_MONOTONIC, so these times compare directly with
``time.monotonic()`` in the test process.

Command line (inside a namespace)::

    .venv/bin/python -m tests.lab.probe --to 198.51.100.10:7 --interval 0.01 --proto udp

Library::

    probe = Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)).start()
    t = time.monotonic(); ...act...; probe.wait_silent(0.5); probe.replies_since(t)
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .netlab import Lab


@dataclass(frozen=True)
class Reply:
    """One answered probe packet."""

    seq: int
    sent: float
    received: float


# ------------------------------------------------------------------------ the probe process side
def _run_udp(host: str, port: int, interval: float, out: Any) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, port))
    sent: dict[int, float] = {}
    lock = threading.Lock()

    def receive() -> None:
        while True:
            try:
                data = sock.recv(2048)
            except ConnectionRefusedError:
                continue  # ICMP port unreachable while the server is not (yet) there
            now = time.monotonic()
            with contextlib.suppress(ValueError):
                seq = int(data.split(b" ", 1)[0])
                with lock:
                    t0 = sent.pop(seq, None)
                if t0 is not None:
                    out.write(f"{seq} {t0:.6f} {now:.6f}\n")
                    out.flush()

    threading.Thread(target=receive, daemon=True).start()
    seq = 0
    next_at = time.monotonic()
    while True:
        seq += 1
        now = time.monotonic()
        with lock:
            sent[seq] = now
            if len(sent) > 10000:  # forget packets that were never answered
                for old in sorted(sent)[:5000]:
                    del sent[old]
        with contextlib.suppress(OSError):
            sock.send(f"{seq} notaus-probe".encode())
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def _run_tcp(host: str, port: int, interval: float, out: Any) -> None:
    """One long-lived connection (an established flow), one numbered line per interval.

    If the connection breaks it is opened again, so a restored WAN shows up as answers again.
    """
    seq = 0
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=1.0)
        except OSError:
            time.sleep(interval)
            continue
        sent: dict[int, float] = {}
        lock = threading.Lock()
        alive = threading.Event()
        alive.set()

        def receive(sock: socket.socket = sock, sent: dict[int, float] = sent, lock: threading.Lock = lock,
                    alive: threading.Event = alive) -> None:
            buf = b""
            sock.settimeout(None)
            while alive.is_set():
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                now = time.monotonic()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    with contextlib.suppress(ValueError):
                        s = int(line)
                        with lock:
                            t0 = sent.pop(s, None)
                        if t0 is not None:
                            out.write(f"{s} {t0:.6f} {now:.6f}\n")
                            out.flush()
            alive.clear()

        threading.Thread(target=receive, daemon=True).start()
        next_at = time.monotonic()
        while alive.is_set():
            seq += 1
            with lock:
                sent[seq] = time.monotonic()
            try:
                sock.sendall(f"{seq}\n".encode())
            except OSError:
                break
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        alive.clear()
        with contextlib.suppress(OSError):
            sock.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="send numbered packets to an echo server, print answers")
    ap.add_argument("--to", required=True, metavar="IP:PORT")
    ap.add_argument("--interval", type=float, default=0.01, help="seconds between packets (default 0.01)")
    ap.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    args = ap.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    print("ready", flush=True)
    try:
        if args.proto == "udp":
            _run_udp(host, int(port), args.interval, sys.stdout)
        else:
            _run_tcp(host, int(port), args.interval, sys.stdout)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    return 0


# --------------------------------------------------------------------------- the library side
class Probe:
    """Runs the probe inside a lab namespace and collects its answers in the test process."""

    def __init__(self, lab: Lab, ns: str, target: tuple[str, int], *, interval: float = 0.01,
                 proto: str = "udp") -> None:
        self.lab = lab
        self.ns = ns
        self.target = target
        self.interval = interval
        self.proto = proto
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self._new = threading.Condition(self._lock)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> Probe:
        host, port = self.target
        self._proc = self.lab.popen(self.ns, sys.executable, "-u", "-m", "tests.lab.probe",
                                    "--to", f"{host}:{port}", "--interval", str(self.interval),
                                    "--proto", self.proto,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if first.strip() != "ready":
            raise RuntimeError(f"probe in {self.ns} did not start: {first!r}")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            parts = line.split()
            if len(parts) != 3:
                continue
            reply = Reply(int(parts[0]), float(parts[1]), float(parts[2]))
            with self._new:
                self._replies.append(reply)
                self._new.notify_all()

    def stop(self) -> None:
        if self._proc is not None:
            self.lab.stop(self._proc)
            self._proc = None
        if self._reader is not None:
            self._reader.join(timeout=2)

    def __enter__(self) -> Probe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ queries
    @property
    def replies(self) -> list[Reply]:
        with self._lock:
            return list(self._replies)

    def last_reply_time(self) -> float | None:
        """Monotonic time the latest answer arrived, or None if nothing was answered yet."""
        with self._lock:
            return self._replies[-1].received if self._replies else None

    def last_sent_answered(self) -> float | None:
        """Send time of the latest packet that got through (the "last packet through" of the benchmark)."""
        with self._lock:
            return max((r.sent for r in self._replies), default=None)

    def replies_since(self, t: float) -> list[Reply]:
        """Answers to packets *sent* at or after monotonic time ``t``."""
        with self._lock:
            return [r for r in self._replies if r.sent >= t]

    def wait_replies(self, count: int = 1, *, since: float | None = None, timeout: float = 5.0) -> bool:
        """Wait until ``count`` answers to packets sent after ``since`` (default: now) have arrived."""
        since = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        with self._new:
            while sum(1 for r in self._replies if r.sent >= since) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._new.wait(left)
        return True

    def wait_silent(self, quiet: float = 0.3, *, timeout: float = 5.0) -> bool:
        """Wait until no answer has arrived for ``quiet`` seconds (traffic stopped); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.last_reply_time()
            now = time.monotonic()
            if last is None or now - last >= quiet:
                return True
            time.sleep(min(quiet - (now - last), max(0.0, deadline - now)) + 0.005)
        return False


if __name__ == "__main__":
    sys.exit(main())
