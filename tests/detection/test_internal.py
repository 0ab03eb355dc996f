"""Which addresses count as the practice side (``is_internal``) - it decides what "bytes sent out" is."""

from __future__ import annotations

import ipaddress

import pytest

from notaus.controller.detection.flows import FlowTable, is_internal

from .corpus import frame


@pytest.mark.parametrize(("addr", "internal"), [
    ("192.168.178.20", True), ("10.77.0.11", True), ("172.31.255.1", True), ("100.64.1.1", True),
    ("127.0.0.1", True), ("169.254.10.1", True), ("224.0.0.251", True), ("255.255.255.255", True),
    ("0.0.0.0", True), ("fe80::1", True), ("fd00::5", True), ("ff02::fb", True), ("::1", True),
    # the internet - including the documentation/benchmark ranges test networks use as "internet"
    ("45.83.10.66", False), ("198.51.100.10", False), ("203.0.113.9", False), ("192.0.2.1", False),
    ("198.18.0.1", False), ("172.32.0.1", False), ("2001:db8::1", False), ("2a00:1450::1", False),
])
def test_is_internal(addr: str, internal: bool) -> None:
    assert is_internal(ipaddress.ip_address(addr).packed) is internal


def test_bytes_out_counts_only_internet_destinations() -> None:
    ft = FlowTable()
    for i, dst in enumerate(("198.51.100.10", "192.168.178.2")):
        syn = frame("192.168.178.50", dst, 6, 40000 + i, 443, flags=0x02)
        ft.feed(syn, 0, len(syn), len(syn), 1000.0 + i, 1)
        payload = frame("192.168.178.50", dst, 6, 40000 + i, 443, b"x" * 500)
        ft.feed(payload, 0, len(payload), len(payload), 1000.5 + i, 1)
    rows = ft.bytes_out_by_dst(ipaddress.ip_address("192.168.178.50").packed)
    assert [r["dst"] for r in rows] == ["198.51.100.10"] and int(rows[0]["bytes"]) >= 500  # type: ignore[call-overload]
