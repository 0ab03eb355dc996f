"""Find the switch access port of a MAC address, and say why a port must never be shut.

Why pure logic: the engine calls this on the isolate path with drivers it already holds open; the
decision (which sighting is an access port, when to refuse) must be testable without devices and
must fail closed. A MAC is also *seen* on every uplink between it and the switch we ask, so a
sighting on an uplink, on a port with the router's or controller's MAC, or on a port with many
MACs (an unmanaged switch or a phone with PC port behind it) is not where to pull the plug; we keep
looking on other switches and otherwise refuse with the reason.

Texts follow the policy's ``language`` (German by default, shown to practice staff); ``code`` fields
are stable for programs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from notaus.drivers.base import DriverError, SwitchDriver
from notaus.drivers.mac import mac_or_raw

_TEXTS: dict[str, tuple[str, str]] = {
    "uplink": ("Port {port} an {switch} ist als Uplink eingetragen und wird nie abgeschaltet.",
               "Port {port} on {switch} is configured as an uplink and is never shut."),
    "controller_port": ("An Port {port} von {switch} hängt notaus selbst; er wird nie abgeschaltet.",
                        "notaus itself is connected to port {port} of {switch}; it is never shut."),
    "controller_mac": ("Port {port} an {switch} führt die MAC von notaus selbst ({mac}); er wird nie abgeschaltet.",
                       "Port {port} on {switch} carries notaus' own MAC ({mac}); it is never shut."),
    "router_mac": ("Port {port} an {switch} führt die MAC des Routers ({mac}); das ist ein Uplink.",
                   "Port {port} on {switch} carries the router's MAC ({mac}); it is an uplink."),
    "many_macs": ("An Port {port} von {switch} hängen {n} Geräte (mehr als {max}); vermutlich ein weiterer "
                  "Switch. Bitte den Port des Geräts selbst eintragen.",
                  "{n} devices are behind port {port} of {switch} (more than {max}); probably another switch. "
                  "Please configure the device's own port."),
    "table_unreadable": ("Die MAC-Tabelle von {switch} ist nicht lesbar ({error}); ohne sie lässt sich nicht "
                         "ausschließen, dass Port {port} ein Uplink ist. Nichts wurde geändert.",
                         "The MAC address table of {switch} cannot be read ({error}); without it port {port} "
                         "cannot be ruled out as an uplink. Nothing was changed."),
    "table_empty": ("Die MAC-Tabelle von {switch} ist leer oder wurde nicht verstanden (falscher device_type?); "
                    "ohne sie lässt sich nicht ausschließen, dass Port {port} ein Uplink ist. Nichts wurde geändert.",
                    "The MAC address table of {switch} is empty or was not understood (wrong device_type?); "
                    "without it port {port} cannot be ruled out as an uplink. Nothing was changed."),
    "empty_table": ("MAC-Tabelle leer oder nicht verstanden (falscher device_type?)",
                    "MAC address table empty or not understood (wrong device_type?)"),
    "unsearched": (" Nicht durchsucht (keine Antwort): {names}.", " Not searched (no answer): {names}."),
    "ambiguous": ("Die MAC {mac} steht an mehreren Geräte-Ports ({where}); bitte Port in der Konfiguration "
                  "eintragen.{unsearched}",
                  "The MAC {mac} is on several device ports ({where}); please configure the port.{unsearched}"),
    "only_uplinks": ("Die MAC {mac} wurde nur an Ports gesehen, die nicht abgeschaltet werden dürfen: "
                     "{why}{unsearched}",
                     "The MAC {mac} was only seen on ports that must never be shut: {why}{unsearched}"),
    "not_found": ("Die MAC {mac} steht in keiner MAC-Tabelle. Ist das Gerät eingeschaltet und hat es kürzlich "
                  "Daten gesendet? MAC-Tabellen vergessen ruhende Geräte nach wenigen Minuten.{unsearched}",
                  "The MAC {mac} is in no MAC address table. Is the device switched on and has it sent data "
                  "recently? MAC tables forget idle devices after a few minutes.{unsearched}"),
    "none_searched": ("Kein Switch konnte durchsucht werden, der Ort der MAC {mac} ist unbekannt: {why}",
                      "No switch could be searched, so where MAC {mac} is remains unknown: {why}"),
}


def _t(key: str, lang: str, **values: object) -> str:
    de, en = _TEXTS[key]
    return (en if lang == "en" else de).format(**values)


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
    code: str = "found"          # found | not_found | only_uplinks | ambiguous | not_searched
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
               controller_port: str | None = None, max_macs_access_port: int = 4, lang: str = "de") -> str | None:
    """Why ``switch``/``port`` must never be shut, or ``None`` if it looks like an access port.

    Fail closed: the caller passes what the switch reports on that port *now*; a port it could not
    read must be refused by the caller (see :func:`guard_from_driver`).
    """
    macs = {_norm(m) for m in macs_on_port}
    if port in set(uplinks):
        return _t("uplink", lang, port=port, switch=switch)
    if controller_port and port == controller_port:
        return _t("controller_port", lang, port=port, switch=switch)
    if controller_mac and _norm(controller_mac) in macs:
        return _t("controller_mac", lang, port=port, switch=switch, mac=_norm(controller_mac))
    hit = sorted(macs & {_norm(m) for m in router_macs})
    if hit:
        return _t("router_mac", lang, port=port, switch=switch, mac=hit[0])
    if len(macs) > max_macs_access_port:
        return _t("many_macs", lang, port=port, switch=switch, n=len(macs), max=max_macs_access_port)
    return None


def guard_from_driver(driver: SwitchDriver, port: str, *, router_macs: Collection[str] = (),
                      controller_mac: str | None = None, max_macs_access_port: int = 4,
                      lang: str = "de") -> str | None:
    """:func:`port_guard` with the facts read from the switch now; unreadable or empty means refused.

    An empty MAC table is not "no MACs on this port": a switch with a live uplink always has entries,
    so an empty table means it was not understood (wrong device_type) or not readable - fail closed.
    """
    uplinks = list(driver.options.get("uplinks") or [])
    controller_port = driver.options.get("controller_port")
    if port in uplinks or (controller_port and port == controller_port):
        return port_guard(driver.name, port, uplinks=uplinks, controller_port=controller_port, lang=lang)
    try:
        table = driver.mac_table()
    except DriverError as exc:
        return _t("table_unreadable", lang, switch=driver.name, error=exc, port=port)
    if not table:
        return _t("table_empty", lang, switch=driver.name, port=port)
    return port_guard(driver.name, port, uplinks=uplinks, macs_on_port=[e.mac for e in table if e.port == port],
                      router_macs=router_macs, controller_mac=controller_mac, controller_port=controller_port,
                      max_macs_access_port=max_macs_access_port, lang=lang)


def locate_mac(mac: str, switches: Mapping[str, SwitchDriver], uplinks: Mapping[str, set[str]],
               router_macs: set[str], controller_mac: str | None, max_macs_access_port: int = 4,
               controller_ports: Mapping[str, str | None] | None = None, lang: str = "de") -> Location:
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
        if not table:   # fail closed: an empty table cannot vouch that the MAC is not behind this switch
            not_searched[name] = _t("empty_table", lang)
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
                             max_macs_access_port=max_macs_access_port, lang=lang)
            sightings.append(Sighting(name, entry.port, entry.vlan, why))
    access = sorted({(s.switch, s.port) for s in sightings if s.refused is None})
    unsearched = _t("unsearched", lang, names=", ".join(sorted(not_searched))) if not_searched else ""
    if len(access) == 1:
        sw, port = access[0]
        vlan = next(s.vlan for s in sightings if (s.switch, s.port) == (sw, port))
        return Location(target, sw, port, vlan, "found", None, sightings, not_searched)
    if len(access) > 1:
        where = ", ".join(f"{sw}/{p}" for sw, p in access)
        return Location(target, code="ambiguous", sightings=sightings, not_searched=not_searched,
                        reason=_t("ambiguous", lang, mac=target, where=where, unsearched=unsearched))
    if sightings:
        why = " ".join(s.refused or "" for s in sightings)
        return Location(target, code="only_uplinks", sightings=sightings, not_searched=not_searched,
                        reason=_t("only_uplinks", lang, mac=target, why=why, unsearched=unsearched))
    if switches and len(not_searched) == len(switches):
        why = "; ".join(f"{k}: {v}" for k, v in sorted(not_searched.items()))
        return Location(target, code="not_searched", sightings=sightings, not_searched=not_searched,
                        reason=_t("none_searched", lang, mac=target, why=why))
    return Location(target, code="not_found", sightings=sightings, not_searched=not_searched,
                    reason=_t("not_found", lang, mac=target, unsearched=unsearched))
