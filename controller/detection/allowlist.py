"""Legitimate periodic traffic of a practice, and matching a finding against it.

A practice is full of honest beacons: NTP, DNS to the router, SIP REGISTER from the phones,
TI-Konnektor heartbeats and update checks. They stay visible (reported with their score) but
are marked ``allowed`` so nobody is isolated for keeping the clock right.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from notaus.policies.schema import AllowEntry, Policy

_LAN_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10")

_UPDATE_NAMES = (
    # Windows / Microsoft
    "*.windowsupdate.com", "windowsupdate.com", "*.update.microsoft.com", "*.microsoft.com", "microsoft.com",
    "*.windows.com", "*.msftconnecttest.com", "*.delivery.mp.microsoft.com",
    # antivirus vendors common in practices
    "*.avast.com", "*.avcdn.net", "*.avg.com", "*.eset.com", "*.kaspersky.com", "*.kaspersky-labs.com",
    "*.sophos.com", "*.sophosupd.com", "*.gdata.de", "*.bitdefender.com", "*.bitdefender.net",
    "*.symantec.com", "*.norton.com", "*.trendmicro.com", "*.mcafee.com",
    # other OS updates
    "*.apple.com", "*.ubuntu.com", "*.debian.org", "*.mozilla.org", "*.mozilla.net",
)


def default_allowlist() -> list[AllowEntry]:
    """The practice defaults; policy entries (``policy.detection.allowlist``) are added to these."""
    entries = [
        AllowEntry(name="NTP", dst_port=123, proto="udp"),
        AllowEntry(name="SIP-Registrierung Telefon", dst_port=5060, proto="udp", src_role="phone"),
        AllowEntry(name="SIP-Registrierung Telefon (TCP)", dst_port=5060, proto="tcp", src_role="phone"),
        AllowEntry(name="SIP-Registrierung Telefon (TLS)", dst_port=5061, proto="tcp", src_role="phone"),
        AllowEntry(name="TI-Konnektor Heartbeat", src_role="ti-konnektor"),
    ]
    for net in _LAN_NETS:
        entries.append(AllowEntry(name="DNS zum Router/LAN-Resolver", dst_port=53, proto="udp", dst=net))
        entries.append(AllowEntry(name="DNS zum Router/LAN-Resolver", dst_port=53, proto="tcp", dst=net))
    entries.extend(AllowEntry(name="Update-Prüfung", dst_name=n) for n in _UPDATE_NAMES)
    return entries


@dataclass(frozen=True)
class _Compiled:
    entry: AllowEntry
    net: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    pattern: str | None


class Allowlist:
    """Compiled allowlist plus the IP -> role map from the policy's hosts; swappable at run time."""

    def __init__(self, entries: Iterable[AllowEntry] = (), roles: dict[str, str] | None = None) -> None:
        self.roles: dict[str, str] = dict(roles or {})
        self._entries: list[_Compiled] = []
        self.replace(entries)

    @classmethod
    def from_policy(cls, policy: Policy | None, include_defaults: bool = True) -> Allowlist:
        entries = default_allowlist() if include_defaults else []
        roles: dict[str, str] = {}
        if policy is not None:
            entries += list(policy.detection.allowlist)
            roles = {h.ip: h.role for h in policy.hosts if h.ip}
        return cls(entries, roles)

    def replace(self, entries: Iterable[AllowEntry]) -> None:
        """Swap in a new list (run-time edit); invalid CIDRs raise ValueError naming the entry."""
        compiled = []
        for e in entries:
            net = None
            if e.dst:
                try:
                    net = ipaddress.ip_network(e.dst, strict=False)
                except ValueError:
                    raise ValueError(f"Freigabe {e.name or e}: {e.dst!r} ist keine IP-Adresse oder Netz "
                                     f"(z. B. 192.168.178.0/24).") from None
            compiled.append(_Compiled(e, net, e.dst_name.lower() if e.dst_name else None))
        self._entries = compiled

    @property
    def entries(self) -> list[AllowEntry]:
        return [c.entry for c in self._entries]

    def match(self, src: str, dst: str, dst_port: int, proto: str, name: str | None) -> AllowEntry | None:
        """First entry whose given fields all match this pair (unspecified fields match anything)."""
        role = self.roles.get(src)
        dst_ip = None
        for c in self._entries:
            e = c.entry
            if e.dst_port is not None and e.dst_port != dst_port:
                continue
            if e.proto is not None and e.proto != proto:
                continue
            if e.src_role is not None and e.src_role != role:
                continue
            if c.net is not None:
                if dst_ip is None:
                    try:
                        dst_ip = ipaddress.ip_address(dst)
                    except ValueError:
                        continue
                if dst_ip.version != c.net.version or dst_ip not in c.net:
                    continue
            if c.pattern is not None and not (name and fnmatch.fnmatchcase(name.lower(), c.pattern)):
                continue
            return e
        return None
