"""``notaus discover``: from an empty box to a draft policy the provider reviews (never applied here).

What is asked, all read-only and nothing beyond the practice LAN:

* the router (the policy's, or the default gateway): model, firmware, connection type, WLANs,
  IPv6 state, every host it knows (name, IP, MAC, LAN/WLAN, active) and, on a FRITZ!Box, the IP
  telephony clients registered at it (``X_VoIP1``);
* the switches in the policy (when their credentials are there): what they say about themselves
  (SNMP ``sysDescr``/``sysName``, LLDP neighbours) and the port of every MAC they learned;
* optionally (``--probe``, off by default) a TCP connect to a few well-known ports of the hosts
  the router listed, and only those in private address space.

Every host gets a suggested role and the reasons for it (:func:`suggest`); the rules are plain and
ordered so a provider can follow them. The result is written as a YAML draft with the reasons as
comments (:func:`render_draft`); ``notaus policy check`` validates it like any hand-written policy.

Why names match VoIP clients: TR-064 does not say at which IP or MAC a telephony client registers
(``X_AVM-DE_GetClient3`` answers user name, phone name, numbers, nothing about the address). The
host list entry of an IP phone is matched to a registered client by name, so the provider names the
phone's entry in the box (Heimnetz › Netzwerk) like its telephony device. A phone maker's MAC
prefix is a weaker second hint and is labelled as such.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from notaus.controller.oui import locally_administered, vendor_of
from notaus.drivers.base import Driver, DriverError, Host, NotPermitted, RouterDriver, SwitchDriver
from notaus.policies.schema import Device, Policy, normalize_mac

#: ports a cheap, opt-in probe tries, and what an open one suggests
PROBE_PORTS: dict[int, str] = {9100: "printer", 631: "printer", 5060: "phone"}
#: name fragments (lower case, after normalising) -> role; first match wins
NAME_RULES: list[tuple[str, str, bool]] = [
    (r"konnektor|kocobox|connector", "ti-konnektor", True),
    (r"kiosk|tablet", "kiosk", False),
    (r"\bswitch|^sw\d*\b|procurve|catalyst|gs\d{3}", "switch", False),
    (r"drucker|printer|\bmfc|laserjet|officejet", "printer", False),
    (r"server|\bnas\b|\bdc\d*\b", "server", True),
    (r"telefon|\bphone\b|\bsip\b|voip", "phone", False),
]
#: roles only an explicit fact (not a weak hint) may set; used by the comparison
STRONG_RULES = frozenset({"controller", "device", "voip", "oui-konnektor", "kiosk-token", "name"})


# ------------------------------------------------------------------------------------ results
@dataclass
class Seen:
    """One machine as the network reports it (router host list, switch MAC table)."""

    ip: str = ""
    mac: str = ""
    name: str = ""
    interface: str = ""      # "LAN" | "WLAN" | "" (unknown)
    active: bool = True
    switch: str = ""
    port: str = ""
    source: str = "router"   # "router" | "switch"


@dataclass
class Suggestion:
    """A host for the draft: what discovery thinks it is, and why."""

    name: str
    ip: str
    mac: str
    role: str
    protected: bool
    reasons: list[str]
    rule: str                # which rule decided the role (see STRONG_RULES)
    interface: str = ""
    active: bool = True
    switch: str = ""
    port: str = ""
    vendor: str = ""
    reasons_de: list[str] = field(default_factory=list)

    def why(self, lang: str = "en") -> list[str]:
        return self.reasons_de if lang == "de" and self.reasons_de else self.reasons

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """What the rules need besides the host itself."""

    controller_ip: str = ""
    controller_mac: str = ""
    devices: dict[str, tuple[str, str]] = field(default_factory=dict)   # address -> (name, role)
    voip_clients: list[dict[str, Any]] = field(default_factory=list)
    kiosk_names: set[str] = field(default_factory=set)
    open_ports: dict[str, list[int]] = field(default_factory=dict)      # ip -> open probe ports


@dataclass
class Discovery:
    """Everything one run found; :func:`render_draft` turns it into a policy draft."""

    router: dict[str, Any] = field(default_factory=dict)
    hosts: list[Suggestion] = field(default_factory=list)
    voip_clients: list[dict[str, Any]] = field(default_factory=list)
    unmatched_voip: list[dict[str, Any]] = field(default_factory=list)
    switches: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    probed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"router": self.router, "hosts": [h.to_dict() for h in self.hosts],
                "voip_clients": self.voip_clients, "unmatched_voip": self.unmatched_voip,
                "switches": self.switches, "warnings": self.warnings, "probed": self.probed}


# -------------------------------------------------------------------------------------- rules
def norm_name(name: str) -> str:
    """``Telefon Empfang`` / ``telefon-empfang`` / ``TELEFON_EMPFANG`` -> ``telefon-empfang``."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")


def _safe_mac(value: str) -> str:
    try:
        return normalize_mac(value) if value else ""
    except ValueError:
        return ""


def voip_match(host_name: str, clients: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The registered VoIP client whose phone name (or SIP user name) is this host's name."""
    key = norm_name(host_name)
    if not key:
        return None
    for client in clients:
        if key in {norm_name(str(client.get("name") or "")), norm_name(str(client.get("username") or ""))} - {""}:
            return client
    return None


def suggest(seen: Seen, ctx: Context) -> Suggestion:
    """The role for one host, with every reason that supports it (English and German); first decisive rule wins."""
    mac = _safe_mac(seen.mac)
    found = vendor_of(mac) if mac else None
    vendor = f"{found[0]} ({found[1].organisation})" if found else ""
    oui = f"OUI {found[0]} ({found[1].organisation}" if found else ""
    reasons: list[str] = []
    reasons_de: list[str] = []
    role, protected, rule = "", False, ""

    def why(en: str, de: str) -> None:
        reasons.append(en)
        reasons_de.append(de)

    def decide(r: str, en: str, de: str, which: str, prot: bool = False) -> None:
        nonlocal role, protected, rule
        if not role:
            role, protected, rule = r, prot, which
        why(en, de)

    if (ctx.controller_ip and seen.ip == ctx.controller_ip) or (ctx.controller_mac and mac == ctx.controller_mac):
        decide("controller", "this notaus box (controller.ip/mac)", "diese notaus-Box (controller.ip/mac)",
               "controller")
    if seen.ip and seen.ip in ctx.devices:
        dev_name, dev_role = ctx.devices[seen.ip]
        decide(dev_role, f"configured device '{dev_name}' ({dev_role})",
               f"konfiguriertes Gerät „{dev_name}“ ({dev_role})", "device")
    client = voip_match(seen.name, ctx.voip_clients)
    if client is not None:
        label = client.get("name") or client.get("username")
        number = client.get("internal") or ""
        decide("phone", f"registered VoIP client '{label}' on the box" + (f", internal number {number}" if number
                                                                          else ""),
               f"am Router angemeldetes IP-Telefon „{label}“" + (f", intern {number}" if number else ""), "voip")
    if found and found[1].kind == "ti-konnektor":
        decide("ti-konnektor", f"{oui}, IEEE registry): {found[1].note}",
               f"{oui}, IEEE-Register): {found[1].note}", "oui-konnektor", True)
    if norm_name(seen.name) in ctx.kiosk_names:
        decide("kiosk", f"enrolled kiosk tablet '{seen.name}' (notaus token kiosk)",
               f"eingerichtetes Kiosk-Tablet „{seen.name}“ (notaus token kiosk)", "kiosk-token")
    if found and found[1].kind == "avm":
        decide("router", f"{oui}): a FRITZ! device of the box's network (repeater, powerline)",
               f"{oui}): ein FRITZ!-Gerät im Netz der Box (Repeater, Powerline)", "oui-avm")
    words = norm_name(seen.name).replace("-", " ")
    for pattern, name_role, prot in NAME_RULES:
        if words and re.search(pattern, words):
            decide(name_role, f"name '{seen.name}' suggests {name_role}",
                   f"Name „{seen.name}“ deutet auf {name_role}", "name", prot)
            if name_role == "switch" and rule == "name":
                why("not a configured device: add it under devices (SNMP or SSH credentials) to learn its ports",
                    "kein konfiguriertes Gerät: unter devices mit SNMP- oder SSH-Zugang eintragen, dann sind "
                    "seine Ports bekannt")
            break
    if found and found[1].kind == "phone":
        decide("phone", f"{oui}), a maker of IP phones" + (
                   "" if client else "; not matched to a registered VoIP client: name it like the phone on the box"),
               f"{oui}), Hersteller von IP-Telefonen" + (
                   "" if client else "; keinem angemeldeten IP-Telefon zugeordnet: im Router wie das Telefon "
                                     "benennen"), "oui-phone")
    if found and found[1].kind == "printer":
        decide("printer", f"{oui}), a maker of printers", f"{oui}), Druckerhersteller", "oui-printer")
    for port in ctx.open_ports.get(seen.ip, []):
        if port in PROBE_PORTS:
            decide(PROBE_PORTS[port], f"answers on TCP {port} (probe)", f"antwortet auf TCP {port} (Probe)", "probe")
    if not role:
        decide("workstation", "no rule matched: treated as a workstation (blocked in keep-phones); check it",
               "keine Regel trifft zu: als Arbeitsplatz angenommen (in keep-phones gesperrt); prüfen", "default")
    if mac and locally_administered(mac) and not found:
        why("random/locally administered MAC: the vendor cannot be told",
            "zufällige/lokal vergebene MAC: Hersteller nicht erkennbar")
    if seen.source == "switch":
        why(f"seen only in the MAC table of {seen.switch} port {seen.port}, not by the router",
            f"nur in der MAC-Tabelle von {seen.switch} Port {seen.port} gesehen, nicht vom Router")
    if protected and role in ("ti-konnektor", "server"):
        why("suggested protected: an agent or detection must never isolate it",
            "als geschützt vorgeschlagen: kein Agent und keine Erkennung darf es isolieren")
    return Suggestion(name=seen.name, ip=seen.ip, mac=mac, role=role, protected=protected, reasons=reasons,
                      rule=rule, interface=seen.interface, active=seen.active, switch=seen.switch, port=seen.port,
                      vendor=vendor, reasons_de=reasons_de)


def _interface(raw: str) -> str:
    low = raw.casefold()
    if "802.11" in low or "wlan" in low or "wifi" in low:
        return "WLAN"
    if "ethernet" in low or "lan" in low:
        return "LAN"
    return raw


def seen_from_router(hosts: Iterable[Host]) -> list[Seen]:
    """Router host list -> :class:`Seen`, one per MAC (or IP), the active entry preferred."""
    by_key: dict[str, Seen] = {}
    for h in hosts:
        s = Seen(ip=h.ip or "", mac=_safe_mac(h.mac), name=(h.name or "").strip(), interface=_interface(h.interface),
                 active=bool(h.active))
        key = s.mac or s.ip
        if not key:
            continue
        if key not in by_key or (s.active and not by_key[key].active):
            by_key[key] = s
    return list(by_key.values())


def classify(seen: Iterable[Seen], ctx: Context) -> list[Suggestion]:
    """Suggestions with unique, valid host names (an unnamed host is named after its address)."""
    out: list[Suggestion] = []
    used: set[str] = set()
    for s in seen:
        sug = suggest(s, ctx)
        base = norm_name(s.name) or ("host-" + (s.ip.replace(".", "-") if s.ip else s.mac.replace(":", "")))
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        sug.name = name
        out.append(sug)
    return sorted(out, key=_sort_key)


def _sort_key(s: Suggestion) -> tuple[int, Any, str]:
    try:
        return (0, ipaddress.ip_address(s.ip), s.name)
    except ValueError:
        return (1, 0, s.name)


def unmatched_voip(clients: list[dict[str, Any]], suggestions: list[Suggestion]) -> list[dict[str, Any]]:
    """Registered clients no host was matched to (DECT-less IP phones with another name, softphones)."""
    names = {norm_name(s.name) for s in suggestions if s.rule == "voip"}
    return [c for c in clients if not ({norm_name(str(c.get("name") or "")),
                                        norm_name(str(c.get("username") or ""))} & names)]


# --------------------------------------------------------------------------------- keep-phones
def voip_keep_set(router_hosts: Iterable[Host], phone_names: Iterable[str]) -> tuple[set[str], set[str]]:
    """``(ips, macs)`` of the hosts the box's registered VoIP clients run on, for ``keep_voip_clients``.

    Called where keep-phones computes what it keeps, with the router's current host list and the
    phone names of its ``X_VoIP1`` clients, so a handset registered today is kept today. A host is
    kept when its name matches a client's phone name; when some registered clients match no host
    name, hosts with an IP phone maker's MAC prefix are kept too (a new handset that still has its
    factory name). Nothing else is kept.
    """
    clients = [{"name": n} for n in phone_names if n]
    ips: set[str] = set()
    macs: set[str] = set()
    matched: set[str] = set()
    seen = seen_from_router(router_hosts)
    for s in seen:
        client = voip_match(s.name, clients)
        if client is not None:
            matched.add(norm_name(str(client["name"])))
            if s.ip:
                ips.add(s.ip)
            if s.mac:
                macs.add(s.mac)
    if len(matched) < len({norm_name(c["name"]) for c in clients}):
        for s in seen:
            found = vendor_of(s.mac) if s.mac else None
            if found and found[1].kind == "phone":
                if s.ip:
                    ips.add(s.ip)
                macs.add(s.mac)
    return ips, macs


# ---------------------------------------------------------------------------------- gathering
def default_gateway(route_file: Path = Path("/proc/net/route")) -> str | None:
    """The IPv4 default gateway from the kernel's routing table (no packet sent)."""
    try:
        lines = route_file.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        cols = line.split()
        if len(cols) > 2 and cols[1] == "00000000" and cols[2] != "00000000":
            return socket.inet_ntoa(int(cols[2], 16).to_bytes(4, "little"))
    return None


def local_address_towards(address: str) -> tuple[str, str]:
    """``(ip, mac)`` of this box on the way to ``address`` (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((address, 9))
            ip = str(sock.getsockname()[0])
    except OSError:
        return "", ""
    if ipaddress.ip_address(ip).is_loopback:
        return "", ""
    mac = ""
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=5).stdout
        iface = next((ln.split()[1] for ln in out.splitlines() if f" {ip}/" in ln), "")
        if iface:
            mac = _safe_mac(Path(f"/sys/class/net/{iface}/address").read_text(encoding="ascii").strip())
    except (OSError, subprocess.SubprocessError):
        mac = ""
    return ip, mac


ROUTER_PORTS: tuple[tuple[int, str], ...] = ((49000, "fritzbox"), (80, "speedport"))


def guess_router_driver(address: str, timeout: float = 2.0,
                        ports: tuple[tuple[int, str], ...] = ROUTER_PORTS) -> str | None:
    """``fritzbox`` if TR-064 (49000) answers, ``speedport`` if only HTTP (80) does, else ``None``."""
    for port, driver in ports:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return driver
        except OSError:
            continue
    return None


def probe_ports(ips: Iterable[str], ports: Iterable[int] = tuple(PROBE_PORTS), timeout: float = 0.5) -> \
        dict[str, list[int]]:
    """Opt-in: which of ``ports`` accept a TCP connection, for private LAN addresses only."""
    targets = []
    for ip in ips:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            continue
        if addr.version == 4 and addr.is_private and not addr.is_loopback and not addr.is_link_local:
            targets.append(ip)

    def one(ip: str) -> tuple[str, list[int]]:
        open_ports = []
        for port in ports:
            try:
                with socket.create_connection((ip, port), timeout=timeout):
                    open_ports.append(port)
            except OSError:
                continue
        return ip, open_ports

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {ip: found for ip, found in pool.map(one, targets) if found}


def read_router(drv: RouterDriver) -> tuple[dict[str, Any], list[Host], list[dict[str, Any]], list[str]]:
    """``(facts, hosts, voip_clients, warnings)`` from an opened router driver, read-only."""
    warnings: list[str] = []
    facts: dict[str, Any] = {"device": drv.name, "driver": type(drv).__name__, "address": drv.address}
    try:
        facts.update(drv.check())
    except NotPermitted as exc:  # discovery only reads; the rights are doctor's business
        warnings.append(str(exc))
    info = getattr(drv, "router_info", None)
    if callable(info):
        try:
            facts.update(info())
        except DriverError as exc:
            warnings.append(f"router details: {exc}")
    try:
        facts["wlans"] = [asdict(w) for w in drv.wlan_status()]
    except DriverError as exc:
        warnings.append(f"WLAN: {exc}")
    hosts = drv.hosts()
    clients: list[dict[str, Any]] = []
    voip = getattr(drv, "voip_clients", None)
    try:
        clients = list(voip()) if callable(voip) else [{"name": n} for n in drv.telephony().phones]
    except DriverError as exc:
        warnings.append(f"telephony: {exc}")
    if not callable(voip):
        warnings.append(f"{drv.name}: this router does not list the IP phones registered at it; phones are "
                        "suggested by name or maker prefix only, check them")
    return facts, hosts, clients, warnings


def read_switch(drv: SwitchDriver, device: Device | None) -> tuple[dict[str, Any], list[Seen]]:
    """What a switch says about itself and the port of every MAC it learned (uplinks left out)."""
    facts: dict[str, Any] = {"device": drv.name, "address": drv.address}
    facts.update(drv.check())
    sysinfo = getattr(drv, "system_info", None)
    if callable(sysinfo):
        facts.update(sysinfo())
    skip = set(device.uplinks) if device else set()
    if device and device.controller_port:
        skip.add(device.controller_port)
    seen: list[Seen] = []
    ports: dict[str, list[str]] = {}
    for entry in drv.mac_table():
        mac = _safe_mac(entry.mac)
        if not mac or entry.port in skip:
            continue
        ports.setdefault(entry.port, []).append(mac)
        seen.append(Seen(mac=mac, switch=drv.name, port=entry.port, source="switch", interface="LAN"))
    facts["ports"] = {p: sorted(m) for p, m in sorted(ports.items())}
    return facts, seen


def merge_switch_ports(router_seen: list[Seen], switch_seen: list[Seen]) -> list[Seen]:
    """Give router hosts their switch port; add MACs only a switch saw. A MAC on two ports keeps the first."""
    by_mac = {s.mac: s for s in router_seen if s.mac}
    extra: dict[str, Seen] = {}
    for s in switch_seen:
        host = by_mac.get(s.mac)
        if host is not None:
            if not host.switch:
                host.switch, host.port = s.switch, s.port
        elif s.mac not in extra:
            extra[s.mac] = s
    return router_seen + list(extra.values())


def discover(policy: Policy | None, *, router: Device | None = None, base_dir: Path | None = None,
             probe: bool = False, with_switches: bool = True, kiosks: set[str] | None = None) -> Discovery:
    """Ask the router (and the policy's switches), classify every host; changes nothing anywhere.

    ``kiosks``: names of the enrolled kiosk tablets (``notaus.api.auth.kiosk_names``), given by the caller
    so that discovery does not reach up into the API's token store.
    """
    from notaus.controller.devices import build_driver

    result = Discovery(probed=probe)
    devices: list[Device] = list(policy.devices) if policy else []
    if router is None:
        routers = [d for d in devices if d.role == "router"]
        if not routers:
            raise ValueError("no router to ask: give --router ADDRESS (or a policy with a router device)")
        router = routers[0]
    drv = build_driver(router, base_dir)
    if not isinstance(drv, RouterDriver):
        raise ValueError(f"{router.name} is not a router")
    try:
        drv.open()
        facts, hosts, clients, warnings = read_router(drv)
    finally:
        _close(drv)
    facts["device"], facts["driver"] = router.name, router.driver
    result.router, result.voip_clients, result.warnings = facts, clients, warnings
    seen = seen_from_router(hosts)

    if with_switches:
        switch_seen: list[Seen] = []
        for dev in (d for d in devices if d.role == "switch"):
            try:
                sdrv = build_driver(dev, base_dir)
            except (ValueError, KeyError, ImportError) as exc:
                result.warnings.append(f"switch {dev.name}: {exc}")
                continue
            try:
                sdrv.open()
                assert isinstance(sdrv, SwitchDriver)
                sfacts, sseen = read_switch(sdrv, dev)
                result.switches.append(sfacts)
                switch_seen += sseen
            except DriverError as exc:
                result.warnings.append(f"switch {dev.name}: {exc}")
            finally:
                _close(sdrv)
        seen = merge_switch_ports(seen, switch_seen)

    ctl_ip = policy.controller.ip if policy and policy.controller.ip else ""
    ctl_mac = policy.controller.mac if policy and policy.controller.mac else ""
    if not ctl_ip:
        ctl_ip, auto_mac = local_address_towards(router.address)
        ctl_mac = ctl_mac or auto_mac
    known = {d.address: (d.name, str(d.role)) for d in devices} | {router.address: (router.name, "router")}
    ctx = Context(controller_ip=ctl_ip or "", controller_mac=ctl_mac or "", devices=known,
                  voip_clients=clients, kiosk_names={norm_name(k) for k in (kiosks or ())})
    if probe:
        ctx.open_ports = probe_ports(s.ip for s in seen if s.ip)
    result.router["controller"] = {"ip": ctl_ip, "mac": ctl_mac}
    result.hosts = [s for s in classify(seen, ctx) if s.rule != "device" or s.role not in ("router", "switch")]
    result.unmatched_voip = unmatched_voip(clients, result.hosts)
    for c in result.unmatched_voip:
        result.warnings.append(f"registered VoIP client '{c.get('name') or c.get('username')}' matched no host by "
                               "name: name the phone's entry in the box's host list like the telephony device")
    return result


def _close(drv: Driver) -> None:
    with contextlib.suppress(Exception):  # closing must not hide what was found
        drv.close()


# ------------------------------------------------------------------------------------ drafting
def _flow(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, default_flow_style=True, width=10_000, allow_unicode=True, sort_keys=False).strip()


def _device_entry(dev: Device) -> dict[str, Any]:
    """A device for the draft; a plain password becomes a password_file the provider fills in."""
    data = dev.model_dump(mode="json", exclude_defaults=True)
    data["name"], data["driver"], data["address"] = dev.name, dev.driver, dev.address
    if "password" in data:
        data.pop("password")
        data["password_file"] = f"secrets/{dev.name}.password"
    return data


def draft_policy(result: Discovery, policy: Policy | None, router: Device | None = None) -> dict[str, Any]:
    """The draft as data (hosts without their reasons; :func:`render_draft` adds those as comments)."""
    devices = [_device_entry(d) for d in (policy.devices if policy else [])]
    if router is not None and not any(d["name"] == router.name for d in devices):
        devices.insert(0, _device_entry(router))
    controller: dict[str, Any] = {}
    if policy:
        controller = policy.controller.model_dump(mode="json", exclude_defaults=True)
    ctl = result.router.get("controller", {})
    if ctl.get("ip") and "ip" not in controller:
        controller["ip"] = ctl["ip"]
    if ctl.get("mac") and "mac" not in controller:
        controller["mac"] = ctl["mac"]
    hosts = []
    for h in result.hosts:
        entry: dict[str, Any] = {"name": h.name}
        if h.ip:
            entry["ip"] = h.ip
        if h.mac:
            entry["mac"] = h.mac
        entry["role"] = h.role
        if h.protected:
            entry["protected"] = True
        if h.switch and h.port:
            entry["switch"], entry["port"] = h.switch, h.port
        hosts.append(entry)
    keep = {"description": "PCs vom Internet sperren, Telefone behalten", "cut_wan": False, "wlan_off": True,
            "block_clients": True, "keep_roles": ["phone", "ti-konnektor"], "keep_voip_clients": True}
    profiles: dict[str, Any] = {"full": {"description": "Internet trennen und WLAN aus", "cut_wan": True,
                                         "wlan_off": True},
                                "keep-phones": keep}
    if policy:
        profiles = {k: v.model_dump(mode="json") for k, v in policy.profiles.items()}
        profiles["keep-phones"] = {**profiles.get("keep-phones", {}), "keep_voip_clients": True}
    draft: dict[str, Any] = {"version": (policy.version + 1) if policy else 1,
                             "practice": policy.practice if policy else "Praxis",
                             "controller": controller, "devices": devices, "hosts": hosts, "profiles": profiles}
    if policy:
        draft["guardrails"] = policy.guardrails.model_dump(mode="json")
        draft["contacts"] = policy.contacts.model_dump(mode="json")
    return draft


def render_draft(result: Discovery, policy: Policy | None, router: Device | None = None, lang: str = "de") -> str:
    """YAML with a header, the router facts, and every host's reasons (German by default) as comments above it."""
    data = draft_policy(result, policy, router)
    r = result.router
    conn = r.get("connection", {})
    ipv6 = r.get("ipv6", {})
    head = ["# notaus discover – ENTWURF / DRAFT: prüfen, dann `notaus policy check` und signieren.",
            "# Nothing was changed on any device; this file is never applied by discover itself.",
            f"# router {r.get('device', '')} {r.get('address', '')}: {r.get('vendor', '')} {r.get('model', '')} "
            f"firmware {r.get('firmware', '')}".rstrip(),
            f"# connection: {conn.get('service', '')} {conn.get('access_type', '')} {conn.get('transport', '')} "
            f"({conn.get('status', '')}), IPv6: "
            f"{'active ' + str(ipv6.get('prefix', '')) if ipv6.get('active') else 'no address'}"]
    for w in r.get("wlans", []):
        head.append(f"# WLAN {w['index']}: {w['ssid']} ({'on' if w['enabled'] else 'off'}"
                    f"{', guest' if w.get('guest') else ''})")
    for c in result.voip_clients:
        head.append(f"# VoIP client at the box: {c.get('name', '')} (internal {c.get('internal', '') or '-'}, "
                    f"user {c.get('username', '') or '-'})")
    for s in result.switches:
        descr = str(s.get("sys_descr", "")).splitlines()[0] if s.get("sys_descr") else ""
        head.append(f"# switch {s['device']} {s.get('address', '')}: {descr}".rstrip())
        for n in s.get("lldp", []):
            head.append(f"#   LLDP: port {n.get('local_port')} -> {n.get('name')}")
    for w in result.warnings:
        head.append(f"# WARNUNG/WARNING: {w}")
    if result.probed:
        head.append(f"# probed TCP ports {', '.join(map(str, PROBE_PORTS))} on private LAN addresses (--probe)")
    body = {k: v for k, v in data.items() if k != "hosts"}
    out = head + [""]
    for key, value in body.items():
        if key == "profiles":
            out.append(_hosts_block(data["hosts"], result.hosts, lang))
        out.append(yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=120).rstrip())
    if "profiles" not in body:
        out.append(_hosts_block(data["hosts"], result.hosts, lang))
    return "\n".join(out) + "\n"


def _hosts_block(entries: list[dict[str, Any]], suggestions: list[Suggestion], lang: str) -> str:
    lines = ["hosts:"] if entries else ["hosts: []"]
    de = lang == "de"
    for entry, sug in zip(entries, suggestions, strict=True):
        state = (("aktiv" if de else "active") if sug.active else ("inaktiv" if de else "inactive")) + (
            f", {sug.interface}" if sug.interface else "")
        lines.append(f"  # {state}{', ' + sug.vendor if sug.vendor else ''}; {'warum' if de else 'why'}: "
                     + "; ".join(sug.why(lang)))
        lines.append(f"  - {_flow(entry)}")
    return "\n".join(lines)
