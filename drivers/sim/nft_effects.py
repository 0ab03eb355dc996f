"""Router effects made real with nftables, for simulators running inside the lab's router namespace.

The TR-064 and Speedport simulators run *inside* the router network namespace of the network lab
(``tests/lab``). When their model says "WAN down" or "host blocked", this class changes the
namespace's packet filter so end-to-end tests see packets really stop. It simply calls ``nft``:
the namespace is inherited from the simulator process, so no ``ip netns exec`` is needed here.

Everything lives in one table of our own (default ``inet notaus_sim``) whose forward chain hooks in
*before* the lab's ordinary filter (priority -10) and drops regardless of conntrack state, so flows
that were already established stop too, not only new connections. Blocked hosts are a named set, so
blocking or releasing one address is a single atomic element update. Every method is idempotent.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess

__all__ = ["NftError", "NftRouterEffects"]


class NftError(RuntimeError):
    """``nft`` refused a change; the message carries nft's own error text."""


class NftRouterEffects:
    """``drivers.sim.effects.RouterEffects`` backed by nftables in the current network namespace.

    ``lan_if``/``wan_if`` name the router's LAN and WAN interfaces, ``wlan_if`` an optional link that
    stands in for the WLAN radio (toggled up/down if it exists). ``reset=True`` starts from a clean
    table (WAN up, nothing blocked), matching a simulator whose model also starts fresh.
    """

    def __init__(
        self,
        lan_if: str = "lan0",
        wan_if: str = "wan0",
        table: str = "notaus_sim",
        *,
        wlan_if: str = "wlan0",
        nft: str | None = None,
        reset: bool = True,
    ) -> None:
        for name in (lan_if, wan_if, wlan_if, table):
            _check_name(name)
        self.lan_if = lan_if
        self.wan_if = wan_if
        self.wlan_if = wlan_if
        self.table = table
        self.nft = nft or shutil.which("nft") or "/usr/sbin/nft"
        self._create_table(reset=reset)

    # ------------------------------------------------------------------ RouterEffects protocol
    def apply_wan(self, up: bool) -> None:
        """Allow (``up``) or drop all forwarding between LAN and WAN plus the router's own WAN traffic.

        The gate chain is flushed and refilled in one nft transaction, so there is never a moment
        with half the rules in place.
        """
        t, w = self.table, self.wan_if
        script = [f"flush chain inet {t} wan_gate"]
        if not up:
            script += [
                f'add rule inet {t} wan_gate oifname "{w}" drop',
                f'add rule inet {t} wan_gate iifname "{w}" drop',
            ]
        self._nft_script(script)

    def apply_host_block(self, ip: str, blocked: bool) -> None:
        """Drop (``blocked``) or allow one LAN address's traffic to and from the WAN.

        Adding and then deleting in the same transaction makes "unblock" succeed even if the address
        was never blocked (nft 1.0.6 has no ``destroy element``).
        """
        addr = str(ipaddress.IPv4Address(ip))
        elem = f"inet {self.table} blocked_hosts {{ {addr} }}"
        script = [f"add element {elem}"]
        if not blocked:
            script.append(f"delete element {elem}")
        self._nft_script(script)

    def apply_wlan(self, enabled: bool) -> None:
        """Set the stand-in WLAN link up or down; without such a link there is no radio to switch."""
        if not os.path.exists(f"/sys/class/net/{self.wlan_if}"):
            return
        state = "up" if enabled else "down"
        proc = subprocess.run(
            ["ip", "link", "set", self.wlan_if, state], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise NftError(f"ip link set {self.wlan_if} {state} failed: {proc.stderr.strip()}")

    # ---------------------------------------------------------------------------- read-back
    def wan_up(self) -> bool:
        """True unless the WAN gate currently holds drop rules (read from the kernel, not remembered)."""
        out = self._nft_cmd(["list", "chain", "inet", self.table, "wan_gate"])
        return " drop" not in out

    def blocked_hosts(self) -> set[str]:
        """Addresses currently in the block set, as the kernel reports them."""
        out = self._nft_cmd(["list", "set", "inet", self.table, "blocked_hosts"])
        if "elements" not in out:
            return set()
        body = out.split("elements", 1)[1]
        body = body.split("{", 1)[1].split("}", 1)[0]
        return {part.strip() for part in body.replace("\n", " ").split(",") if part.strip()}

    def remove(self) -> None:
        """Delete the table (the router forwards normally again); harmless if it is already gone."""
        self._nft_script([f"add table inet {self.table}", f"delete table inet {self.table}"])

    # ------------------------------------------------------------------------------- helpers
    def _create_table(self, *, reset: bool) -> None:
        t, w = self.table, self.wan_if
        script = [f"add table inet {t}"]
        if reset:
            script += [f"delete table inet {t}", f"add table inet {t}"]
        script += [
            f"add set inet {t} blocked_hosts {{ type ipv4_addr; }}",
            f"add chain inet {t} wan_gate",
            f"add chain inet {t} forward {{ type filter hook forward priority -10; policy accept; }}",
            f"add chain inet {t} output {{ type filter hook output priority -10; policy accept; }}",
            f"add chain inet {t} input {{ type filter hook input priority -10; policy accept; }}",
            f"flush chain inet {t} forward",
            f"flush chain inet {t} output",
            f"flush chain inet {t} input",
            f"add rule inet {t} forward jump wan_gate",
            f'add rule inet {t} forward ip saddr @blocked_hosts oifname "{w}" drop',
            f'add rule inet {t} forward ip daddr @blocked_hosts iifname "{w}" drop',
            f'add rule inet {t} output oifname "{w}" jump wan_gate',
            f'add rule inet {t} input iifname "{w}" jump wan_gate',
        ]
        self._nft_script(script)

    def _nft_script(self, lines: list[str]) -> None:
        """Run several nft commands as one atomic transaction."""
        proc = subprocess.run(
            [self.nft, "-f", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise NftError(f"nft failed ({proc.returncode}): {proc.stderr.strip()}")

    def _nft_cmd(self, args: list[str]) -> str:
        proc = subprocess.run([self.nft, *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise NftError(f"nft {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout


def _check_name(name: str) -> None:
    """Interface and table names go into nft scripts; refuse anything that could break the syntax."""
    if not name or len(name) > 32 or not all(c.isalnum() or c in "_-." for c in name):
        raise ValueError(f"unusable interface/table name for nft: {name!r}")
