"""Start simulated devices for a policy, so ``make run`` and a provider trying a policy need no hardware.

Only devices whose address is on loopback are simulated: a policy that names a real router is never
shadowed by a simulator by accident.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any, Protocol

from notaus.policies.schema import Policy

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def sim_hosts(policy: Policy) -> list[dict[str, Any]]:
    """The policy's hosts as the router's host list (the router knows every machine with an IP)."""
    out = []
    for i, h in enumerate(policy.hosts):
        if h.ip:
            mac = (h.mac or f"02:00:00:00:{i // 256:02x}:{i % 256:02x}").upper()
            out.append({"ip": h.ip, "mac": mac, "name": h.name})
    return out


def start_simulators(policy: Policy, base_dir: Path | None = None, *, latency: float = 0.0) -> list[Stoppable]:
    """Start one simulator per loopback router in the policy; returns them for ``stop()``."""
    started: list[Stoppable] = []
    for dev in policy.routers():
        if not _loopback(dev.address):
            log.warning("%s: %s is not on loopback – not simulated", dev.name, dev.address)
            continue
        password = dev.resolve_password(base_dir)
        if dev.driver == "fritzbox":
            from notaus.drivers.sim.tr64 import Tr064Simulator

            phones = [h.name for h in policy.hosts if h.role == "phone"]
            sim: Any = Tr064Simulator(dev.address, dev.port or 49000, user=dev.user or "notaus", password=password,
                                      latency=latency, hosts=sim_hosts(policy), phones=phones or None)
        elif dev.driver == "speedport":
            from notaus.drivers.sim.speedport import SpeedportSimulator

            sim = SpeedportSimulator(dev.address, dev.port or 80, password=password, latency=latency,
                                     hosts=sim_hosts(policy))
        else:
            continue
        sim.start()
        started.append(sim)
        print(f"simulated {dev.driver} '{dev.name}' on {dev.address}:{sim.port}", flush=True)
    return started
