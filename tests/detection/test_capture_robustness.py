"""Hostile input: fuzzed/truncated captures, garbage frames, absurd header lengths never crash."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notaus.controller.detection.flows import FlowTable
from notaus.controller.detection.pcapio import CaptureError, PcapWriter, read_file, read_stream, scan_buffer

from .corpus import frame


def _pcap(frames: list[bytes]) -> bytes:
    buf = io.BytesIO()
    w = PcapWriter(buf)
    for i, f in enumerate(frames):
        w.write(1000.0 + i, f)
    return buf.getvalue()


GOOD = [frame("192.168.1.2", "203.0.113.9", 6, 40000, 443, flags=0x02),
        frame("203.0.113.9", "192.168.1.2", 6, 443, 40000, b"x" * 100),
        frame("192.168.1.2", "8.8.8.8", 17, 40001, 53, b"q" * 20),
        frame("fd00::2", "2001:db8::1", 6, 40002, 443, flags=0x02, vlan=7)]


def test_good_frames_are_decoded() -> None:
    ft = FlowTable()
    scan_buffer(_pcap(GOOD), ft.feed)
    assert ft.packets == 4 and ft.malformed == 0 and ft.flows == 3
    pair = ft.pairs[(bytes([192, 168, 1, 2]), bytes([203, 0, 113, 9]), 443, 6)]
    assert pair.bytes_in == len(GOOD[1]) and pair.conns == 1


@pytest.mark.parametrize("bad", [
    b"",                                                   # empty frame
    b"\x00" * 13,                                          # shorter than Ethernet
    GOOD[0][:20],                                          # IPv4 header cut
    GOOD[0][:14] + b"\x4f" + GOOD[0][15:],                 # IHL 60 bytes > frame
    GOOD[0][:14] + b"\x42" + GOOD[0][15:],                 # IHL < 20
    GOOD[0][:14] + b"\x65" + GOOD[0][15:],                 # version 6 in IPv4 ethertype
    GOOD[0][:46] + b"\xf0" + GOOD[0][47:],                 # TCP data offset 60 > segment
    GOOD[0][:46] + b"\x10" + GOOD[0][47:],                 # TCP data offset < 20
    GOOD[3][:30],                                          # IPv6 cut
    GOOD[0][:12] + b"\x81\x00",                            # VLAN tag without content
])
def test_absurd_headers_are_counted_as_malformed(bad: bytes) -> None:
    ft = FlowTable()
    scan_buffer(_pcap([bad, GOOD[0]]), ft.feed)
    assert ft.packets == 2 and ft.malformed == 1 and ft.flows == 1


def test_truncated_file_counts_and_keeps_earlier_packets(tmp_path: Path) -> None:
    data = _pcap(GOOD)
    for cut in (len(data) - 5, len(data) - len(GOOD[3]) - 10, 30):
        p = tmp_path / f"cut{cut}.pcap"
        p.write_bytes(data[:cut])
        ft = FlowTable()
        stats = read_file(p, ft.feed)
        assert stats.truncated == 1
        assert ft.packets == stats.records < 4


def test_not_a_capture_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "x.pcap"
    p.write_bytes(b"hello world, not a pcap at all")
    with pytest.raises(CaptureError, match="pcap"):
        read_file(p, FlowTable().feed)


def test_pcapng_with_nanosecond_resolution() -> None:
    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, 9) + b"\x00" * 4)
    ts = 1_700_000_000_123_456_789
    epb = b"".join(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
                   for f in GOOD[:2])
    seen: list[float] = []
    ft = FlowTable()

    def sink(buf, off, caplen, wirelen, t, lt):  # type: ignore[no-untyped-def,unused-ignore]
        seen.append(t)
        ft.feed(buf, off, caplen, wirelen, t, lt)

    stats = scan_buffer(shb + idb + epb + b"\x06\x00\x00\x00\xff\xff", sink)
    assert ft.packets == 2 and ft.flows == 1 and stats.truncated == 1
    assert seen[0] == pytest.approx(1_700_000_000.123456789)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=120), max_size=20), st.sampled_from([1, 101, 113, 276, 0, 12]))
def test_garbage_frames_never_crash(frames: list[bytes], linktype: int) -> None:
    ft = FlowTable(max_pairs=5)
    for i, f in enumerate(frames):
        ft.feed(f, 0, len(f), len(f), float(i), linktype)
    assert ft.packets == len(frames)
    assert ft.malformed + ft.other <= ft.packets


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=600))
def test_fuzzed_capture_files_never_crash(noise: bytes, cut: int) -> None:
    base = _pcap(GOOD)
    data = bytearray(base[:cut] + noise + base[cut:])
    ft = FlowTable()
    try:
        scan_buffer(bytes(data), ft.feed)
    except CaptureError:
        return
    assert ft.packets <= ft.malformed + ft.other + ft.packets


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_mutated_frames_are_counted_not_raised(mutation: bytes) -> None:
    ft = FlowTable()
    for f in GOOD:
        m = bytearray(f)
        for i, b in enumerate(mutation):
            m[(i * 7) % len(m)] ^= b
        ft.feed(bytes(m), 0, len(m), len(m), 1.0, 1)
    assert ft.packets == 4


def test_stream_reader_matches_file_reader() -> None:
    data = _pcap(GOOD * 50)

    class Slow(io.BytesIO):
        def read(self, n: int | None = -1, /) -> bytes:  # trickle 7 bytes at a time
            return super().read(min(7, n) if n and n > 0 else 7)

    a, b = FlowTable(), FlowTable()
    scan_buffer(data, a.feed)
    read_stream(Slow(data), b.feed)
    assert (a.packets, a.flows, a.malformed) == (b.packets, b.flows, b.malformed) == (200, a.flows, 0)
