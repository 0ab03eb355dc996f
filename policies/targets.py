"""``ADDRESS:PORT`` as the policy writes probe targets: one parser for the schema and the probe."""

from __future__ import annotations

import ipaddress


def parse_target(text: str, *, default_port: int | None = None) -> tuple[str, int]:
    """``"1.1.1.1:443"``, ``"[2606:4700::1111]:443"``, ``"9.9.9.9"`` (with ``default_port``) -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: IPv6 addresses are written [ADDRESS]:PORT")
        port_s = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_s = text.partition(":")
    else:
        host, port_s = text, ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: give an IP address (a name would need the DNS that may be cut)") from None
    if not port_s:
        if default_port is None:
            raise ValueError(f"{text!r}: give a port, e.g. {host}:443")
        return host, default_port
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise ValueError(f"{text!r}: port must be 1-65535")
    return host, int(port_s)
