"""Read-only LAN, line and IPv6 facts of the simulated box, for ``notaus discover``.

Kept apart from :mod:`drivers.sim.tr64_actions` (which models what notaus changes) and installed
into a :class:`~drivers.sim.tr64_actions.BoxActions` by :func:`install_lan_handlers`. The values
are a FRITZ!Box's factory settings (LAN 192.168.178.0/24, the box at .1, DHCP .20–.200, domain
``fritz.box``) and a DSL line. ``IPV6_PREFIX`` (documentation range, RFC 3849) is what a test or the demo
passes as the simulator's ``ipv6_prefix``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from notaus.drivers.sim.tr64_actions import BoxActions

IPV6_PREFIX = "2001:db8:1234:5600::"
IPV6_PREFIX_LENGTH = 56


def _lan(actions: BoxActions) -> ipaddress.IPv4Network:
    """The box's LAN: the /24 of its hosts (192.168.178.0/24 when it knows none)."""
    for host in actions.state.hosts:
        try:
            return ipaddress.ip_network(f"{host.ip}/24", strict=False)  # type: ignore[return-value]
        except ValueError:
            continue
    return ipaddress.IPv4Network("192.168.178.0/24")


def install_lan_handlers(actions: BoxActions) -> None:
    """Answer ``LANHostConfigManagement1`` and ``WANCommonInterfaceConfig1``.

    The IPv6 getters are :class:`BoxActions`' own (``ipv6_prefix``: off unless a test or the demo gives a
    prefix), so discovery and the keep-phones IPv6 honesty read the same fact.
    """
    state = actions.state

    def lan_info(a: dict[str, str]) -> dict[str, Any]:
        net = _lan(actions)
        box = str(net.network_address + 1)
        return {"NewDHCPServerConfigurable": True, "NewDHCPRelay": False,
                "NewMinAddress": str(net.network_address + 20), "NewMaxAddress": str(net.network_address + 200),
                "NewReservedAddresses": "", "NewDHCPServerEnable": True, "NewDNSServers": box,
                "NewDomainName": "fritz.box", "NewIPRouters": box, "NewSubnetMask": str(net.netmask)}

    def up() -> bool:
        with state.lock:
            return state.wan.status == "Connected"

    actions.handlers.update({
        ("LANHostConfigManagement1", "GetInfo"): lan_info,
        ("WANCommonInterfaceConfig1", "GetCommonLinkProperties"): lambda a: {
            "NewWANAccessType": "DSL", "NewLayer1UpstreamMaxBitRate": 40_000_000,
            "NewLayer1DownstreamMaxBitRate": 100_000_000, "NewPhysicalLinkStatus": "Up"},
    })
