"""Live capture from an interface: AF_PACKET + kernel BPF filter + TPACKET_V3 ring.

The kernel fills blocks of a memory-mapped ring; we walk each block's packet headers with
``struct`` and hand the frames to the sink *in place* (no copy, no syscall per packet), then
return the block. The BPF filter (compiled by libpcap through scapy) drops uninteresting
traffic in the kernel. If the ring cannot be set up, a plain ``recv_into`` loop is used.
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
import threading
from dataclasses import dataclass

from notaus.controller.detection.pcapio import FrameSink

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_USER = 1

_BLOCK_HDR = struct.Struct("<II")          # num_pkts, offset_to_first_pkt (at block + 12)
_PKT_HDR = struct.Struct("<IIIIIIH")       # next, sec, nsec, snaplen, len, status, mac


class CaptureSetupError(Exception):
    """Live capture cannot start (no root, unknown interface, bad filter)."""


@dataclass
class LiveStats:
    packets: int = 0
    kernel_packets: int = 0
    kernel_drops: int = 0
    ring: bool = False


def attach_bpf(sock: socket.socket, expression: str, iface: str) -> None:
    """Compile ``expression`` with libpcap (via scapy) and attach it to the socket in the kernel."""
    from scapy.arch.linux import attach_filter

    try:
        attach_filter(sock, expression, iface)
    except Exception as exc:  # scapy raises Scapy_Exception for syntax errors
        raise CaptureSetupError(f"Filter {expression!r} ist ungültig ({exc}). Beispiel: 'tcp or udp'.") from None


class LiveCapture:
    """One interface, one socket, one ring. ``run(sink)`` blocks until ``stop()``."""

    def __init__(self, iface: str, bpf: str | None = "tcp or udp", block_size: int = 1 << 20,
                 blocks: int = 64, block_timeout_ms: int = 50, snaplen: int = 2048) -> None:
        self.iface = iface
        self.stats = LiveStats()
        self._stop = threading.Event()
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise CaptureSetupError("Mitschneiden braucht Administratorrechte (root oder CAP_NET_RAW).") from None
        try:
            if bpf:
                attach_bpf(self.sock, bpf, iface)
            self.sock.bind((iface, 0))
        except OSError as exc:
            self.sock.close()
            raise CaptureSetupError(f"Schnittstelle {iface!r} nicht nutzbar: {exc.strerror}. "
                                    f"Namen mit 'ip link' prüfen.") from None
        self._ring: mmap.mmap | None = None
        self._blocks = blocks
        self._block_size = block_size
        self._snaplen = snaplen
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            req = struct.pack("<IIIIIII", block_size, blocks, 2048, block_size * blocks // 2048,
                              block_timeout_ms, 0, 0)
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self._ring = mmap.mmap(self.sock.fileno(), block_size * blocks,
                                   mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.stats.ring = True
        except OSError:
            self._ring = None

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self.read_kernel_stats()
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        self.sock.close()

    def read_kernel_stats(self) -> None:
        """Accumulate the kernel's packet/drop counters (reading resets them)."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        except OSError:
            return
        pk, drops = struct.unpack_from("<II", raw)
        self.stats.kernel_packets += pk
        self.stats.kernel_drops += drops

    def run(self, sink: FrameSink) -> LiveStats:
        if self._ring is not None:
            self._run_ring(sink, self._ring)
        else:
            self._run_recv(sink)
        return self.stats

    def _run_ring(self, sink: FrameSink, ring: mmap.mmap) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        bsize, nblocks = self._block_size, self._blocks
        status_of = struct.Struct("<I").unpack_from
        set_status = struct.Struct("<I").pack_into
        blk_hdr, pkt_hdr = _BLOCK_HDR.unpack_from, _PKT_HDR.unpack_from
        block = 0
        count = 0
        stop = self._stop
        while not stop.is_set():
            base = block * bsize
            if not status_of(ring, base + 8)[0] & TP_STATUS_USER:
                poller.poll(100)
                continue
            num, first = blk_hdr(ring, base + 12)
            p = base + first
            for _ in range(num):
                nxt, sec, nsec, snap, length, _st, mac = pkt_hdr(ring, p)
                sink(ring, p + mac, snap, length, sec + nsec * 1e-9, 1)
                p += nxt
            count += num
            self.stats.packets = count
            set_status(ring, base + 8, 0)
            block = (block + 1) % nblocks

    def _run_recv(self, sink: FrameSink) -> None:
        buf = bytearray(self._snaplen)
        self.sock.settimeout(0.2)
        import time
        while not self._stop.is_set():
            try:
                n = self.sock.recv_into(buf)
            except TimeoutError:
                continue
            except OSError:
                break
            frame = bytes(buf[:n])
            sink(frame, 0, n, n, time.time(), 1)
            self.stats.packets += 1
