"""Map the ``driver:`` key of a device in the policy to a driver class.

Imports happen at start-up (``load``), never on the panic path.
"""

from __future__ import annotations

import importlib

from drivers.base import Driver

#: driver name in the policy -> "module:Class"
DRIVERS: dict[str, str] = {
    "fritzbox": "drivers.fritzbox:FritzBoxDriver",
    "speedport": "drivers.speedport:SpeedportDriver",
    "netmiko": "drivers.netmiko_switch:NetmikoSwitchDriver",
    "snmp": "drivers.snmp_switch:SnmpSwitchDriver",
}


def driver_class(name: str) -> type[Driver]:
    """Resolve a driver name; raise ``KeyError`` with the known names if it does not exist."""
    try:
        target = DRIVERS[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
