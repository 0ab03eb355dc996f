"""Map the ``driver:`` key of a device in the policy to a driver class.

Imports happen at start-up (``load``), never on the panic path.
"""

from __future__ import annotations

import importlib
from typing import Literal

from notaus.drivers.base import Driver

#: driver name in the policy -> "module:Class"
DRIVERS: dict[str, str] = {
    "fritzbox": "notaus.drivers.fritzbox:FritzBoxDriver",
    "speedport": "notaus.drivers.speedport:SpeedportDriver",
    "netmiko": "notaus.drivers.netmiko_switch:NetmikoSwitchDriver",
    "snmp": "notaus.drivers.snmp_switch:SnmpSwitchDriver",
}


#: driver name -> the role of its devices; read by the policy schema without importing any driver
#: (``tests/test_driver_contract.py`` checks it against each class's ``role``)
DRIVER_ROLES: dict[str, Literal["router", "switch"]] = {
    "fritzbox": "router",
    "speedport": "router",
    "netmiko": "switch",
    "snmp": "switch",
}


def driver_class(name: str) -> type[Driver]:
    """Resolve a driver name; raise ``KeyError`` with the known names if it does not exist."""
    try:
        target = DRIVERS[name]
    except KeyError:
        raise KeyError(f"unknown driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
