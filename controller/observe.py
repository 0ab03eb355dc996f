"""Reading the devices back and comparing with the desired state.

``observe`` asks every device in parallel (bounded) what it reports; ``find_gaps`` lists every desired
fact the devices do not confirm, each with the step that would re-apply it. Status and enforcement
are both built on these two, so "contained" and "drift" can never disagree.
"""

from __future__ import annotations

import contextlib
import functools
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from notaus.controller.actions import Action, parse_target, port_of
from notaus.controller.actions import spec as action_spec
from notaus.controller.desired import DesiredState
from notaus.drivers.base import DriverError, NotSupported, RouterDriver, SwitchDriver

if TYPE_CHECKING:
    from notaus.controller.engine import Engine


def observe_router(engine: Engine, name: str, drv: RouterDriver, desired: dict[str, Any]) -> dict[str, Any]:
    """One router's WAN, WLAN and host blocks as it reports them."""
    obs: dict[str, Any] = {"name": name, "driver": engine.policy.device(name).driver, "reachable": True,
                           "wan": "unknown", "wlan": "unknown", "blocked_hosts": [], "ports_down": []}
    try:
        wan = engine._call(name, drv.wan_status)
        obs["wan"] = wan if wan in ("up", "down") else "unknown"
        obs["wan_detail"] = wan
    except NotSupported:
        pass
    except DriverError as exc:
        obs.update(reachable=False, error=str(exc))
        return obs
    if name in set(desired["wan_cut"]):
        # not every router has a trigger; then the WAN state alone must do
        with contextlib.suppress(DriverError):
            obs["wan_trigger"] = engine._call(name, drv.wan_trigger)
    try:
        nets = engine._call(name, drv.wlan_status)
        obs["wlan"] = "on" if any(n.enabled for n in nets) else "off"
    except DriverError:
        pass
    if drv.supports("block_host"):
        blocked_ips = sorted(desired["router_blocks"])

        def read(ip: str) -> bool | None:
            try:
                return bool(engine._call(name, functools.partial(drv.host_blocked, ip)))
            except DriverError:
                return None
        if getattr(drv, "parallel_calls", False) and len(blocked_ips) > 1:
            # 20 blocked clients read one by one cost 20 round trips per status/enforcement pass
            with ThreadPoolExecutor(max_workers=min(16, len(blocked_ips)),
                                    thread_name_prefix=f"observe-{name}") as pool:
                readings = list(pool.map(read, blocked_ips))
        else:
            readings = [read(ip) for ip in blocked_ips]
        for ip, blocked in zip(blocked_ips, readings, strict=True):
            if blocked:
                obs["blocked_hosts"].append(ip)
            elif blocked is None:
                obs.setdefault("unreadable_hosts", []).append(ip)
    return obs


def observe_switch(engine: Engine, name: str, drv: SwitchDriver) -> dict[str, Any]:
    """One switch's ports that are down and the VLAN of each port."""
    obs: dict[str, Any] = {"name": name, "driver": engine.policy.device(name).driver, "reachable": True,
                           "wan": "unknown", "wlan": "unknown", "blocked_hosts": [], "ports_down": [],
                           "port_vlans": {}}
    try:
        for p in engine._call(name, drv.ports):
            if not p.admin_up:
                obs["ports_down"].append(p.name)
            obs["port_vlans"][p.name] = p.vlan
        for port in _vlan_isolated_ports(engine, name):   # switches whose port table shows no VLAN
            if obs["port_vlans"].get(port) is None:
                obs["port_vlans"][port] = engine._call(name, functools.partial(drv.port_vlan, port))
    except DriverError as exc:
        obs.update(reachable=False, error=str(exc))
    return obs


def observe_device(engine: Engine, name: str, desired: dict[str, Any]) -> dict[str, Any] | None:
    """What one device reports (``None`` for a device that is neither router nor switch)."""
    drv = engine.drivers[name]
    if isinstance(drv, RouterDriver):
        return observe_router(engine, name, drv, desired)
    if isinstance(drv, SwitchDriver):
        return observe_switch(engine, name, drv)
    return None


def unanswered(engine: Engine, name: str, message: str | None = None) -> dict[str, Any]:
    """The observation of a device that did not answer in time: everything unknown, never guessed."""
    return {"name": name, "driver": engine.policy.device(name).driver, "reachable": False,
            "wan": "unknown", "wlan": "unknown", "blocked_hosts": [], "ports_down": [],
            "error": message or f"no answer within {engine.settings.parallel_timeout:.0f} s"}


def observe(engine: Engine) -> dict[str, dict[str, Any]]:
    """Read every device in parallel, bounded; what cannot be read is 'unknown', never guessed."""
    desired = engine.state.desired()
    futures = {name: engine._executor.submit(observe_device, engine, name, desired)
               for name, drv in engine.drivers.items() if isinstance(drv, RouterDriver | SwitchDriver)}
    out: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + engine.settings.parallel_timeout
    for name, fut in futures.items():
        try:
            res = fut.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            res = unanswered(engine, name)
        if res is not None:
            out[name] = res
    return out


def find_gaps(desired: dict[str, Any] | DesiredState,
              observed: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every desired fact the devices do not confirm, with what would re-apply it.

    Each held step's fact (``controller.actions``) says how the observation confirms it.
    """
    state = desired if isinstance(desired, DesiredState) else DesiredState.from_dict(desired)
    gaps: list[dict[str, Any]] = []
    for step in state.held_steps():
        fact = action_spec(step.action).fact
        assert fact is not None   # held_steps lists only actions that hold a fact
        gap = fact.gap(observed.get(step.device, {}), parse_target(step.action, step.target))
        if gap is not None:
            gaps.append({"device": step.device, "what": fact.what, "expected": gap[0], "observed": gap[1],
                         "step": step})
    return gaps


def _vlan_isolated_ports(engine: Engine, switch: str) -> set[str]:
    """Ports of ``switch`` that an isolation moved to the quarantine VLAN (their VLAN must be observed)."""
    return {port_of(m["action"], m["target"]) for iso in engine.state.desired()["isolations"].values()
            for m in iso["methods"] if m["action"] == Action.SET_VLAN and m["device"] == switch}
