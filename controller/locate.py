"""Find the switch access port of a MAC address, and say why a port must never be shut.

Why pure logic: the engine calls this on the isolate path with drivers it already holds open; the
decision (which sighting is an access port, when to refuse) must be testable without devices and
must fail closed. A MAC is also *seen* on every uplink between it and the switch we ask, so a
sighting on an uplink, on a port with the router's or controller's MAC, or on a port with many
MACs (an unmanaged switch or a phone with PC port behind it) is not where to pull the plug; we keep
looking on other switches and otherwise refuse with the reason.

Texts are German (shown to practice staff); ``code`` fields are stable for programs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.base import DriverError, SwitchDriver
from drivers.mac import mac_or_raw

_norm = mac_or_raw   # the one normaliser (drivers.mac)


@dataclass(frozen=True)
class Sighting:
    """The MAC was seen at ``switch``/``port``; ``refused`` says why that is not an access port."""

    switch: str
    port: str
    vlan: int | None = None
    refused: str | None = None


@dataclass(frozen=True)
class Location:
    """Result of :func:`locate_mac`: an access port, or a refusal with the reason.

    Example::

        Location(mac="aa:bb:cc:00:00:01", switch="sw1", port="Gi1/0/5", vlan=1, code="found",
                 reason=None, sightings=[...], not_searched={"sw2": "keine Antwort ..."})
    """

    mac: str
    switch: str | None = None
    port: str | None = None
    vlan: int | None = None
    code: str = "found"          # found | not_found | only_uplinks | ambiguous
    reason: str | None = None
    sightings: list[Sighting] = field(default_factory=list)
    not_searched: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.switch is not None and self.port is not None

    def to_dict(self) -> dict[str, Any]:
        return {"mac": self.mac, "switch": self.switch, "port": self.port, "vlan": self.vlan, "code": self.code,
                "reason": self.reason, "not_searched": dict(self.not_searched),
                "sightings": [s.__dict__ for s in self.sightings]}


def port_guard(switch: str, port: str, *, uplinks: Collection[str] = (), macs_on_port: Collection[str] = (),
               router_macs: Collection[str] = (), controller_mac: str | None = None,
               controller_port: str | None = None, max_macs_access_port: int = 4) -> str | None:
    """Why ``switch``/``port`` must never be shut, or ``None`` if it looks like an access port.

    Fail closed: the caller passes what the switch reports on that port *now*; a port it could not
    read must be refused by the caller (see :func:`guard_from_driver`).
    """
    macs = {_norm(m) for m in macs_on_port}
    if port in set(uplinks):
        return f"Port {port} an {switch} ist als Uplink eingetragen und wird nie abgeschaltet."
    if controller_port and port == controller_port:
        return f"An Port {port} von {switch} hängt notaus selbst; er wird nie abgeschaltet."
    if controller_mac and _norm(controller_mac) in macs:
        return (f"Port {port} an {switch} führt die MAC von notaus selbst ({_norm(controller_mac)}); "
                "er wird nie abgeschaltet.")
    hit = sorted(macs & {_norm(m) for m in router_macs})
    if hit:
        return f"Port {port} an {switch} führt die MAC des Routers ({hit[0]}); das ist ein Uplink."
    if len(macs) > max_macs_access_port:
        return (f"An Port {port} von {switch} hängen {len(macs)} Geräte (mehr als {max_macs_access_port}); "
                "vermutlich ein weiterer Switch. Bitte den Port des Geräts selbst eintragen.")
    return None


def guard_from_driver(driver: SwitchDriver, port: str, *, router_macs: Collection[str] = (),
                      controller_mac: str | None = None, max_macs_access_port: int = 4) -> str | None:
    """:func:`port_guard` with the facts read from the switch now; unreadable means refused."""
    uplinks = list(driver.options.get("uplinks") or [])
    controller_port = driver.options.get("controller_port")
    if port in uplinks or (controller_port and port == controller_port):
        return port_guard(driver.name, port, uplinks=uplinks, controller_port=controller_port)
    try:
        table = driver.mac_table()
    except DriverError as exc:
        return (f"Die MAC-Tabelle von {driver.name} ist nicht lesbar ({exc}); ohne sie lässt sich nicht "
                f"ausschließen, dass Port {port} ein Uplink ist. Nichts wurde geändert.")
    return port_guard(driver.name, port, uplinks=uplinks, macs_on_port=[e.mac for e in table if e.port == port],
                      router_macs=router_macs, controller_mac=controller_mac, controller_port=controller_port,
                      max_macs_access_port=max_macs_access_port)


def locate_mac(mac: str, switches: Mapping[str, SwitchDriver], uplinks: Mapping[str, set[str]],
               router_macs: set[str], controller_mac: str | None, max_macs_access_port: int = 4,
               controller_ports: Mapping[str, str | None] | None = None) -> Location:
    """Search every switch's MAC table for ``mac`` and return its one access port or a refusal.

    One unreachable switch does not stop the search; it is listed in ``not_searched``.
    """
    target = _norm(mac)
    sightings: list[Sighting] = []
    not_searched: dict[str, str] = {}
    for name in sorted(switches):
        try:
            table = switches[name].mac_table()
        except DriverError as exc:
            not_searched[name] = str(exc)
            continue
        by_port: dict[str, set[str]] = {}
        for entry in table:
            by_port.setdefault(entry.port, set()).add(_norm(entry.mac))
        for entry in table:
            if _norm(entry.mac) != target:
                continue
            why = port_guard(name, entry.port, uplinks=uplinks.get(name, set()),
                             macs_on_port=by_port.get(entry.port, set()), router_macs=router_macs,
                             controller_mac=controller_mac,
                             controller_port=(controller_ports or {}).get(name),
                             max_macs_access_port=max_macs_access_port)
            sightings.append(Sighting(name, entry.port, entry.vlan, why))
    access = sorted({(s.switch, s.port) for s in sightings if s.refused is None})
    unsearched = ""
    if not_searched:
        unsearched = f" Nicht durchsucht (keine Antwort): {', '.join(sorted(not_searched))}."
    if len(access) == 1:
        sw, port = access[0]
        vlan = next(s.vlan for s in sightings if (s.switch, s.port) == (sw, port))
        return Location(target, sw, port, vlan, "found", None, sightings, not_searched)
    if len(access) > 1:
        where = ", ".join(f"{sw}/{p}" for sw, p in access)
        return Location(target, code="ambiguous", sightings=sightings, not_searched=not_searched,
                        reason=f"Die MAC {target} steht an mehreren Geräte-Ports ({where}); bitte Port in der "
                               f"Konfiguration eintragen.{unsearched}")
    if sightings:
        why = " ".join(s.refused or "" for s in sightings)
        return Location(target, code="only_uplinks", sightings=sightings, not_searched=not_searched,
                        reason=f"Die MAC {target} wurde nur an Ports gesehen, die nicht abgeschaltet werden "
                               f"dürfen: {why}{unsearched}")
    hint = ("Ist das Gerät eingeschaltet und hat es kürzlich Daten gesendet? MAC-Tabellen vergessen "
            "ruhende Geräte nach wenigen Minuten.")
    return Location(target, code="not_found", sightings=sightings, not_searched=not_searched,
                    reason=f"Die MAC {target} steht in keiner MAC-Tabelle. {hint}{unsearched}")
