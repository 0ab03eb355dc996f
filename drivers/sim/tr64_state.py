"""What the simulated FRITZ!Box *is*: WAN connection, host filter, WLANs, hosts, telephony.

The model reproduces the behaviours notaus depends on and that a naive client gets wrong:

* after ``ForceTermination`` the box dials again by itself after a short while unless the
  connection trigger is ``Manual`` (checked when the timer fires, as the box does);
* ``DisallowWANAccessByIP`` is applied asynchronously: ``NewDisallow`` reads back at once, the
  effective ``NewWANAccess`` only flips to ``denied`` after ``hostfilter_delay``;
* a reboot brings the WAN back with trigger ``AlwaysOn`` (drift the engine must detect);
* a person pressing "reconnect" in the UI sets ``AlwaysOn`` and dials.

Every change that matters outside the model goes through a :class:`RouterEffects`.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from notaus.drivers.sim.effects import NullEffects, RouterEffects

TRIGGERS = ("AlwaysOn", "OnDemand", "Manual")


@dataclass
class SimHost:
    """A LAN client the box knows (one row of ``devicehostlist.lua``)."""

    ip: str
    mac: str
    name: str = ""
    active: bool = True
    interface: str = "Ethernet"   # "Ethernet" | "802.11"


@dataclass
class SimPhone:
    """An IP phone registered at the box (``X_VoIP1`` client)."""

    name: str
    internal: str = ""           # internal number, e.g. "620"
    outgoing: str = ""           # outgoing VoIP number
    username: str = ""


@dataclass
class SimWlan:
    index: int
    ssid: str
    enabled: bool = True
    guest: bool = False
    channel: int = 6
    standard: str = "n"
    bssid: str = ""


@dataclass
class WanState:
    status: str = "Connected"           # Connected | Connecting | Disconnected
    trigger: str = "AlwaysOn"
    last_error: str = "ERROR_NONE"
    connected_since: float = field(default_factory=time.monotonic)
    external_ip: str = "203.0.113.17"


def _coerce_hosts(hosts: list[Any] | None) -> list[SimHost]:
    out: list[SimHost] = []
    for i, h in enumerate(hosts or []):
        if isinstance(h, SimHost):
            out.append(h)
            continue
        d = dict(h)
        mac = d.get("mac") or f"02:00:00:00:{i // 256:02X}:{i % 256:02X}"
        out.append(SimHost(ip=str(d["ip"]), mac=str(mac).upper(), name=str(d.get("name", "")),
                           active=bool(d.get("active", True)), interface=str(d.get("interface", "Ethernet"))))
    return out


def _coerce_phones(phones: list[Any] | None) -> list[SimPhone]:
    out: list[SimPhone] = []
    for i, p in enumerate(phones or []):
        if isinstance(p, SimPhone):
            out.append(p)
        elif isinstance(p, str):
            out.append(SimPhone(name=p, internal=str(620 + i), username=f"phone{620 + i}"))
        else:
            d = dict(p)
            out.append(SimPhone(name=str(d["name"]), internal=str(d.get("internal", 620 + i)),
                                outgoing=str(d.get("outgoing", "")), username=str(d.get("username", ""))))
    return out


DEFAULT_HOSTS = [
    {"ip": "192.168.178.20", "mac": "AA:BB:CC:DD:EE:01", "name": "empfang-pc"},
    {"ip": "192.168.178.21", "mac": "AA:BB:CC:DD:EE:02", "name": "sprechzimmer-1"},
    {"ip": "192.168.178.50", "mac": "AA:BB:CC:DD:EE:50", "name": "ti-konnektor"},
    {"ip": "192.168.178.60", "mac": "AA:BB:CC:DD:EE:60", "name": "voip-empfang"},
]
DEFAULT_NUMBERS = ["0301234567", "0301234568"]
DEFAULT_PHONES = ["Empfang", "Sprechzimmer 1"]


class BoxState:
    """Thread-safe state of one simulated box; timers model what the box does on its own."""

    def __init__(self, *, effects: RouterEffects | None = None, hosts: list[Any] | None = None,
                 numbers: list[str] | None = None, phones: list[Any] | None = None,
                 wan_service: str = "WANPPPConnection1", reconnect_delay: float = 0.3,
                 connect_delay: float = 0.05, hostfilter_delay: float = 0.2, reboot_delay: float = 0.5,
                 wlans: list[SimWlan] | None = None) -> None:
        self.lock = threading.RLock()
        self.effects: RouterEffects = effects or NullEffects()
        self.hosts = _coerce_hosts(DEFAULT_HOSTS if hosts is None else hosts)
        self.numbers = list(DEFAULT_NUMBERS if numbers is None else numbers)
        self.phones = _coerce_phones(DEFAULT_PHONES if phones is None else phones)
        if wan_service not in ("WANPPPConnection1", "WANIPConnection1"):
            raise ValueError("wan_service must be WANPPPConnection1 or WANIPConnection1")
        self.wan_service = wan_service
        self.reconnect_delay = reconnect_delay
        self.connect_delay = connect_delay
        self.hostfilter_delay = hostfilter_delay
        self.reboot_delay = reboot_delay
        self.wan = WanState()
        self.wlans = wlans or [
            SimWlan(1, "Praxis", channel=6, standard="n", bssid="98:9B:CB:2B:93:B1"),
            SimWlan(2, "Praxis", channel=36, standard="ac", bssid="98:9B:CB:2B:93:B2"),
            SimWlan(3, "Praxis-Gast", guest=True, channel=6, standard="n", bssid="98:9B:CB:2B:93:B3"),
        ]
        self.disallow: dict[str, bool] = {}        # configured (reads back at once)
        self.denied: dict[str, bool] = {}          # effective (after hostfilter_delay)
        self._filter_gen: dict[str, int] = {}
        self._wan_gen = 0
        self._timers: set[threading.Timer] = set()
        self.booted_at = time.monotonic()
        self.host_change_counter = 1
        self.reboots = 0

    # ---------------------------------------------------------------------------------- timers
    def _after(self, delay: float, fn: Any, *args: Any) -> None:
        def run() -> None:
            with self.lock:
                self._timers.discard(timer)
                fn(*args)

        timer = threading.Timer(max(0.0, delay), run)
        timer.daemon = True
        with self.lock:
            self._timers.add(timer)
        timer.start()

    def cancel_timers(self) -> None:
        with self.lock:
            for t in list(self._timers):
                t.cancel()
            self._timers.clear()

    # ------------------------------------------------------------------------------------- WAN
    def wan_default_service(self) -> str:
        """``Layer3Forwarding1.GetDefaultConnectionService`` value, e.g. ``1.WANPPPConnection.1``."""
        return f"1.{self.wan_service[:-1]}.1"

    def wan_uptime(self) -> int:
        with self.lock:
            return int(time.monotonic() - self.wan.connected_since) if self.wan.status == "Connected" else 0

    def _begin_connect(self) -> None:
        self._wan_gen += 1
        gen = self._wan_gen
        self.wan.status = "Connecting"
        self._after(self.connect_delay, self._finish_connect, gen)

    def _finish_connect(self, gen: int) -> None:
        if gen != self._wan_gen or self.wan.status != "Connecting":
            return
        self.wan.status = "Connected"
        self.wan.last_error = "ERROR_NONE"
        self.wan.connected_since = time.monotonic()
        self.effects.apply_wan(True)

    def _auto_reconnect(self, gen: int) -> None:
        # the box looks at the trigger when it is about to dial, not when the line dropped
        if gen == self._wan_gen and self.wan.status == "Disconnected" and self.wan.trigger != "Manual":
            self._begin_connect()

    def _schedule_auto_reconnect(self, delay: float | None = None) -> None:
        self._after(self.reconnect_delay if delay is None else delay, self._auto_reconnect, self._wan_gen)

    def force_termination(self) -> None:
        with self.lock:
            self._wan_gen += 1
            was_up = self.wan.status != "Disconnected"
            self.wan.status = "Disconnected"
            self.wan.last_error = "ERROR_USER_DISCONNECT"
            if was_up:
                self.effects.apply_wan(False)
            if self.wan.trigger != "Manual":
                self._schedule_auto_reconnect()

    def request_connection(self) -> None:
        with self.lock:
            if self.wan.status == "Disconnected":
                self._begin_connect()

    def set_trigger(self, trigger: str) -> None:
        with self.lock:
            self.wan.trigger = trigger
            if trigger != "Manual" and self.wan.status == "Disconnected":
                self._schedule_auto_reconnect()

    def simulate_user_reconnect(self) -> None:
        """Someone pressed "Neu verbinden" in the box's UI: trigger back to ``AlwaysOn`` and dial."""
        with self.lock:
            self.wan.trigger = "AlwaysOn"
            if self.wan.status == "Connected":
                self.effects.apply_wan(False)
                self.wan.status = "Disconnected"
            self._begin_connect()

    def reboot(self) -> None:
        """Box restarts: WAN down for ``reboot_delay``, then up with trigger ``AlwaysOn`` (drift).

        Host filter and WLAN settings are part of the saved configuration and survive.
        """
        with self.lock:
            self.reboots += 1
            self._wan_gen += 1
            if self.wan.status != "Disconnected":
                self.effects.apply_wan(False)
            self.wan.status = "Disconnected"
            self.wan.trigger = "AlwaysOn"
            self.booted_at = time.monotonic()
            self._schedule_auto_reconnect(self.reboot_delay)

    # ------------------------------------------------------------------------------ host filter
    def host_by_ip(self, ip: str) -> SimHost | None:
        return next((h for h in self.hosts if h.ip == ip), None)

    def host_by_mac(self, mac: str) -> SimHost | None:
        return next((h for h in self.hosts if h.mac.upper() == mac.upper()), None)

    @staticmethod
    def valid_ipv4(ip: str) -> bool:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        return True

    def join_host(self, ip: str, mac: str, name: str = "", interface: str = "Ethernet") -> SimHost:
        """A device joins the LAN, or a known MAC got a new lease (the old address is forgotten)."""
        with self.lock:
            mac = mac.upper()
            self.hosts = [h for h in self.hosts if h.mac.upper() != mac and h.ip != ip]
            host = SimHost(ip=ip, mac=mac, name=name, interface=interface)
            self.hosts.append(host)
            self.host_change_counter += 1
            return host

    def set_disallow(self, ip: str, disallow: bool) -> None:
        with self.lock:
            self.disallow[ip] = disallow
            gen = self._filter_gen.get(ip, 0) + 1
            self._filter_gen[ip] = gen
            self._after(self.hostfilter_delay, self._apply_filter, ip, gen)

    def _apply_filter(self, ip: str, gen: int) -> None:
        if self._filter_gen.get(ip) != gen:
            return
        want = self.disallow.get(ip, False)
        if self.denied.get(ip, False) != want:
            self.denied[ip] = want
            self.effects.apply_host_block(ip, want)

    def wan_access(self, ip: str) -> tuple[bool, str]:
        """``(NewDisallow, NewWANAccess)`` as ``GetWANAccessByIP`` reports them."""
        with self.lock:
            return self.disallow.get(ip, False), ("denied" if self.denied.get(ip, False) else "granted")

    # ------------------------------------------------------------------------------------ WLAN
    def set_wlan(self, index: int, enabled: bool) -> None:
        with self.lock:
            radio_before = any(w.enabled for w in self.wlans)
            self.wlans[index - 1].enabled = enabled
            radio_after = any(w.enabled for w in self.wlans)
            if radio_after != radio_before:   # the lab has one WLAN link for all networks
                self.effects.apply_wlan(radio_after)

    # -------------------------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        """The whole model as JSON-friendly data (``GET /_sim/state``)."""
        with self.lock:
            return {
                "wan": {"service": self.wan_service, "status": self.wan.status, "trigger": self.wan.trigger,
                        "last_error": self.wan.last_error, "uptime": self.wan_uptime()},
                "host_filter": {ip: {"disallow": self.disallow.get(ip, False),
                                     "wan_access": "denied" if self.denied.get(ip, False) else "granted"}
                                for ip in sorted(set(self.disallow) | set(self.denied))},
                "wlan": [asdict(w) for w in self.wlans],
                "hosts": [asdict(h) for h in self.hosts],
                "numbers": list(self.numbers),
                "phones": [asdict(p) for p in self.phones],
                "reboots": self.reboots,
            }
