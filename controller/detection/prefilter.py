"""Offline reading with a kernel-style BPF prefilter run by libpcap (C), for big captures.

Python's per-packet cost is the limit of any pure-Python pcap reader: even a bare loop that only
unpacks each 16-byte record header touches every packet. The detector needs few packets per
connection: the SYN (a start), the SYN-ACK and FIN/RST (with their sequence numbers they give the
bytes each side sent), TLS handshakes (the SNI) and UDP (flows and DNS answers). libpcap applies
that filter in C while reading the file, and only matching frames reach Python - on bulk TCP
traffic a small fraction. Frames that are not plain IPv4 (VLAN-tagged, IPv6, other link types)
all pass, so nothing is lost that the full reader would see, only read more slowly.

What differs from reading every frame: bytes per TCP connection are payload bytes from sequence
numbers (plus the headers of the frames seen) instead of the sum of frame lengths, and
``packets`` counts frames handed on, not frames in the file. Needs libpcap (``libpcap0.8`` on
Debian); without it :func:`read_file_prefiltered` returns None and the caller reads normally.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import tempfile
from pathlib import Path

from notaus.controller.detection.flows import FlowTable
from notaus.controller.detection.pcapio import CaptureError, ReadStats, read_file

#: what the detector needs from IPv4 TCP; everything else passes
PREFILTER = ("not ip or udp or tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 "
             "or tcp[((tcp[12] & 0xf0) >> 2)] = 0x16")


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PktHdr(ctypes.Structure):
    _fields_ = [("ts", _Timeval), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


_LIB: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL | None:
    global _LIB
    if _LIB is None:
        name = ctypes.util.find_library("pcap")
        if name is None:
            return None
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            return None
        lib.pcap_open_offline.restype = ctypes.c_void_p
        lib.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.pcap_datalink.argtypes = [ctypes.c_void_p]
        lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p,
                                     ctypes.c_int, ctypes.c_uint32]
        lib.pcap_setfilter.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram)]
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
        lib.pcap_next_ex.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(_PktHdr)),
                                     ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        lib.pcap_dump_open.restype = ctypes.c_void_p
        lib.pcap_dump_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.pcap_dump_close.argtypes = [ctypes.c_void_p]
        lib.pcap_loop.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        _LIB = lib
    return _LIB


def available() -> bool:
    return _lib() is not None


def read_file_prefiltered(path: str | Path, table: FlowTable) -> ReadStats | None:
    """Feed ``table`` the frames of ``path`` that pass :data:`PREFILTER`; None without libpcap.

    libpcap reads and filters the whole file in C, handing each matching frame to its own
    ``pcap_dump`` (a C callback: no Python per packet), into a temporary pcap next to nothing else
    (``/dev/shm`` when there is one); the regular mmapped reader then walks that small file.
    """
    lib = _lib()
    if lib is None:
        return None
    err = ctypes.create_string_buffer(512)
    handle = lib.pcap_open_offline(str(path).encode(), err)
    if not handle:
        raise CaptureError(f"Datei {path} ist keine lesbare Aufzeichnung: {err.value.decode(errors='replace')}")
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="notaus-prefilter-", dir=shm if shm.is_dir() else None) as tmp:
        out = Path(tmp) / "filtered.pcap"
        try:
            linktype = lib.pcap_datalink(handle)
            if linktype in (1, 101, 12, 14):      # filterable link types; others pass unfiltered
                prog = _BpfProgram()
                if lib.pcap_compile(handle, ctypes.byref(prog), PREFILTER.encode(), 1, 0xFFFFFFFF) == 0:
                    lib.pcap_setfilter(handle, ctypes.byref(prog))
                    lib.pcap_freecode(ctypes.byref(prog))
            dumper = lib.pcap_dump_open(handle, str(out).encode())
            if not dumper:
                return None
            rc = lib.pcap_loop(handle, -1, ctypes.cast(lib.pcap_dump, ctypes.c_void_p), dumper)
            lib.pcap_dump_close(dumper)
        finally:
            lib.pcap_close(handle)
        table.seq_bytes = True
        stats = read_file(out, table.feed)
        if rc == -1:                          # a damaged record ends the file, as in the full reader
            stats.truncated += 1
        return stats
