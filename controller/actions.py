"""Every device action the engine knows, each spelled out exactly once.

One :class:`ActionSpec` per :class:`Action` says

* **act** – the one driver call that makes it so,
* **verify** – the read-back that confirms it (the engine polls it until ``verify_timeout``),
* **inverse** – the action that undoes it (release and restore build their steps from it),
* **fact** – the desired fact it holds and how an observation (``controller.observe``) confirms it;
  ``find_gaps`` asks the fact, enforcement re-applies the step.

The engine (``Engine._make_call``), gap-finding, release and restore read this table; adding an
action means adding one entry here and the driver method it calls.

A step's target is typed by the action: nothing (whole device), a host address, a switch port, or a
port and the VLAN to put it in. :func:`parse_target` reads the string form ``Step.target`` keeps for
the journal and the API (``""``, ``"192.168.178.20"``, ``"Gi1/0/5"``, ``"Gi1/0/5@999"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from notaus.drivers.base import Driver, NotFound, RouterDriver, SwitchDriver


class Action(StrEnum):
    """A device action; the value is what the journal, the API and the desired state spell."""

    CUT_WAN = "cut_wan"
    RESTORE_WAN = "restore_wan"
    WLAN_OFF = "wlan_off"
    WLAN_ON = "wlan_on"
    BLOCK_HOST = "block_host"
    UNBLOCK_HOST = "unblock_host"
    PORT_DOWN = "port_down"
    PORT_UP = "port_up"
    SET_VLAN = "set_vlan"


# ---------------------------------------------------------------------------- typed targets
@dataclass(frozen=True)
class WholeDevice:
    """The action concerns the whole device (its WAN, its WLAN)."""

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True)
class HostAddress:
    """A client the router blocks or lets through, by IP address."""

    ip: str

    def __str__(self) -> str:
        return self.ip


@dataclass(frozen=True)
class SwitchPort:
    """A switch port, by the name the switch reports."""

    port: str

    def __str__(self) -> str:
        return self.port


@dataclass(frozen=True)
class PortVlan:
    """A switch port and the VLAN to put it in (``"port@vlan"`` in its string form)."""

    port: str
    vlan: int

    def __str__(self) -> str:
        return f"{self.port}@{self.vlan}"


Target = WholeDevice | HostAddress | SwitchPort | PortVlan


def parse_target(action: str, target: str) -> Target:
    """The typed target of ``action`` from its string form; ``ValueError`` on a malformed one."""
    kind = spec(action).target
    if kind is WholeDevice:
        return WholeDevice()
    if kind is HostAddress:
        return HostAddress(target)
    if kind is SwitchPort:
        return SwitchPort(target)
    port, sep, vlan = target.partition("@")
    if not sep or not port:
        raise ValueError(f"{action} needs a target 'port@vlan', got {target!r}")
    return PortVlan(port, int(vlan))


def port_of(action: str, target: str) -> str:
    """The switch port a step touches (``""`` for router actions): the key release matches on."""
    typed = parse_target(action, target)
    return typed.port if isinstance(typed, SwitchPort | PortVlan) else ""


def subject(action: str, target: str) -> str:
    """What a step is about, whatever it does to it: the port of a switch step (a VLAN move and its way
    back touch the same port), the address of a host step, ``""`` for the whole device."""
    typed = parse_target(action, target)
    return typed.port if isinstance(typed, SwitchPort | PortVlan) else str(typed)


def undo(action: str, target: str, previous_vlan: int | None = None) -> tuple[Action, str]:
    """The inverse action and its target, for release and restore.

    A VLAN move goes back to ``previous_vlan`` (the VLAN the port had before); without it the way back
    is unknown and ``LookupError`` says so, so a caller never strands a PC in the quarantine VLAN.
    """
    sp = spec(action)
    if sp.target is PortVlan:
        if not previous_vlan:
            raise LookupError(f"the VLAN port {subject(action, target)} had before is unknown")
        return sp.inverse, str(PortVlan(subject(action, target), int(previous_vlan)))
    return sp.inverse, target


# ---------------------------------------------------------------------------- facts
#: a gap as find_gaps reports it before the step is attached: (expected, observed), or None when confirmed
Gap = tuple[str, str] | None


def _wan_gap(obs: dict[str, Any], target: Target) -> Gap:
    if obs.get("wan") != "down":
        return "down", obs.get("wan", "unknown")
    if obs.get("wan_trigger") not in (None, "Manual"):
        # down right now but set to dial again (rebooted box, someone pressed "reconnect"): re-cut first
        return "down (trigger Manual)", f"down, trigger {obs['wan_trigger']}"
    return None


def _wlan_gap(obs: dict[str, Any], target: Target) -> Gap:
    if obs.get("wlan") not in ("off", "unknown") or not obs.get("reachable", False):
        return "off", obs.get("wlan", "unknown")
    return None


def _block_gap(obs: dict[str, Any], target: Target) -> Gap:
    if str(target) not in obs.get("blocked_hosts", []):
        return f"{target} blocked", "allowed" if obs.get("reachable") else "unknown"
    return None


def _port_gap(obs: dict[str, Any], target: Target) -> Gap:
    if str(target) not in obs.get("ports_down", []):
        return f"{target} down", "up" if obs.get("reachable") else "unknown"
    return None


def _vlan_gap(obs: dict[str, Any], target: Target) -> Gap:
    assert isinstance(target, PortVlan)
    got = obs.get("port_vlans", {}).get(target.port)
    if got != target.vlan:
        return str(target), str(got)
    return None


@dataclass(frozen=True)
class Fact:
    """What an action holds, as observation reports it: ``what`` names it in drift and status."""

    what: str
    gap: Callable[[dict[str, Any], Target], Gap]


# ---------------------------------------------------------------------------- read-backs
Check = tuple[bool, str]


def _wan_is(want: str) -> Callable[[Driver, Target], Check]:
    def check(drv: Driver, target: Target) -> Check:
        assert isinstance(drv, RouterDriver)
        state = drv.wan_status()
        return state == want, f"internet connection {state}"
    return check


def _wlan_is(enabled: bool) -> Callable[[Driver, Target], Check]:
    def check(drv: Driver, target: Target) -> Check:
        assert isinstance(drv, RouterDriver)
        wrong = [n.ssid or str(n.index) for n in drv.wlan_status() if n.enabled != enabled]
        if wrong:
            return False, f"still {'off' if enabled else 'on'}: {', '.join(wrong)}"
        return True, f"WLAN {'on' if enabled else 'off'}"
    return check


def _blocked_is(blocked: bool) -> Callable[[Driver, Target], Check]:
    def check(drv: Driver, target: Target) -> Check:
        assert isinstance(drv, RouterDriver)
        state = drv.host_blocked(str(target))
        return state == blocked, f"{target} internet access {'denied' if state else 'allowed'}"
    return check


def _port_is(up: bool) -> Callable[[Driver, Target], Check]:
    def check(drv: Driver, target: Target) -> Check:
        assert isinstance(drv, SwitchDriver)
        port = str(target)
        try:
            p = drv.port_state(port)   # the driver's cheapest read of one port (base: out of ports())
        except NotFound:
            return False, f"port {port} not reported by the switch"
        return p.admin_up == up, f"port {port} {'up' if p.admin_up else 'shut down'}"
    return check


def _vlan_is(drv: Driver, target: Target) -> Check:
    # per-port VLAN read: some switches show no VLAN in their port table
    assert isinstance(drv, SwitchDriver) and isinstance(target, PortVlan)
    got = drv.port_vlan(target.port)
    return got == target.vlan, f"port {target.port} in VLAN {got if got is not None else 'unknown'}"


# ---------------------------------------------------------------------------- driver calls
def _router(drv: Driver) -> RouterDriver:
    assert isinstance(drv, RouterDriver)
    return drv


def _switch(drv: Driver) -> SwitchDriver:
    assert isinstance(drv, SwitchDriver)
    return drv


def _set_port_vlan(drv: Driver, target: Target, memo: Any) -> Any:
    assert isinstance(target, PortVlan)
    return _switch(drv).set_port_vlan(target.port, target.vlan)


@dataclass(frozen=True)
class ActionSpec:
    """How the engine performs, checks, undoes and observes one action."""

    action: Action
    #: the kind of device that performs it
    device: type[RouterDriver] | type[SwitchDriver]
    #: the kind of target it takes
    target: type[WholeDevice] | type[HostAddress] | type[SwitchPort] | type[PortVlan]
    #: the driver call; ``memo`` is the pre-cut WAN setting restore_wan hands back (None for the others)
    act: Callable[[Driver, Target, Any], Any]
    #: the read-back: (confirmed?, what the device reports)
    verify: Callable[[Driver, Target], Check]
    #: the action that undoes it
    inverse: Action
    #: the desired fact it holds (None for the undoing actions: nothing is held once undone)
    fact: Fact | None = None
    #: a switch change: persisted where the policy says ``save_config``
    saves_config: bool = False
    #: the call returns a memo of the setting it replaced (kept in the desired state for the undo)
    returns_memo: bool = False
    #: the call needs the memo its inverse returned
    takes_memo: bool = False


REGISTRY: dict[Action, ActionSpec] = {spec.action: spec for spec in (
    ActionSpec(Action.CUT_WAN, RouterDriver, WholeDevice, lambda d, t, m: _router(d).cut_wan(),
               _wan_is("down"), Action.RESTORE_WAN, Fact("wan", _wan_gap), returns_memo=True),
    ActionSpec(Action.RESTORE_WAN, RouterDriver, WholeDevice, lambda d, t, m: _router(d).restore_wan(m),
               _wan_is("up"), Action.CUT_WAN, takes_memo=True),
    ActionSpec(Action.WLAN_OFF, RouterDriver, WholeDevice, lambda d, t, m: _router(d).set_wlan(False),
               _wlan_is(False), Action.WLAN_ON, Fact("wlan", _wlan_gap)),
    ActionSpec(Action.WLAN_ON, RouterDriver, WholeDevice, lambda d, t, m: _router(d).set_wlan(True),
               _wlan_is(True), Action.WLAN_OFF),
    ActionSpec(Action.BLOCK_HOST, RouterDriver, HostAddress, lambda d, t, m: _router(d).block_host(str(t)),
               _blocked_is(True), Action.UNBLOCK_HOST, Fact("host_block", _block_gap)),
    ActionSpec(Action.UNBLOCK_HOST, RouterDriver, HostAddress, lambda d, t, m: _router(d).unblock_host(str(t)),
               _blocked_is(False), Action.BLOCK_HOST),
    ActionSpec(Action.PORT_DOWN, SwitchDriver, SwitchPort, lambda d, t, m: _switch(d).port_down(str(t)),
               _port_is(False), Action.PORT_UP, Fact("port", _port_gap), saves_config=True),
    ActionSpec(Action.PORT_UP, SwitchDriver, SwitchPort, lambda d, t, m: _switch(d).port_up(str(t)),
               _port_is(True), Action.PORT_DOWN, saves_config=True),
    # its own inverse: the port goes back to the VLAN it had before (kept with the isolation)
    ActionSpec(Action.SET_VLAN, SwitchDriver, PortVlan, _set_port_vlan, _vlan_is, Action.SET_VLAN,
               Fact("vlan", _vlan_gap), saves_config=True),
)}


#: the fact a drift names (``what``) -> the action that holds it (and re-applies it in enforcement)
FACT_ACTION: dict[str, Action] = {sp.fact.what: a for a, sp in REGISTRY.items() if sp.fact is not None}


def spec(action: str) -> ActionSpec:
    """The registry entry of ``action``; ``ValueError`` for an action the engine does not know."""
    try:
        return REGISTRY[Action(action)]
    except ValueError:
        raise ValueError(f"unknown action {action}") from None


__all__ = ["FACT_ACTION", "REGISTRY", "Action", "ActionSpec", "Fact", "HostAddress", "PortVlan", "SwitchPort", "Target",
           "WholeDevice", "parse_target", "port_of", "spec", "subject", "undo"]
