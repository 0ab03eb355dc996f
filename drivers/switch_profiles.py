"""Vendor command profiles for the netmiko switch driver, as data.

Why data: the switches small practices really have differ only in *which* commands shut a port,
move it to a VLAN and show its state, and in how the answer looks. Keeping that in one table
(instead of ``if vendor == ...`` branches) lets an IT provider add a model by adding an entry,
and lets tests run every profile through the same driver code.

Placeholders in command templates: ``{port}`` (the switch's own port name, after
``config_port_rewrite``), ``{vlan}`` (target VLAN), ``{old_vlan}`` (the VLAN the port had before;
commands that mention it are skipped when it is unknown or equal to ``{vlan}``).

Readers: every ``PortReader`` runs one show command and contributes fields to ``PortState`` by port
name (a vendor may show admin state and VLAN in different commands). ``parser`` is either
``"regex"`` (``pattern`` with named groups ``port``, ``admin``, ``oper``, ``vlan``, ``status``) or the
name of a structured parser in :data:`JSON_PARSERS` (Linux ``ip -j``/``bridge -j``) or
:data:`drivers.switch_parsers.PARSERS` (ntc-templates, where a template exists; hand-written otherwise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PortReader:
    """One show command and how to read per-port facts out of it."""

    command: str
    parser: str = "regex"
    pattern: str = ""
    #: words (lower-case) in the ``admin`` / ``oper`` / ``status`` group that mean "up"
    up_words: tuple[str, ...] = ("up", "yes", "enable", "enabled", "connected", "linkup")
    #: ``status`` words that mean "administratively down" (Cisco's single status column)
    admin_down_words: tuple[str, ...] = ("disabled", "err-disabled")


@dataclass(frozen=True)
class MacReader:
    """The MAC address table command and its parser (named groups ``mac``, ``port``, ``vlan``)."""

    command: str
    parser: str = "regex"
    pattern: str = ""


@dataclass(frozen=True)
class SwitchProfile:
    """Everything vendor-specific the netmiko driver needs for one ``device_type``."""

    device_type: str                       # netmiko device_type used for ConnectHandler
    port_down: tuple[str, ...]
    port_up: tuple[str, ...]
    set_vlan: tuple[str, ...]
    port_readers: tuple[PortReader, ...]
    mac_reader: MacReader
    save_command: str | None = None
    #: where the profile can read one port's access VLAN more exactly than ``port_readers`` (``{port}`` allowed)
    vlan_reader: PortReader | None = None
    #: answer for a save confirmation prompt: (regex of the prompt, answer)
    save_confirm: tuple[str, str] | None = None
    #: change commands go through config mode (``send_config_set``) or are plain commands (Linux)
    config_mode: bool = True
    #: enter privileged mode after login (``enable``) when the prompt is not privileged
    needs_enable: bool = True
    #: (regex, replacement) turning a port name as shown into the name config mode expects
    config_port_rewrite: tuple[str, str] | None = None
    #: output fragments that mean a command failed
    error_patterns: tuple[str, ...] = (r"^\s*% ?(Invalid|Incomplete|Ambiguous|Unknown|Error)",
                                       r"Invalid input", r"^\s*Error:")
    #: output fragments that mean "no such port" (become ``NotFound``)
    unknown_port_patterns: tuple[str, ...] = (r"Invalid (interface|port)", r"not a valid (port|interface)",
                                              r"Module not present", r"Port .* not found")
    notes: str = ""

    def config_port(self, port: str) -> str:
        if self.config_port_rewrite is None:
            return port
        pattern, repl = self.config_port_rewrite
        return re.sub(pattern, repl, port)


# ----------------------------------------------------------------------------- structured parsers
def _ip_link_json(text: str) -> list[dict[str, Any]]:
    """``ip -j link show``: bridge ports are the entries with a ``master``."""
    rows: list[dict[str, Any]] = []
    for link in json.loads(_json_part(text)):
        if not link.get("master"):
            continue
        flags = link.get("flags", [])
        rows.append({"port": link["ifname"], "admin_up": "UP" in flags,
                     "oper_up": "LOWER_UP" in flags and "UP" in flags})
    return rows


def _bridge_vlan_json(text: str) -> list[dict[str, Any]]:
    """``bridge -j vlan show``: the PVID of each port (iproute2 >= 5.x shapes)."""
    rows: list[dict[str, Any]] = []
    for entry in json.loads(_json_part(text)):
        for vlan in entry.get("vlans", []):
            if "PVID" in vlan.get("flags", []):
                rows.append({"port": entry["ifname"], "vlan": int(vlan["vlan"])})
    return rows


def _bridge_fdb_json(text: str) -> list[dict[str, Any]]:
    """``bridge -j fdb show``: learned entries only (no permanent/self entries of the bridge)."""
    rows: list[dict[str, Any]] = []
    for entry in json.loads(_json_part(text)):
        if entry.get("state") == "permanent" or "master" not in entry:
            continue
        if entry.get("ifname") == entry.get("master"):
            continue
        rows.append({"mac": entry["mac"], "port": entry["ifname"], "vlan": entry.get("vlan")})
    return rows


def _json_part(text: str) -> str:
    """Strip a shell echo or prompt fragments around the JSON document."""
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=0)
    end = max(text.rfind("]"), text.rfind("}")) + 1
    return text[start:end] if end > start else "[]"


JSON_PARSERS: dict[str, Callable[[str], list[dict[str, Any]]]] = {
    "ip_link_json": _ip_link_json,
    "bridge_vlan_json": _bridge_vlan_json,
    "bridge_fdb_json": _bridge_fdb_json,
}

_MAC_COLON = r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"

# ----------------------------------------------------------------------------------- the profiles
PROFILES: dict[str, SwitchProfile] = {
    "cisco_ios": SwitchProfile(
        device_type="cisco_ios",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "switchport access vlan {vlan}"),
        port_readers=(PortReader(command="show interfaces status", parser="ntc_ios_status"),),
        mac_reader=MacReader(command="show mac address-table", parser="ntc_ios_mac"),
        vlan_reader=PortReader(command="show interfaces {port} switchport", parser="ntc_ios_switchport"),
        save_command="write memory",
        notes="Catalyst 2960/3560/9200 and IOS-XE; access ports. Parsed with ntc-templates.",
    ),
    "cisco_s300": SwitchProfile(
        device_type="cisco_s300",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "switchport mode access", "switchport access vlan {vlan}"),
        port_readers=(
            PortReader(command="show interfaces configuration", parser="s300_configuration"),
            PortReader(command="show interfaces status", parser="ntc_s300_status"),
        ),
        mac_reader=MacReader(command="show mac address-table", parser="ntc_s300_mac"),
        vlan_reader=PortReader(command="show interfaces switchport {port}", parser="ntc_s300_switchport"),
        save_command="copy running-config startup-config",
        save_confirm=(r"\(Y/N\)", "Y"),
        notes="Cisco SG300/SG350/CBS250/CBS350; the VLAN is read per port from 'show interfaces switchport'.",
    ),
    "hp_procurve": SwitchProfile(
        device_type="hp_procurve",
        port_down=("interface {port} disable",),
        port_up=("interface {port} enable",),
        set_vlan=("vlan {vlan} untagged {port}",),
        port_readers=(PortReader(command="show interfaces brief", parser="ntc_procurve_brief"),),
        mac_reader=MacReader(command="show mac-address", parser="ntc_procurve_mac"),
        vlan_reader=PortReader(command="show interfaces status", parser="ntc_procurve_status"),
        save_command="write memory",
        notes="HP/Aruba 2530/2540/2920 (ProVision); VLAN via 'vlan N untagged PORT' (untagged moves); "
              "the port's untagged VLAN is read from 'show interfaces status' (16.x firmware).",
    ),
    "aruba_aoscx": SwitchProfile(
        device_type="aruba_aoscx",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "vlan access {vlan}"),
        port_readers=(PortReader(command="show interface", parser="ntc_aoscx_interface"),),
        mac_reader=MacReader(command="show mac-address-table", parser="ntc_aoscx_mac"),
        save_command="write memory",
        needs_enable=False,
        notes="Aruba CX 6000/6100/6200; parsed with ntc-templates ('show interface' carries admin, link and "
              "access VLAN).",
    ),
    "netgear_prosafe": SwitchProfile(
        device_type="netgear_prosafe",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "vlan participation include {vlan}", "vlan pvid {vlan}",
                  "vlan participation exclude {old_vlan}"),
        port_readers=(
            PortReader(command="show port all",
                       pattern=r"^\s*(?P<port>\d+/\d+(?:/\d+)?)\s+(?:\S+\s+)?(?P<admin>Enable|Disable)\s+"
                               r".*?\s(?P<oper>Up|Down)\s"),
            PortReader(command="show vlan port all",
                       # Interface, PVID configured, PVID current (taken), Acceptable Frame Types, ...
                       pattern=r"^\s*(?P<port>\d+/\d+(?:/\d+)?)\s+(?:\d+\s+)?(?P<vlan>\d+)\s+"
                               r"(?:Admit All|VLAN Only|Enable|Disable)"),
        ),
        mac_reader=MacReader(
            command="show mac-addr-table",
            pattern=rf"^\s*(?P<vlan>\d+)\s+(?P<mac>{_MAC_COLON})\s+(?P<port>\d+/\d+(?:/\d+)?)\s"),
        save_command="write memory confirm",
        notes="NETGEAR M4100/M4300 (FASTPATH CLI); smart-managed GS7xx have no SSH CLI - use SNMP.",
    ),
    "tplink_jetstream": SwitchProfile(
        device_type="tplink_jetstream",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "switchport general allowed vlan {vlan} untagged",
                  "switchport pvid {vlan}", "no switchport general allowed vlan {old_vlan}"),
        port_readers=(
            PortReader(command="show interface configuration",
                       pattern=r"^(?P<port>(?:Gi|Te|Fa)\d+/\d+/\d+)\s+(?P<admin>Enable|Disable)\b"),
            PortReader(command="show interface status",
                       pattern=r"^(?P<port>(?:Gi|Te|Fa)\d+/\d+/\d+)\s+(?P<oper>LinkUp|LinkDown)\b"),
        ),
        mac_reader=MacReader(
            command="show mac address-table all",
            pattern=rf"^(?P<mac>{_MAC_COLON})\s+(?P<vlan>\d+)\s+(?P<port>(?:Gi|Te|Fa)\d+/\d+/\d+)"),
        save_command="copy running-config startup-config",
        config_port_rewrite=(r"^Gi(\d)", r"gigabitEthernet \1"),
        notes="TP-Link JetStream T1600G/T2600G/SG3428; VLAN not read (vlan=None): the VLAN method needs "
              "options.access_vlan (the VLAN release restores) on this switch.",
    ),
    "ubiquiti_edgeswitch": SwitchProfile(
        device_type="ubiquiti_edgeswitch",
        port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"),
        set_vlan=("interface {port}", "vlan participation include {vlan}", "vlan untagged {vlan}",
                  "vlan pvid {vlan}", "vlan participation exclude {old_vlan}"),
        port_readers=(
            PortReader(command="show port all",
                       pattern=r"^\s*(?P<port>\d+/\d+)\s+(?:\S+\s+)?(?P<admin>Enable|Disable)\s+"
                               r".*?\s(?P<oper>Up|Down)\s"),
            PortReader(command="show vlan port all",
                       pattern=r"^\s*(?P<port>\d+/\d+)\s+(?:\d+\s+)?(?P<vlan>\d+)\s+"
                               r"(?:Admit All|VLAN Only|Enable|Disable)"),
        ),
        mac_reader=MacReader(
            command="show mac-addr-table",
            pattern=rf"^\s*(?P<vlan>\d+)\s+(?P<mac>{_MAC_COLON})\s+(?P<port>\d+/\d+)\s"),
        save_command="write memory",
        save_confirm=(r"\(y/n\)", "y"),
        notes="Ubiquiti EdgeSwitch (FASTPATH CLI). UniFi switches are managed by the controller: use SNMP.",
    ),
    "linux": SwitchProfile(
        device_type="linux",
        port_down=("ip link set dev {port} down",),
        port_up=("ip link set dev {port} up",),
        set_vlan=("bridge vlan add dev {port} vid {vlan} pvid untagged",
                  "bridge vlan del dev {port} vid {old_vlan}"),
        port_readers=(PortReader(command="ip -j link show", parser="ip_link_json"),
                      PortReader(command="bridge -j vlan show", parser="bridge_vlan_json")),
        mac_reader=MacReader(command="bridge -j fdb show", parser="bridge_fdb_json"),
        save_command=None,
        config_mode=False,
        needs_enable=False,
        error_patterns=(r"RTNETLINK answers", r"^Error:", r"command not found", r"Operation not permitted"),
        unknown_port_patterns=(r"Cannot find device", r"does not exist"),
        notes="A Linux bridge (vlan_filtering=1 for VLAN moves); log in as root or with CAP_NET_ADMIN.",
    ),
}


def profile_for(device_type: str) -> SwitchProfile:
    """The profile for a policy ``device_type``; ``KeyError`` names the known ones."""
    try:
        return PROFILES[device_type]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown switch device_type {device_type!r}; known: {known}") from None


def _structured(name: str) -> Callable[[str], list[dict[str, Any]]]:
    from notaus.drivers.switch_parsers import PARSERS

    return JSON_PARSERS.get(name) or PARSERS[name]


def parse_ports(reader: PortReader, text: str) -> list[dict[str, Any]]:
    """Rows of ``{"port", "admin_up"?, "oper_up"?, "vlan"?}`` from one show command's output."""
    if reader.parser != "regex":
        return _structured(reader.parser)(text)
    rows: list[dict[str, Any]] = []
    rx = re.compile(reader.pattern, re.MULTILINE)
    for m in rx.finditer(text):
        g = m.groupdict()
        row: dict[str, Any] = {"port": g["port"]}
        if g.get("status") is not None:
            status = g["status"].lower()
            row["admin_up"] = status not in reader.admin_down_words
            row["oper_up"] = status in reader.up_words
        if g.get("admin") is not None:
            row["admin_up"] = g["admin"].lower() in reader.up_words
        if g.get("oper") is not None:
            row["oper_up"] = g["oper"].lower() in reader.up_words
        if g.get("vlan") is not None:
            row["vlan"] = int(g["vlan"]) if g["vlan"].isdigit() else None
        rows.append(row)
    return rows


def parse_macs(reader: MacReader, text: str) -> list[dict[str, Any]]:
    """Rows of ``{"mac", "port", "vlan"}`` (MAC not yet normalised)."""
    if reader.parser != "regex":
        return _structured(reader.parser)(text)
    rows: list[dict[str, Any]] = []
    for m in re.finditer(reader.pattern, text, re.MULTILINE):
        g = m.groupdict()
        vlan = g.get("vlan")
        rows.append({"mac": g["mac"], "port": g["port"], "vlan": int(vlan) if vlan else None})
    return rows
