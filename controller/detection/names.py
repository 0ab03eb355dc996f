"""Learn destination names from the few packets that carry them: DNS answers and TLS ClientHello SNI.

Small bounds-checked ``struct`` parsers: they run on a tiny fraction of packets, return ``None``/``[]``
on anything odd and never raise on hostile input, so a crafted packet cannot stop the capture.
"""

from __future__ import annotations

import mmap
import struct

Buffer = bytes | bytearray | memoryview | mmap.mmap

_H = struct.Struct("!H")
_DNS_HDR = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")


def _read_name(buf: Buffer, off: int, end: int, start: int) -> tuple[str, int] | None:
    """Decode a (possibly compressed) DNS name at ``off``; return (name, offset after it in place)."""
    labels: list[str] = []
    after = -1
    hops = 0
    while True:
        if off >= end or hops > 32:
            return None
        length = buf[off]
        if length == 0:
            off += 1
            break
        if length & 0xC0 == 0xC0:
            if off + 1 >= end:
                return None
            ptr = ((length & 0x3F) << 8) | buf[off + 1]
            if after < 0:
                after = off + 2
            off = start + ptr
            hops += 1
            continue
        if length & 0xC0 or off + 1 + length > end:
            return None
        labels.append(bytes(buf[off + 1: off + 1 + length]).decode("ascii", "replace"))
        off += 1 + length
        if len(labels) > 64:
            return None
    return ".".join(labels).lower(), (after if after >= 0 else off)


def parse_dns_answers(buf: Buffer, off: int, length: int) -> tuple[str, list[bytes]] | None:
    """From a DNS response, return (question name, [A/AAAA addresses as packed bytes]).

    The question name (not the final CNAME) is kept because it is what the software asked for;
    CDN aliases would otherwise hide a beacon's real destination.
    """
    end = off + length
    if length < 12:
        return None
    _id, flags, qd, an, _ns, _ar = _DNS_HDR.unpack_from(buf, off)
    if not flags & 0x8000 or flags & 0x000F or qd != 1 or an == 0 or an > 100:
        return None
    pos = off + 12
    q = _read_name(buf, pos, end, off)
    if q is None:
        return None
    qname, pos = q
    pos += 4
    addrs: list[bytes] = []
    for _ in range(an):
        n = _read_name(buf, pos, end, off)
        if n is None or n[1] + 10 > end:
            break
        pos = n[1]
        rtype, _cls, _ttl, rdlen = _RR.unpack_from(buf, pos)
        pos += 10
        if pos + rdlen > end:
            break
        if (rtype == 1 and rdlen == 4) or (rtype == 28 and rdlen == 16):
            addrs.append(bytes(buf[pos:pos + rdlen]))
        pos += rdlen
    if not qname or not addrs:
        return None
    return qname, addrs


def parse_sni(buf: Buffer, off: int, length: int) -> str | None:
    """Server name from a TLS ClientHello in the first client segment, else None."""
    end = off + length
    try:
        if length < 47 or buf[off] != 0x16 or buf[off + 5] != 0x01:
            return None
        pos = off + 5 + 4 + 2 + 32            # record hdr, handshake hdr, version, random
        pos += 1 + buf[pos]                     # session id
        if pos + 2 > end:
            return None
        pos += 2 + _H.unpack_from(buf, pos)[0]  # cipher suites
        if pos + 1 > end:
            return None
        pos += 1 + buf[pos]                     # compression methods
        if pos + 2 > end:
            return None
        ext_end = min(end, pos + 2 + _H.unpack_from(buf, pos)[0])
        pos += 2
        while pos + 4 <= ext_end:
            etype, elen = struct.unpack_from("!HH", buf, pos)
            pos += 4
            if etype == 0 and pos + 5 <= ext_end:
                if buf[pos + 2] != 0:
                    return None
                nlen = _H.unpack_from(buf, pos + 3)[0]
                if pos + 5 + nlen > ext_end or nlen == 0:
                    return None
                name = bytes(buf[pos + 5: pos + 5 + nlen]).decode("ascii", "replace").lower()
                return name.rstrip(".")
            pos += elen
    except (IndexError, struct.error):
        return None
    return None
