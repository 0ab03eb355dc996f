"""How a simulator makes its state real.

In unit tests a simulator only keeps state (``NullEffects``). In the network lab the TR-064 and
Speedport simulators run inside the router namespace and apply every change for real, with
nftables (``drivers.sim.nft_effects.NftRouterEffects``), so end-to-end tests see packets stop.
"""

from __future__ import annotations

from typing import Protocol


class RouterEffects(Protocol):
    def apply_wan(self, up: bool) -> None:
        """WAN connected (forwarding LAN->WAN allowed) or disconnected (everything to WAN dropped)."""

    def apply_host_block(self, ip: str, blocked: bool) -> None:
        """Deny or allow internet access for one LAN address (LAN->LAN traffic is not affected)."""

    def apply_wlan(self, enabled: bool) -> None:
        """WLAN radio on/off (in the lab: the wlan-side link up/down, if the lab has one)."""


class NullEffects:
    """State only; nothing outside the simulator changes."""

    def apply_wan(self, up: bool) -> None:
        pass

    def apply_host_block(self, ip: str, blocked: bool) -> None:
        pass

    def apply_wlan(self, enabled: bool) -> None:
        pass
