"""Driver interfaces by capability, not by vendor.

A driver talks to one kind of device and reports what the device says; it never plans, retries
across devices or decides whether something is "contained" — that is the engine's job. Each method
either returns what the device reported or raises a :class:`DriverError` subclass whose message a
person can act on. Methods a device cannot do raise :class:`NotSupported` (never silently nothing).

Typed results carry examples in their docstrings, so a reader sees what a real device returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

WanState = Literal["up", "down", "connecting", "unknown"]


# --------------------------------------------------------------------------------------- errors
class DriverError(Exception):
    """A device operation failed; ``str(err)`` is a sentence a person can act on."""

    kind: ClassVar[str] = "device_error"

    def __init__(self, message: str, *, device: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.device = device
        self.detail = detail


class Unreachable(DriverError):
    """No answer within the bounded time (cable, address, port, TR-064 switched off)."""

    kind = "unreachable"


class TimedOut(Unreachable):
    """The device did not answer within the driver's ``timeout`` (a hang: not retried, nothing runs on)."""

    kind = "timeout"


class AuthFailed(DriverError):
    """Wrong user name or password (HTTP 401, SSH auth, SNMP auth)."""

    kind = "auth_failed"


class NotPermitted(DriverError):
    """Credentials work but the user lacks the right (TR-064 fault 606, read-only community)."""

    kind = "not_permitted"


class NotSupported(DriverError):
    """This device or firmware cannot do the requested thing at all."""

    kind = "not_supported"


class NotFound(DriverError):
    """The device does not know the host/port/MAC asked for (TR-064 fault 714, unknown ifName)."""

    kind = "not_found"


class InvalidArgument(DriverError):
    """The device rejected the arguments (TR-064 fault 402): the same call will be rejected again."""

    kind = "invalid_argument"


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Host:
    """A client the router or switch knows.

    Example (FRITZ!Box ``Hosts1.X_AVM-DE_GetHostListPath``)::

        Host(ip="192.168.178.20", mac="AA:BB:CC:DD:EE:01", name="empfang-pc", active=True,
             interface="Ethernet")
    """

    ip: str
    mac: str
    name: str = ""
    active: bool = True
    interface: str = ""


@dataclass(frozen=True)
class Telephony:
    """What a router carries for the phones, for the "N numbers will drop" warning.

    Example::

        Telephony(numbers=["0301234567", "0301234568"], phones=["Empfang", "Sprechzimmer 1"])
    """

    numbers: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WlanNet:
    """One WLAN (``WLANConfigurationN`` on a FRITZ!Box).

    Example::

        WlanNet(index=3, ssid="Praxis-Gast", enabled=False, guest=True)
    """

    index: int
    ssid: str
    enabled: bool
    guest: bool = False


@dataclass(frozen=True)
class PortState:
    """One switch port as the switch reports it.

    Example (Linux bridge)::

        PortState(name="ws1", admin_up=False, oper_up=False, vlan=1, macs=["aa:bb:cc:dd:ee:01"])
    """

    name: str
    admin_up: bool
    oper_up: bool
    vlan: int | None = None
    macs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MacEntry:
    """One MAC address table entry.

    Example::

        MacEntry(mac="aa:bb:cc:dd:ee:01", port="ws1", vlan=1)
    """

    mac: str
    port: str
    vlan: int | None = None


# ------------------------------------------------------------------------------------ interfaces
class Driver(ABC):
    """Common part of every driver.

    ``open()`` is called once at start-up (connect, load descriptions, log in) so that nothing is
    discovered on the panic path; ``close()`` on shutdown. ``timeout`` bounds every single device
    call in seconds.
    """

    #: capability names this driver implements (see ``RouterDriver``/``SwitchDriver``)
    capabilities: ClassVar[frozenset[str]] = frozenset()
    role: ClassVar[Literal["router", "switch"]]
    #: where the device answers and how long one call may take (set per instance; the engine reads both
    #: for its fail-fast verdicts, so they are part of the contract)
    address: str = ""
    timeout: float = 5.0

    def __init__(self, name: str, address: str, *, port: int | None = None, user: str = "",
                 password: str = "", timeout: float = 5.0, options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.password = password
        self.timeout = timeout
        self.options: dict[str, Any] = dict(options or {})

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def open(self) -> None:
        """Connect and warm up; raise :class:`DriverError` with an actionable message."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions; default: nothing to release."""

    @abstractmethod
    def check(self) -> dict[str, Any]:
        """A read-only health probe: reachable, credentials work, rights sufficient.

        Returns facts like ``{"model": "FRITZ!Box 7590", "firmware": "154.07.29"}``; raises on
        failure. Must never change device state (used by the health job and ``notaus doctor``).
        """


class RouterDriver(Driver):
    """The practice router: WAN, per-host internet access, WLAN, host list, telephony.

    Capabilities: ``wan``, ``block_host``, ``wlan``, ``hosts``, ``telephony``.
    """

    role = "router"

    def wan_status(self) -> WanState:
        """The WAN connection state as the device reports it right now."""
        raise NotSupported(f"{self.name}: reading the internet connection is not possible on this router")

    def cut_wan(self) -> dict[str, Any]:
        """Disconnect the WAN so that it *stays* down.

        Returns what must be remembered to restore it exactly (e.g. ``{"trigger": "AlwaysOn"}``);
        the engine persists it and passes it back to :meth:`restore_wan`.
        """
        raise NotSupported(f"{self.name}: cutting the internet is not possible on this router")

    def wan_trigger(self) -> str:
        """What makes the WAN reconnect (FRITZ!Box: ``AlwaysOn``/``OnDemand``/``Manual``).

        Lets drift be seen *before* a rebooted router has dialled again: a cut WAN whose trigger is
        no longer ``Manual`` will come back by itself.
        """
        raise NotSupported(f"{self.name}: this router does not report its connection trigger")

    def restore_wan(self, memo: dict[str, Any] | None = None) -> None:
        raise NotSupported(f"{self.name}: restoring the internet is not possible on this router")

    def block_host(self, ip: str) -> None:
        raise NotSupported(f"{self.name}: blocking a single machine is not possible on this router")

    def unblock_host(self, ip: str) -> None:
        raise NotSupported(f"{self.name}: blocking a single machine is not possible on this router")

    def host_blocked(self, ip: str) -> bool:
        """Whether the device currently denies ``ip`` internet access (read back)."""
        raise NotSupported(f"{self.name}: blocking a single machine is not possible on this router")

    def wlan_status(self) -> list[WlanNet]:
        raise NotSupported(f"{self.name}: WLAN is not controllable on this router")

    def set_wlan(self, enabled: bool) -> None:
        """Switch every WLAN (guest network included) on or off."""
        raise NotSupported(f"{self.name}: WLAN is not controllable on this router")

    def hosts(self) -> list[Host]:
        raise NotSupported(f"{self.name}: this router does not list its hosts")

    def telephony(self) -> Telephony:
        return Telephony()


class SwitchDriver(Driver):
    """A managed switch: ports, quarantine VLAN, MAC table, uplinks.

    Capabilities: ``port``, ``vlan``, ``mac_table``, ``save``.
    Port names are the switch's own names (``Gi1/0/5``, ``5``, ``ws1``).
    """

    role = "switch"

    def ports(self) -> list[PortState]:
        raise NotSupported(f"{self.name}: reading port states is not possible on this switch")

    def port_down(self, port: str) -> None:
        raise NotSupported(f"{self.name}: shutting a port is not possible on this switch")

    def port_up(self, port: str) -> None:
        raise NotSupported(f"{self.name}: enabling a port is not possible on this switch")

    def set_port_vlan(self, port: str, vlan: int) -> None:
        """Make ``vlan`` the untagged/native VLAN of an access port."""
        raise NotSupported(f"{self.name}: moving a port to another VLAN is not possible on this switch")

    def port_vlan(self, port: str) -> int | None:
        """The port's access (untagged) VLAN now, or ``None`` if this switch does not say.

        Read before a VLAN move so that a release can put the port back exactly; drivers with a more
        exact per-port command override this.
        """
        return next((p.vlan for p in self.ports() if p.name == port), None)

    def port_state(self, port: str) -> PortState:
        """One port's state, for the read-back after a change; drivers override it with a cheaper read.

        Default: the port out of :meth:`ports`; :class:`NotFound` if the switch has no such port.
        """
        for state in self.ports():
            if state.name == port:
                return state
        raise NotFound(f"{self.name}: the switch has no port {port!r}", device=self.name)

    def mac_table(self) -> list[MacEntry]:
        raise NotSupported(f"{self.name}: reading the MAC address table is not possible on this switch")

    def save(self) -> None:
        """Persist the running configuration (only called where policy asks)."""
        raise NotSupported(f"{self.name}: saving the configuration is not possible on this switch")
