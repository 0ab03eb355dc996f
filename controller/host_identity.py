"""One identity for every host: any spelling of an address resolves to a practice host or is refused.

Guards that compare strings can be walked around: ``::ffff:192.168.178.50`` (an IPv4-mapped IPv6
address), ``AA-BB-CC-DD-EE-50`` or ``TI-Konnektor`` name the same machine as ``192.168.178.50``,
``aa:bb:cc:dd:ee:50`` and ``ti-konnektor``. :class:`HostResolver` turns every spelling into one
canonical form (IPv4 dotted quad for IPv4 and IPv4-mapped IPv6, compressed lower-case IPv6, MAC as
``aa:bb:cc:dd:ee:ff``, names compared case-insensitively) and answers with the practice host it is:

* a host of the policy (by name, IP or MAC),
* a client in a router's host list (by name, IP or MAC),
* an unlisted IPv4 address inside the practice LAN (the /24 around the controller and the routers);
  an unlisted MAC, which only a switch's MAC table can then locate.

Everything else is :class:`NotPracticeHost` - the caller answers 4xx and nothing becomes desired
state: public addresses (``8.8.8.8``), ``0.0.0.0``, ``::1``, broadcast, multicast, link-local,
the LAN's own network and broadcast address, a broadcast/multicast/zero MAC, unknown names.

:func:`is_guarded` is the single check every guard uses (agent gate, engine): protected policy
hosts, the controller itself and the network devices notaus drives, compared by resolved identity.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from notaus.drivers.base import Host
from notaus.policies.schema import HostEntry, Policy, normalize_mac

#: a host identifier longer than this is not a host (keeps journal entries and error texts small)
MAX_IDENT = 200


class NotPracticeHost(ValueError):
    """The identifier does not name a host of this practice; ``str()`` says why (shown to the caller)."""


def canonical_ip(text: str) -> str | None:
    """``'::FFFF:192.168.178.5'`` -> ``'192.168.178.5'``; ``'FE80::1%eth0'`` -> ``'fe80::1'``; not an IP -> None."""
    value = text.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.partition("%")[0]          # an IPv6 zone id does not change the host
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def canonical_mac(text: str | None) -> str | None:
    """Any MAC notation (colon, dash, Cisco dots, bare, any case) -> ``aa:bb:cc:dd:ee:ff``; else None."""
    if not text:
        return None
    try:
        return normalize_mac(text.strip())
    except ValueError:
        return None


def _fold(name: str | None) -> str:
    return (name or "").strip().casefold()


@dataclass(frozen=True)
class HostIdentity:
    """A resolved practice host; ``entry`` is the policy's entry when the policy knows it."""

    name: str
    ip: str | None
    mac: str | None
    source: str                      # "policy" | "router" | "lan" | "mac"
    entry: HostEntry | None = None

    def as_entry(self) -> HostEntry:
        """The policy entry completed with what the router knows, or a fresh entry for others."""
        if self.entry is not None:
            update: dict[str, str] = {}
            if not self.entry.ip and self.ip:
                update["ip"] = self.ip
            if not self.entry.mac and self.mac:
                update["mac"] = self.mac
            return self.entry.model_copy(update=update) if update else self.entry
        return HostEntry(name=self.name, ip=self.ip, mac=self.mac)


class HostResolver:
    """Resolves identifiers against the policy and the routers' host lists (read through ``router_hosts``)."""

    def __init__(self, policy: Policy, router_hosts: Callable[[], Iterable[Host]] | None = None) -> None:
        self.policy = policy
        self._router_hosts = router_hosts or (lambda: ())

    # ------------------------------------------------------------------ the practice LAN
    def lan_networks(self) -> list[ipaddress.IPv4Network]:
        """The /24 networks of the controller, the routers and the policy's hosts (private IPv4 only)."""
        seeds = [self.policy.controller.ip, *(d.address for d in self.policy.routers()),
                 *(h.ip for h in self.policy.hosts)]
        nets: list[ipaddress.IPv4Network] = []
        for seed in seeds:
            ip = canonical_ip(seed or "")
            if ip is None:
                continue
            addr = ipaddress.ip_address(ip)
            if isinstance(addr, ipaddress.IPv4Address) and addr.is_private and not (
                    addr.is_loopback or addr.is_link_local or addr.is_unspecified):
                net = ipaddress.IPv4Network(f"{addr}/24", strict=False)
                if net not in nets:
                    nets.append(net)
        return nets

    def _in_lan(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        if not isinstance(addr, ipaddress.IPv4Address):
            return False
        for net in self.lan_networks():
            if addr in net and addr not in (net.network_address, net.broadcast_address):
                return True
        return False

    # ------------------------------------------------------------------ lookups
    def _router_list(self) -> list[Host]:
        try:
            return list(self._router_hosts())
        except Exception:  # noqa: BLE001 - a router list we cannot read means: only the policy counts
            return []

    def _policy_by(self, *, ip: str | None = None, mac: str | None = None, name: str = "") -> HostEntry | None:
        for h in self.policy.hosts:
            if name and _fold(h.name) == name:
                return h
            if ip and h.ip and canonical_ip(h.ip) == ip:
                return h
            if mac and h.mac and h.mac == mac:
                return h
        return None

    def _router_by(self, *, ip: str | None = None, mac: str | None = None, name: str = "") -> Host | None:
        for h in self._router_list():
            if name and _fold(h.name) == name:
                return h
            if ip and h.ip and canonical_ip(h.ip) == ip:
                return h
            if mac and canonical_mac(h.mac) == mac:
                return h
        return None

    def resolve(self, ident: str) -> HostIdentity:
        """The practice host ``ident`` names, or :class:`NotPracticeHost` with the reason."""
        text = (ident or "").strip()
        if not text:
            raise NotPracticeHost("no host given")
        if len(text) > MAX_IDENT or any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise NotPracticeHost("this is not a host name, IP or MAC address")
        ip = canonical_ip(text)
        mac = None if ip is not None else canonical_mac(text)
        name = _fold(text) if ip is None and mac is None else ""
        if ip is not None:
            _refuse_special_ip(text, ip)
        if mac is not None:
            _refuse_special_mac(text, mac)
        entry = self._policy_by(ip=ip, mac=mac, name=name)
        rh = self._router_by(ip=ip or (canonical_ip(entry.ip) if entry and entry.ip else None),
                             mac=mac or (entry.mac if entry else None), name=name if entry is None else "")
        if entry is not None:
            return HostIdentity(entry.name, canonical_ip(entry.ip) if entry.ip else
                                (canonical_ip(rh.ip) if rh and rh.ip else None),
                                entry.mac or (canonical_mac(rh.mac) if rh else None), "policy", entry)
        if rh is not None:
            rip = canonical_ip(rh.ip) if rh.ip else None
            # a router entry that spells a policy host's address is that policy host
            again = self._policy_by(ip=rip, mac=canonical_mac(rh.mac))
            if again is not None:
                return HostIdentity(again.name, canonical_ip(again.ip) if again.ip else rip,
                                    again.mac or canonical_mac(rh.mac), "policy", again)
            return HostIdentity(rh.name or rip or text, rip or ip, canonical_mac(rh.mac) or mac, "router")
        if ip is not None:
            if self._in_lan(ip):
                return HostIdentity(ip, ip, None, "lan")
            raise NotPracticeHost(f"{text} is not a host of this practice (not in the policy, not in the "
                                  "router's host list, not in the practice network)")
        if mac is not None:
            return HostIdentity(mac, None, mac, "mac")
        raise NotPracticeHost(f"unknown host {text!r}: not in the policy and not in the router's host list")

    # ------------------------------------------------------------------ guards
    def guard_reason(self, host: HostIdentity | HostEntry) -> str | None:
        """Why ``host`` may never be isolated (protected, the controller, a network device), else None."""
        ip = canonical_ip(host.ip) if host.ip else None
        mac = canonical_mac(host.mac)
        entry = host.entry if isinstance(host, HostIdentity) else host
        if entry is not None and self.policy.is_protected(entry):
            return f"{entry.name} is protected (role {entry.role}) and is never isolated by notaus"
        for h in self.policy.hosts:
            if not self.policy.is_protected(h):
                continue
            if (ip and h.ip and canonical_ip(h.ip) == ip) or (mac and h.mac and h.mac == mac):
                return f"{host.name} is {h.name}, protected (role {h.role}); notaus never isolates it"
        c = self.policy.controller
        if (ip and c.ip and canonical_ip(c.ip) == ip) or (mac and c.mac and c.mac == mac):
            return f"{host.name} is the notaus controller itself"
        for d in self.policy.devices:
            if ip and canonical_ip(d.address) == ip:
                return f"{host.name} is {d.name}, a network device notaus drives (router/switch)"
        return None


def _refuse_special_ip(text: str, ip: str) -> None:
    addr = ipaddress.ip_address(ip)
    if addr.is_unspecified or addr.is_loopback or addr.is_multicast or addr.is_link_local or addr.is_reserved \
            or (isinstance(addr, ipaddress.IPv4Address) and addr == ipaddress.IPv4Address("255.255.255.255")):
        raise NotPracticeHost(f"{text} is a special address (unspecified, loopback, broadcast, multicast or "
                              "link-local), not a machine of the practice")


def _refuse_special_mac(text: str, mac: str) -> None:
    first = int(mac[:2], 16)
    if mac == "00:00:00:00:00:00" or first & 1:
        raise NotPracticeHost(f"{text} is a broadcast, multicast or empty MAC address, not a machine of the practice")


__all__ = ["HostIdentity", "HostResolver", "NotPracticeHost", "canonical_ip", "canonical_mac"]
