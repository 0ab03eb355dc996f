"""keep-phones that holds: who must be blocked *now*, from the router's current host list.

The profile blocks every client at the router except the kept roles (phones), so that telephony
keeps working while PCs are off the internet. A list read once at service start misses a laptop
that joined after the panic and a PC that came back from sleep with a new lease. So the target set
is computed from the router's host list *as it is now*, at the panic and on every enforcement
pass, and matched by MAC:

* a client the router lists whose MAC is not kept -> blocked at its current IPv4 address;
* a kept device (a phone, by MAC; by IP only where the policy gives no MAC) is never blocked, even
  when it took over an address that was blocked before: that block is lifted;
* policy hosts with an address the router does not list (switched off) are blocked as before, so
  they cannot come back unblocked;
* the controller itself and the network gear are never blocked.

The block itself stays ``DisallowWANAccessByIP`` per address (the only per-host block TR-064 offers)
and is read back with ``GetWANAccessByIP``, never from the bulk host list, which lags 10-13 s behind
(home-assistant/core#160942).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notaus.controller.isolation_plan import safe_mac
from notaus.controller.results import Step
from notaus.drivers.base import DriverError, Host, Telephony

if TYPE_CHECKING:
    from notaus.controller.engine import Engine

#: roles that are never blocked whatever the profile keeps (the network itself and notaus)
INFRASTRUCTURE_ROLES = ("controller", "router", "switch")


@dataclass(frozen=True)
class Target:
    """One client to block: its name for people, its IPv4 address for the box, its MAC for matching."""

    name: str
    ip: str
    mac: str = ""


@dataclass(frozen=True)
class Kept:
    """What must never be blocked, by MAC first and by address where no MAC is known."""

    macs: frozenset[str]
    ips: frozenset[str]

    def holds(self, ip: str, mac: str) -> bool:
        return (bool(mac) and mac in self.macs) or ip in self.ips


def kept(engine: Engine, keep_roles: Iterable[str], *, router: str | None = None, keep_voip: bool = False) -> Kept:
    roles = set(keep_roles) | set(INFRASTRUCTURE_ROLES)
    policy, settings = engine.policy, engine.settings
    macs = {safe_mac(h.mac) for h in policy.hosts if h.mac and h.role in roles}
    ips = {h.ip for h in policy.hosts if h.ip and h.role in roles and not h.mac}
    if keep_voip and router is not None:
        # the box's registered VoIP clients, named in the policy or not (profile option keep_voip_clients)
        from notaus.controller.discover import voip_keep_set

        voip_ips, voip_macs = voip_keep_set(engine._router_hosts.get(router, []),
                                            engine._telephony.get(router, Telephony()).phones)
        macs |= voip_macs
        ips |= {ip for ip in voip_ips if ip}
    ips |= {d.address for d in policy.devices}
    if settings.mac:
        macs.add(safe_mac(settings.mac))
    if settings.ip:
        ips.add(settings.ip)
    # a device address is kept whatever MAC the router reports for it (the router itself, a switch)
    return Kept(frozenset(m for m in macs if m), frozenset(ips))


def targets(engine: Engine, keep_roles: Iterable[str], router_hosts: list[Host], *, router: str | None = None,
            keep_voip: bool = False) -> list[Target]:
    """Every client to block at this router now, sorted by address."""
    keep = kept(engine, keep_roles, router=router, keep_voip=keep_voip)
    gear = {d.address for d in engine.policy.devices} | ({engine.settings.ip} if engine.settings.ip else set())
    out: dict[str, Target] = {}
    listed_ips: dict[str, str] = {}
    for rh in router_hosts:
        if not rh.ip or not _ipv4(rh.ip):
            continue
        mac = safe_mac(rh.mac)
        listed_ips[rh.ip] = mac
        if rh.ip in gear or keep.holds(rh.ip, mac):
            continue
        out[rh.ip] = Target(rh.name or rh.ip, rh.ip, mac)
    by_mac = {safe_mac(h.mac): h for h in engine.policy.hosts if h.mac}
    for t in list(out.values()):   # the policy's name is what staff know the machine by
        known = by_mac.get(t.mac)
        if known is not None:
            out[t.ip] = Target(known.name, t.ip, t.mac)
    roles = set(keep_roles) | set(INFRASTRUCTURE_ROLES)
    for h in engine.policy.hosts:
        if not h.ip or h.role in roles or h.ip in out or not _ipv4(h.ip):
            continue
        holder = listed_ips.get(h.ip)
        if holder is not None and keep.holds(h.ip, holder):
            continue      # a kept device holds this address now
        if keep.holds(h.ip, safe_mac(h.mac)):
            continue      # kept by MAC (e.g. a registered VoIP client the policy gives another role)
        if holder is None or holder == safe_mac(h.mac) or not h.mac:
            out[h.ip] = Target(h.name, h.ip, safe_mac(h.mac))
    return sorted(out.values(), key=lambda t: ipaddress.ip_address(t.ip))


def current_hosts(engine: Engine, router: str) -> list[Host]:
    """The router's host list now; on failure the last one read (journaled by the caller's result)."""
    drv = engine.routers()[router]
    try:
        hosts = engine._call(router, drv.hosts)
    except DriverError:
        return engine._router_hosts.get(router, [])
    engine._router_hosts[router] = hosts
    return hosts


def refresh(engine: Engine) -> list[Step]:
    """While keep-phones is in force: add every newly seen client to the desired blocks.

    Returns the unblock steps for kept devices that now sit on a blocked address (their block is
    dropped from the desired state). New blocks are not returned: they become gaps that the normal
    enforcement pass re-applies and reads back.
    """
    desired = engine.state.desired()
    containment = desired.get("containment") or {}
    profile = engine.policy.profiles.get(str(containment.get("profile", "")))
    if profile is None or not profile.block_clients:
        return []
    added: list[dict[str, Any]] = []
    freed: list[Step] = []
    for router, drv in engine.routers().items():
        if not drv.supports("block_host"):
            continue
        hosts = current_hosts(engine, router)
        voip = profile.keep_voip_clients
        want = {t.ip: t for t in targets(engine, profile.keep_roles, hosts, router=router, keep_voip=voip)}
        keep = kept(engine, profile.keep_roles, router=router, keep_voip=voip)
        for ip, t in want.items():
            if ip not in desired["router_blocks"]:
                added.append({"router": router, "host": t.name, "ip": ip, "mac": t.mac})
        for rh in hosts:
            entry = desired["router_blocks"].get(rh.ip)
            if entry and entry.get("reason") == "panic" and entry.get("router") == router \
                    and keep.holds(rh.ip, safe_mac(rh.mac)):
                freed.append(Step(router, "unblock_host", rh.ip, host=rh.name or rh.ip))
    if not added and not freed:
        return []

    def change(d: dict[str, Any]) -> None:
        for a in added:
            d["router_blocks"].setdefault(a["ip"], {"router": a["router"], "host": a["host"], "mac": a["mac"],
                                                    "reason": "panic", "since": _now(), "joined": True})
        for st in freed:
            d["router_blocks"].pop(st.target, None)
    # journaled first, then the desired state changes (the engine's order for every action)
    engine.journal.append("keep_phones.refresh", {
        "added": added, "freed": [{"router": s.device, "ip": s.target, "host": s.host} for s in freed],
        "message": "new or re-addressed clients blocked; kept devices on a blocked address released"})
    engine.state.update(change)
    return freed


def _ipv4(ip: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address)
    except ValueError:
        return False


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------ IPv6
IPV6_ACTIVE_DE = ("{router}: IPv6 ist im Praxisnetz aktiv (Präfix {prefix}). Die Sperre einzelner Rechner "
                  "(keep-phones, Isolieren am Router) ist nur für IPv4 am Gerät geprüft; ob die FRITZ!Box auch deren "
                  "IPv6-Verkehr sperrt, kann notaus nicht prüfen. Sicher trennt das Profil „full“ – oder IPv6 in der "
                  "FRITZ!Box abschalten (Internet › Zugangsdaten › IPv6).")
IPV6_UNKNOWN_DE = ("{router}: ob IPv6 im Praxisnetz aktiv ist, ist nicht lesbar ({source}); die Sperre einzelner "
                   "Rechner ist nur für IPv4 geprüft.")
#: how long an IPv6 reading is reused (it changes with the provider's prefix, not by the minute)
IPV6_MAX_AGE = 60.0


def ipv6_state(engine: Engine, router: str) -> dict[str, Any] | None:
    """The router's IPv6-in-the-LAN reading (``None``: the driver cannot tell at all)."""
    import time

    drv = engine.routers()[router]
    read = getattr(drv, "ipv6_lan", None)
    if read is None:
        return None
    cache: dict[str, tuple[float, dict[str, Any]]] = engine.__dict__.setdefault("_ipv6_readings", {})
    hit = cache.get(router)
    if hit is not None and time.monotonic() - hit[0] <= IPV6_MAX_AGE:
        return hit[1]
    try:
        state: dict[str, Any] = engine._call(router, read)
    except DriverError as exc:
        state = {"active": None, "prefix": "", "source": f"read failed: {exc}"}
    cache[router] = (time.monotonic(), state)
    return state


def ipv6_unverified(engine: Engine) -> list[str]:
    """One plain sentence per router where a per-host block's effect on IPv6 cannot be verified."""
    notes = []
    for router, drv in engine.routers().items():
        if not drv.supports("block_host"):
            continue
        state = ipv6_state(engine, router)
        if state is None or state.get("active") is False:
            continue
        template = IPV6_ACTIVE_DE if state.get("active") else IPV6_UNKNOWN_DE
        notes.append(template.format(router=router, prefix=state.get("prefix") or "?",
                                     source=state.get("source", "")))
    return notes
