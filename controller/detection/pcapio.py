"""Read and write pcap/pcapng without dissecting packets.

The readers only walk record headers with ``struct`` and hand each frame on as
``(buffer, offset, caplen, wirelen, ts)`` so the caller can decode the few header fields it
needs in place. No per-packet scapy objects, no per-packet frame copies for files (the whole
file is mmapped). A truncated record ends the file and is counted, never raised.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
LINKTYPE_ETHERNET = 1

_REC_LE = struct.Struct("<IIII")
_REC_BE = struct.Struct(">IIII")
_GLOBAL_HDR = struct.Struct("<IHHiIII")

# A frame handler: (buffer, offset, caplen, wirelen, ts, linktype) -> None
FrameSink = Callable[[bytes | mmap.mmap | bytearray | memoryview, int, int, int, float, int], None]


class CaptureError(Exception):
    """The input is not a capture we can read (bad magic, unreadable file)."""


@dataclass
class ReadStats:
    """What a reader saw besides good frames."""

    records: int = 0
    truncated: int = 0            # a record header/body cut off at the end of the input
    bad_blocks: int = 0           # pcapng blocks with absurd lengths
    linktypes: set[int] = field(default_factory=set)


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _file_buffer(path: Path) -> bytes | mmap.mmap:
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size == 0:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise CaptureError(f"Datei {path} kann nicht gelesen werden: {exc.strerror}") from None


def scan_buffer(buf: bytes | mmap.mmap, sink: FrameSink, stats: ReadStats | None = None) -> ReadStats:
    """Walk a whole pcap or pcapng capture held in ``buf``, calling ``sink`` per frame."""
    stats = stats or ReadStats()
    if len(buf) < 4:
        if len(buf):
            stats.truncated += 1
            return stats
        raise CaptureError("Die Datei ist leer - keine Aufzeichnung (pcap/pcapng) vorhanden.")
    magic_le = struct.unpack_from("<I", buf, 0)[0]
    if magic_le == PCAPNG_SHB:
        return _scan_pcapng(buf, sink, stats)
    return _scan_pcap(buf, sink, stats)


def _pcap_header(head: bytes | mmap.mmap) -> tuple[struct.Struct, float, int, int]:
    """Return (record struct, ts fraction scale, linktype, snaplen) from a 24-byte global header."""
    magic = struct.unpack_from("<I", head, 0)[0]
    if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        rec, endian = _REC_LE, "<"
    elif struct.unpack_from(">I", head, 0)[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        rec, endian = _REC_BE, ">"
        magic = struct.unpack_from(">I", head, 0)[0]
    else:
        raise CaptureError("Keine pcap/pcapng-Datei (unbekannte Kennung). Bitte eine Aufzeichnung von "
                           "tcpdump, Wireshark oder der FRITZ!Box angeben.")
    scale = 1e-9 if magic == PCAP_MAGIC_NS else 1e-6
    _m, _maj, _min, _tz, _sig, snaplen, linktype = struct.unpack_from(endian + "IHHiIII", head, 0)
    return rec, scale, linktype & 0x0FFFFFFF, snaplen


def _scan_pcap(buf: bytes | mmap.mmap, sink: FrameSink, stats: ReadStats) -> ReadStats:
    if len(buf) < 24:
        _pcap_header(bytes(buf[:4]) + bytes(20))   # raises for anything that is not a pcap at all
        stats.truncated += 1
        return stats
    rec, scale, linktype, _snap = _pcap_header(buf)
    stats.linktypes.add(linktype)
    unpack = rec.unpack_from
    end = len(buf)
    off = 24
    n = 0
    while off + 16 <= end:
        sec, frac, caplen, wirelen = unpack(buf, off)
        off += 16
        if caplen > 262144 or off + caplen > end:
            stats.truncated += 1
            off = end
            break
        sink(buf, off, caplen, wirelen, sec + frac * scale, linktype)
        off += caplen
        n += 1
    if off < end:
        stats.truncated += 1
    stats.records += n
    return stats


def _scan_pcapng(buf: bytes | mmap.mmap, sink: FrameSink, stats: ReadStats) -> ReadStats:
    end = len(buf)
    off = 0
    endian = "<"
    ifaces: list[tuple[int, float]] = []   # (linktype, seconds per tick)
    n = 0
    while off + 12 <= end:
        btype, blen = struct.unpack_from(endian + "II", buf, off)
        if btype == PCAPNG_SHB:
            bom = struct.unpack_from("<I", buf, off + 8)[0]
            endian = "<" if bom == 0x1A2B3C4D else ">"
            blen = struct.unpack_from(endian + "I", buf, off + 4)[0]
            ifaces = []
        if blen < 12 or blen % 4 or off + blen > end:
            if off + blen > end and blen >= 12:
                stats.truncated += 1
            else:
                stats.bad_blocks += 1
            break
        if btype == 1 and blen >= 20:        # Interface Description Block
            linktype = struct.unpack_from(endian + "H", buf, off + 8)[0]
            ifaces.append((linktype, _if_tsresol(buf, off + 16, off + blen - 4, endian)))
            stats.linktypes.add(linktype)
        elif btype == 6 and blen >= 32:      # Enhanced Packet Block
            iface, hi, lo, caplen, wirelen = struct.unpack_from(endian + "IIIII", buf, off + 8)
            if iface < len(ifaces) and 28 + caplen <= blen:
                lt, tick = ifaces[iface]
                sink(buf, off + 28, caplen, wirelen, ((hi << 32) | lo) * tick, lt)
                n += 1
            else:
                stats.bad_blocks += 1
        elif btype == 3 and blen >= 16 and ifaces:   # Simple Packet Block
            wirelen = struct.unpack_from(endian + "I", buf, off + 8)[0]
            caplen = min(wirelen, blen - 16)
            sink(buf, off + 12, caplen, wirelen, 0.0, ifaces[0][0])
            n += 1
        off += blen
    if end - off > 0:
        stats.truncated += 1
    stats.records += n
    return stats


def _if_tsresol(buf: bytes | mmap.mmap, off: int, end: int, endian: str) -> float:
    """Seconds per timestamp tick from an IDB's if_tsresol option (default microseconds)."""
    while off + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", buf, off)
        if code == 0:
            break
        if code == 9 and length >= 1 and off + 5 <= end:
            v = buf[off + 4]
            return float(2 ** -(v & 0x7F)) if v & 0x80 else float(10 ** -v)
        off += 4 + ((length + 3) & ~3)
    return 1e-6


def read_file(path: str | Path, sink: FrameSink) -> ReadStats:
    """Scan a pcap/pcapng file (mmapped) frame by frame."""
    buf = _file_buffer(Path(path))
    try:
        return scan_buffer(buf, sink)
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()


def read_stream(stream: _Readable, sink: FrameSink, stats: ReadStats | None = None,
                chunk: int = 1 << 16) -> ReadStats:
    """Parse a classic pcap arriving on a stream (HTTP body, pipe) as it comes.

    Buffers chunks and hands complete records to ``sink``; stops at end of stream.
    """
    stats = stats or ReadStats()
    pending = bytearray()
    while len(pending) < 24:
        data = stream.read(chunk)
        if not data:
            if pending:
                stats.truncated += 1
            return stats
        pending += data
    rec, scale, linktype, _snap = _pcap_header(bytes(pending[:24]))
    stats.linktypes.add(linktype)
    unpack = rec.unpack_from
    off = 24
    while True:
        avail = len(pending)
        while off + 16 <= avail:
            sec, frac, caplen, wirelen = unpack(pending, off)
            if caplen > 262144:
                stats.truncated += 1
                return stats
            if off + 16 + caplen > avail:
                break
            frame = bytes(pending[off + 16: off + 16 + caplen])
            sink(frame, 0, caplen, wirelen, sec + frac * scale, linktype)
            stats.records += 1
            off += 16 + caplen
        del pending[:off]
        off = 0
        data = stream.read(chunk)
        if not data:
            if pending:
                stats.truncated += 1
            return stats
        pending += data


def iter_frames(path: str | Path) -> Iterator[tuple[float, bytes, int]]:
    """Convenience for tests and small files: yield (ts, frame bytes, linktype)."""
    out: list[tuple[float, bytes, int]] = []

    def sink(buf: bytes | mmap.mmap | bytearray | memoryview, off: int, caplen: int, wirelen: int,
             ts: float, lt: int) -> None:
        out.append((ts, bytes(buf[off:off + caplen]), lt))

    read_file(path, sink)
    yield from out


class PcapWriter:
    """Fast raw classic-pcap writer (microsecond timestamps), one ``struct.pack`` per record."""

    def __init__(self, fh: BinaryIO, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 262144) -> None:
        self._fh = fh
        self._rec = struct.Struct("<IIII")
        fh.write(_GLOBAL_HDR.pack(PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, frame: bytes | bytearray | memoryview, wirelen: int | None = None) -> None:
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        n = len(frame)
        self._fh.write(self._rec.pack(sec, usec, n, wirelen if wirelen is not None else n))
        self._fh.write(frame)

    def close(self) -> None:
        self._fh.flush()
