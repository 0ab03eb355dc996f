"""Flow table: connection starts per (src, dst, dst_port, proto) with bounded memory.

``FlowTable.feed`` is the hot path for every captured frame. It decodes Ethernet/802.1Q/
Linux-cooked/raw IP, IPv4/IPv6 and TCP/UDP header fields in place with ``struct`` and integer
indexing (no per-packet objects besides the two address slices and the lookup key), counts
malformed frames instead of raising, and keeps per pair only what the scorers need: the last
``ring`` connection start times, bytes per connection, bytes each way and a learned name.
"""

from __future__ import annotations

import ipaddress
import itertools
import mmap
import struct
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from notaus.controller.detection.names import parse_dns_answers, parse_sni

Buffer = bytes | bytearray | memoryview | mmap.mmap
PairKey = tuple[bytes, bytes, int, int]

TCP = 6
UDP = 17
PROTO_NAMES = {TCP: "tcp", UDP: "udp"}

_HH = struct.Struct("!HH").unpack_from
_H = struct.Struct("!H").unpack_from
_L = struct.Struct("<I").unpack_from
_FAST = struct.Struct("!12xHBxH2xHxB2x4s4sHH").unpack_from
_SEQ = struct.Struct("!I").unpack_from


class Pair:
    """State of one (src, dst, dst_port, proto) pair. ``__slots__`` keep 100k pairs affordable."""

    __slots__ = ("src", "dst", "dport", "proto", "name", "first", "last", "starts", "sizes", "conns",
                 "cur_bytes", "bytes_out", "bytes_in", "sport", "start_ts", "conn_last", "longest",
                 "last_fwd", "sni_done", "isn", "risn")

    def __init__(self, src: bytes, dst: bytes, dport: int, proto: int, ts: float, name: str | None) -> None:
        self.src = src
        self.dst = dst
        self.dport = dport
        self.proto = proto
        self.name = name
        self.first = ts
        self.last = ts
        self.starts = array("d")
        self.sizes = array("d")
        self.conns = 0
        self.cur_bytes = 0
        self.bytes_out = 0
        self.bytes_in = 0
        self.sport = -1
        self.start_ts = ts
        self.conn_last = ts
        self.longest = 0.0
        self.last_fwd = ts
        self.sni_done = False
        self.isn = -1            # client / server initial sequence numbers (prefiltered reading only)
        self.risn = -1

    @property
    def key(self) -> PairKey:
        return (self.src, self.dst, self.dport, self.proto)

    def duration(self) -> float:
        """Longest single connection seen on this pair, including the one still open."""
        return max(self.longest, self.conn_last - self.start_ts)

    def connection_sizes(self) -> list[float]:
        """Bytes per connection, including the current one."""
        out = list(self.sizes)
        if self.conns:
            out.append(float(self.cur_bytes))
        return out


def ip_text(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


_PRIVATE_CACHE: dict[bytes, bool] = {}

#: Address ranges that can be on the practice side of the router (or never leave it). Deliberately
#: not ``not ip.is_global``: that also counts the documentation and benchmarking ranges
#: (192.0.2/24, 198.51.100/24, 203.0.113/24, 198.18/15) as "internal", which no LAN uses and which a
#: test network uses *as* its internet - traffic there must count as sent out.
_LAN_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "224.0.0.0/4", "0.0.0.0/8", "255.255.255.255/32",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"))


def is_internal(raw: bytes) -> bool:
    """True for addresses of the practice side: private (RFC 1918, CGNAT, ULA), loopback, link-local,
    multicast, unspecified/broadcast. Everything else counts as internet."""
    hit = _PRIVATE_CACHE.get(raw)
    if hit is None:
        ip = ipaddress.ip_address(raw)
        hit = any(ip in net for net in _LAN_NETS if net.version == ip.version)
        if len(_PRIVATE_CACHE) > 100_000:
            _PRIVATE_CACHE.clear()
        _PRIVATE_CACHE[raw] = hit
    return hit


@dataclass
class FlowStats:
    packets: int
    malformed: int
    other: int
    flows: int
    evicted: int
    pairs: int
    first_ts: float | None
    last_ts: float | None


class FlowTable:
    """Bounded table of host pairs fed frame by frame (see module docstring)."""

    def __init__(self, max_pairs: int = 100_000, ring: int = 512, udp_idle_s: float = 10.0,
                 max_names: int = 65_536,
                 on_start: Callable[[Pair, float], None] | None = None) -> None:
        self.max_pairs = max_pairs
        self.ring = ring
        self.udp_idle_s = udp_idle_s
        self.max_names = max_names
        self.on_start = on_start
        #: set by the prefiltered file reader, which hands on only SYN/FIN/RST, UDP and TLS hellos:
        #: bytes per connection then come from the TCP sequence numbers at FIN/RST
        self.seq_bytes = False
        self.pairs: dict[PairKey, Pair] = {}
        self.names: dict[bytes, str] = {}
        self.packets = 0
        self.malformed = 0
        self.other = 0
        self.flows = 0
        self.evicted = 0
        self.first_ts: float | None = None
        self.last_ts = 0.0

    # ------------------------------------------------------------------ hot path
    def feed(self, buf: Buffer, off: int, caplen: int, wirelen: int, ts: float, linktype: int) -> None:  # noqa: C901
        """Account one captured frame. Never raises on bad input; counts it instead."""
        self.packets += 1
        if ts > self.last_ts:
            self.last_ts = ts
            if self.first_ts is None:
                self.first_ts = ts
        end = off + caplen
        # fast path: untagged Ethernet, IPv4 without options, unfragmented TCP/UDP (one unpack)
        if linktype == 1 and caplen >= 48:
            et, vihl, totlen, frag, proto, src, dst, sport, dport = _FAST(buf, off)
            fast = et == 0x0800 and vihl == 0x45 and not frag & 0x1FFF and (proto == 6 or proto == 17)
        else:
            fast = False
        if fast:
            l4 = off + 34
            l4end = off + 14 + totlen
            if l4end > end:
                l4end = end
            if proto == 6:
                doff = (buf[off + 46] >> 4) << 2
                flags = buf[off + 47]
                if doff < 20 or l4 + doff > l4end:
                    self.malformed += 1
                    return
                payoff = l4 + doff
            else:
                if l4end - l4 < 8:
                    self.malformed += 1
                    return
                flags = 0
                payoff = l4 + 8
        else:
            try:
                if linktype == 1:
                    if caplen < 14:
                        self.malformed += 1
                        return
                    et = (buf[off + 12] << 8) | buf[off + 13]
                    p = off + 14
                    while et == 0x8100 or et == 0x88A8:
                        if end - p < 4:
                            self.malformed += 1
                            return
                        et = (buf[p + 2] << 8) | buf[p + 3]
                        p += 4
                elif linktype == 101 or linktype == 12 or linktype == 14:
                    p = off
                    et = 0x0800 if caplen and buf[p] >> 4 == 4 else 0x86DD
                elif linktype == 113:
                    if caplen < 16:
                        self.malformed += 1
                        return
                    et = (buf[off + 14] << 8) | buf[off + 15]
                    p = off + 16
                elif linktype == 276:
                    if caplen < 20:
                        self.malformed += 1
                        return
                    et = (buf[off] << 8) | buf[off + 1]
                    p = off + 20
                elif linktype == 0:
                    if caplen < 4:
                        self.malformed += 1
                        return
                    fam = _L(buf, off)[0]
                    et = 0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else 0
                    p = off + 4
                else:
                    self.other += 1
                    return

                if et == 0x0800:
                    if end - p < 20:
                        self.malformed += 1
                        return
                    vihl = buf[p]
                    ihl = (vihl & 15) << 2
                    totlen = (buf[p + 2] << 8) | buf[p + 3]
                    if vihl >> 4 != 4 or ihl < 20 or totlen < ihl or end - p < ihl:
                        self.malformed += 1
                        return
                    if ((buf[p + 6] & 0x1F) << 8) | buf[p + 7]:
                        self.other += 1          # non-first fragment: no L4 header
                        return
                    proto = buf[p + 9]
                    src = buf[p + 12:p + 16]
                    dst = buf[p + 16:p + 20]
                    l4 = p + ihl
                    l4end = p + totlen
                    if l4end > end:
                        l4end = end
                elif et == 0x86DD:
                    if end - p < 40 or buf[p] >> 4 != 6:
                        self.malformed += 1
                        return
                    proto = buf[p + 6]
                    src = buf[p + 8:p + 24]
                    dst = buf[p + 24:p + 40]
                    l4 = p + 40
                    l4end = l4 + ((buf[p + 4] << 8) | buf[p + 5])
                    if l4end > end:
                        l4end = end
                    hops = 0
                    while proto == 0 or proto == 43 or proto == 60:
                        if l4end - l4 < 8 or hops > 8:
                            self.malformed += 1
                            return
                        proto = buf[l4]
                        l4 += (buf[l4 + 1] + 1) << 3
                        hops += 1
                else:
                    self.other += 1
                    return

                if proto == 6:
                    if l4end - l4 < 20:
                        self.malformed += 1
                        return
                    sport, dport = _HH(buf, l4)
                    doff = (buf[l4 + 12] >> 4) << 2
                    flags = buf[l4 + 13]
                    if doff < 20 or l4 + doff > l4end:
                        self.malformed += 1
                        return
                    payoff = l4 + doff
                elif proto == 17:
                    if l4end - l4 < 8:
                        self.malformed += 1
                        return
                    sport, dport = _HH(buf, l4)
                    flags = 0
                    payoff = l4 + 8
                else:
                    self.other += 1
                    return
            except IndexError:
                self.malformed += 1
                return

        pairs = self.pairs
        pair = pairs.get((src, dst, dport, proto))
        if pair is not None:                       # client -> server
            pair.last = ts
            pair.bytes_out += wirelen
            if proto == 6:
                if flags & 0x12 == 0x02:
                    if sport != pair.sport or ts - pair.start_ts > 1.0:
                        self._start(pair, ts, sport, wirelen)
                        if self.seq_bytes:
                            pair.isn = _SEQ(buf, l4 + 4)[0]
                        return
                elif sport == pair.sport:
                    pair.conn_last = ts
                    if not pair.sni_done and l4end - payoff > 46 and buf[payoff] == 0x16:
                        self._sni(pair, buf, payoff, l4end - payoff)
                    if flags & 0x05 and self.seq_bytes and pair.isn >= 0:
                        sent = (_SEQ(buf, l4 + 4)[0] - pair.isn - 1) & 0xFFFFFFFF
                        pair.isn = -1
                        if sent < 1 << 31:
                            pair.cur_bytes += sent
                            pair.bytes_out += sent
            elif sport != pair.sport or ts - pair.last_fwd > self.udp_idle_s:
                pair.last_fwd = ts
                self._start(pair, ts, sport, wirelen)
                return
            else:
                pair.last_fwd = ts
                pair.conn_last = ts
            pair.cur_bytes += wirelen
            return
        pair = pairs.get((dst, src, sport, proto))
        if pair is not None:                       # server -> client
            pair.last = ts
            pair.bytes_in += wirelen
            pair.cur_bytes += wirelen
            if dport == pair.sport:
                pair.conn_last = ts
                if self.seq_bytes and proto == 6:
                    self._seq_in(pair, buf, l4, flags)
            if sport == 53 and proto == 17:
                self._dns(buf, payoff, l4end - payoff)
            return
        if proto == 6:
            if flags & 0x12 != 0x02:               # mid-stream or reply without a seen SYN
                return
        else:
            if sport == 53 or sport == 5353:
                self._dns(buf, payoff, l4end - payoff)
                return
            if sport < 1024 <= dport:              # an answer whose request we did not see
                return
        if len(pairs) >= self.max_pairs:
            self._evict()
        pair = Pair(src, dst, dport, proto, ts, self.names.get(dst))
        pairs[(src, dst, dport, proto)] = pair
        self._start(pair, ts, sport, wirelen)
        if self.seq_bytes and proto == 6:
            pair.isn = _SEQ(buf, l4 + 4)[0]

    # ------------------------------------------------------------------ slow paths
    def _start(self, pair: Pair, ts: float, sport: int, wirelen: int) -> None:
        """Record a connection start (TCP SYN or a new UDP flow)."""
        if pair.conns:
            pair.sizes.append(float(pair.cur_bytes))
            dur = pair.conn_last - pair.start_ts
            if dur > pair.longest:
                pair.longest = dur
        pair.cur_bytes = wirelen
        pair.conns += 1
        pair.sport = sport
        pair.start_ts = ts
        pair.conn_last = ts
        pair.last_fwd = ts
        pair.sni_done = False
        starts = pair.starts
        starts.append(ts)
        if len(starts) > self.ring + (self.ring >> 2):
            del starts[: len(starts) - self.ring]
            del pair.sizes[: max(0, len(pair.sizes) - self.ring)]
        self.flows += 1
        if self.on_start is not None:
            self.on_start(pair, ts)

    def _seq_in(self, pair: Pair, buf: Buffer, l4: int, flags: int) -> None:
        """Server side of a prefiltered connection: its ISN at SYN-ACK, the bytes it sent at FIN/RST."""
        seq = _SEQ(buf, l4 + 4)[0]
        if flags & 0x12 == 0x12:
            pair.risn = seq
        elif flags & 0x05 and pair.risn >= 0:
            sent = (seq - pair.risn - 1) & 0xFFFFFFFF
            pair.risn = -1
            if sent < 1 << 31:
                pair.cur_bytes += sent
                pair.bytes_in += sent

    def _sni(self, pair: Pair, buf: Buffer, off: int, length: int) -> None:
        pair.sni_done = True
        name = parse_sni(buf, off, length)
        if name:
            pair.name = name

    def _dns(self, buf: Buffer, off: int, length: int) -> None:
        try:
            parsed = parse_dns_answers(buf, off, length)
        except (IndexError, struct.error):
            return
        if parsed is None:
            return
        qname, addrs = parsed
        names = self.names
        if len(names) + len(addrs) > self.max_names:
            for k in list(itertools.islice(names, len(names) // 2)):
                del names[k]
        for a in addrs:
            names.pop(a, None)
            names[a] = qname

    def _evict(self) -> None:
        """Drop the least-recently-seen tenth of the pairs (amortised O(1) per insert)."""
        n = max(1, self.max_pairs // 10)
        victims = sorted(self.pairs.values(), key=lambda p: p.last)[:n]
        for v in victims:
            del self.pairs[v.key]
        self.evicted += len(victims)

    # ------------------------------------------------------------------ queries
    def __iter__(self) -> Iterator[Pair]:
        return iter(list(self.pairs.values()))

    def stats(self) -> FlowStats:
        return FlowStats(self.packets, self.malformed, self.other, self.flows, self.evicted,
                         len(self.pairs), self.first_ts, self.last_ts or None)

    def bytes_out_by_dst(self, src: bytes) -> list[dict[str, object]]:
        """What host ``src`` sent to internet destinations (not :func:`is_internal`): [{dst, name, bytes}]."""
        out: dict[bytes, dict[str, object]] = {}
        for pair in list(self.pairs.values()):
            if pair.src == src and not is_internal(pair.dst):
                row = out.setdefault(pair.dst, {"dst": ip_text(pair.dst), "name": pair.name, "bytes": 0})
                row["bytes"] = int(row["bytes"]) + pair.bytes_out  # type: ignore[call-overload]
                if pair.name and not row["name"]:
                    row["name"] = pair.name
        return sorted(out.values(), key=lambda r: -int(r["bytes"]))  # type: ignore[call-overload]
