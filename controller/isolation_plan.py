"""Planning an isolation: who is HOST, may it be touched, and which device steps would isolate it.

HOST may be a configured name, an IP or a MAC; what the policy does not know is looked up in the
router's host list. Guards fail closed (protected roles, the controller, the network gear, uplinks
and ports carrying the router's or controller's MAC); the switch port is found in the switches'
MAC tables when the policy names none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notaus.controller.actions import Action, HostAddress, PortVlan, SwitchPort
from notaus.controller.host_identity import HostResolver, NotPracticeHost
from notaus.controller.locate import guard_from_driver, locate_mac
from notaus.controller.results import Step
from notaus.drivers.base import DriverError, Host, SwitchDriver
from notaus.drivers.mac import safe_mac
from notaus.policies.schema import HostEntry

if TYPE_CHECKING:
    from notaus.controller.engine import Engine


class Refused(Exception):
    """A guard said no; ``str()`` is the reason shown to the caller."""


class IsolationPlanner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def resolver(self) -> HostResolver:
        """The one host identity resolver (controller.host_identity) over the policy and router lists."""
        engine = self.engine
        return HostResolver(engine.policy,
                            lambda: [h for hosts in list(engine._router_hosts.values()) for h in hosts])

    def resolve_host(self, ident: str) -> HostEntry:
        """HOST = configured name, IP (v4, v6, IPv4-mapped) or MAC in any spelling; else :class:`Refused`."""
        try:
            return self.resolver().resolve(ident).as_entry()
        except NotPracticeHost as exc:
            raise Refused(str(exc)) from None

    def _router_host(self, ip: str | None = None, mac: str | None = None) -> Host | None:
        for hosts in self.engine._router_hosts.values():
            for h in hosts:
                if (ip and h.ip == ip) or (mac and safe_mac(h.mac) == mac):
                    return h
        return None

    def guard_host(self, host: HostEntry) -> None:
        """Fail closed: protected assets, the controller and the network gear are never isolated.

        Compared by resolved identity (host_identity), so no spelling of an address walks around it.
        """
        why = self.resolver().guard_reason(host)
        if why:
            raise Refused(why)

    def steps(self, host: HostEntry, method: str) -> tuple[list[Step], list[str]]:
        steps: list[Step] = []
        notes: list[str] = []
        if method in ("auto", "port", "vlan"):
            location, why = self._locate(host)
            if location is not None:
                sw, port = location
                dev = self.engine.policy.device(sw)
                if method == "vlan":
                    if dev.quarantine_vlan is None:
                        notes.append(f"{sw}: no quarantine_vlan configured")
                    else:
                        steps.append(Step.of(sw, Action.SET_VLAN, PortVlan(port, dev.quarantine_vlan), host=host.name))
                else:
                    steps.append(Step.of(sw, Action.PORT_DOWN, SwitchPort(port), host=host.name))
            elif why:
                notes.append(why)
        if method in ("auto", "router"):
            if host.ip:
                for name, drv in self.engine.routers().items():
                    if drv.supports("block_host"):
                        steps.append(Step.of(name, Action.BLOCK_HOST, HostAddress(host.ip), host=host.name))
                    else:
                        notes.append(f"{name}: this router cannot block a single machine – "
                                     "only a managed switch (or pulling the cable) can isolate it")
            else:
                notes.append("no IP address known: cannot block at the router")
        return steps, notes

    def _locate(self, host: HostEntry) -> tuple[tuple[str, str] | None, str]:
        """Configured port first; else search the switches' MAC tables. Guards read the switch live."""
        switches = self.engine.switches()
        if not switches:
            return None, "no switch configured: the machine can only be blocked at the router"
        if host.switch and host.port:
            why = self._port_guard(host.switch, host.port)
            return (None, why) if why else ((host.switch, host.port), "")
        if not host.mac:
            return None, "no MAC address known: cannot find the switch port"
        controller_ports = {d.name: d.controller_port for d in self.engine.policy.switches()}
        loc = locate_mac(host.mac, _Locked(self.engine, switches), self._uplinks(), self._router_macs(),
                         self.engine.settings.mac, controller_ports=controller_ports,
                         lang=self.engine.settings.language)
        if loc.switch and loc.port and loc.code == "found":
            why = self._port_guard(loc.switch, loc.port)
            return (None, why) if why else ((loc.switch, loc.port), "")
        extra = f" (not searched: {', '.join(f'{k}: {v}' for k, v in loc.not_searched.items())})" \
            if loc.not_searched and loc.code != "not_searched" else ""
        return None, (loc.reason or "MAC not found on any switch") + extra

    def _uplinks(self) -> dict[str, set[str]]:
        return {d.name: set(d.uplinks) for d in self.engine.policy.switches()}

    def _router_macs(self) -> set[str]:
        return {h.mac for h in self.engine.policy.hosts if h.mac and h.role == "router"}

    def _port_guard(self, switch: str, port: str) -> str:
        """Fail closed: uplinks, the controller's port, ports with the router's MAC or many MACs are never shut."""
        drv = self.engine.switches()[switch]
        try:
            why = self.engine._call(switch, lambda: guard_from_driver(drv, port, router_macs=self._router_macs(),
                                                               controller_mac=self.engine.settings.mac,
                                                               lang=self.engine.settings.language))
        except DriverError as exc:
            return f"{switch}: cannot check port {port} ({exc}); nothing was changed"
        return str(why or "")


class _Locked(dict[str, SwitchDriver]):
    """The switches, each wrapped so that locate's reads take the engine's per-device lock."""

    def __init__(self, engine: Engine, switches: dict[str, SwitchDriver]) -> None:
        super().__init__({name: _LockedSwitch(engine, drv) for name, drv in switches.items()})


class _LockedSwitch(SwitchDriver):
    def __init__(self, engine: Engine, drv: SwitchDriver) -> None:  # noqa: D107 - thin proxy
        self._engine, self._drv = engine, drv
        self.name, self.options = drv.name, drv.options

    def open(self) -> None:
        pass

    def check(self) -> dict[str, Any]:
        return dict(self._engine._call(self.name, self._drv.check))

    def mac_table(self) -> list[Any]:
        return list(self._engine._call(self.name, self._drv.mac_table))

    def ports(self) -> list[Any]:
        return list(self._engine._call(self.name, self._drv.ports))



def vlan_to_restore(engine: Engine, switch: str, port: str) -> tuple[int | None, str]:
    """The VLAN a release must put ``port`` back into, read *before* the move; ``(None, why)`` if unknown.

    Fail closed: a VLAN isolation whose way back is unknown would leave the PC quarantined after a
    "release", so the caller refuses the VLAN method unless the policy names the access VLAN
    (``options.access_vlan`` of the switch) to restore instead.
    """
    drv = engine.switches()[switch]
    try:
        vlan = engine._call(switch, lambda: drv.port_vlan(port))
    except DriverError as exc:
        vlan, err = None, str(exc)
    else:
        err = ""
    if isinstance(vlan, int):
        return vlan, ""
    configured = engine.policy.device(switch).options.get("access_vlan")
    if isinstance(configured, int) and 1 <= configured <= 4094:
        return configured, ""
    reason = f"reading it failed: {err}" if err else "this switch does not report a port's VLAN"
    return None, (f"{switch}: the VLAN of port {port} cannot be known ({reason}), so a VLAN isolation could "
                  f"not be undone exactly; use method 'port', or set options.access_vlan for {switch} in the "
                  "policy (the VLAN release restores)")
