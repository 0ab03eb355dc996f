"""Structured parsers for switch show commands: ntc-templates first, hand-written only where none exists.

Why community templates: a real ``show interfaces status`` carries the port description as a column
that may hold any words ("PC connected Dose 3", "Reserve disabled 2019"); a regex that takes the
first status word on the line reads a shut port as up. The ntc-templates project (Network to Code,
Apache-2.0) keeps TextFSM templates per platform and command, tested on hundreds of outputs of real
devices, so we use them through :func:`ntc_templates.parse.parse_output` and only map their fields
to ours. Hand-written parsers below exist where ntc-templates has no template for the command we
need (Sx300 ``show interfaces configuration``); each is tested on vendor-reference output
(``tests/fixtures``).

Every parser returns plain rows: ports ``{"port", "admin_up"?, "oper_up"?, "vlan"?, "description"?}``,
MAC entries ``{"mac", "port", "vlan"}`` (MAC not yet normalised).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Rows = list[dict[str, Any]]


class ParseError(ValueError):
    """The output could not be read with the template (wrong device_type, unexpected firmware)."""


def ntc(platform: str, command: str, text: str) -> Rows:
    """Rows of ntc-templates' parse for ``platform``/``command`` (keys lower-case, values strings/lists)."""
    from ntc_templates.parse import parse_output  # imported lazily: the index is read on first use

    if not text.strip():
        return []
    try:
        rows = parse_output(platform=platform, command=command, data=text)
    except Exception as exc:  # noqa: BLE001 - textfsm raises its own error types; one actionable error
        raise ParseError(f"the {platform} template for {command!r} could not read the output "
                         f"({type(exc).__name__}: {exc})") from None
    return [dict(r) for r in rows]


def _vlan(value: Any) -> int | None:
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else ""
    value = str(value or "").strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 4094 else None


# ------------------------------------------------------------------------------------ Cisco IOS
#: IOS ``show interfaces status`` status words (one column: admin and link together)
_IOS_ADMIN_DOWN = ("disabled", "err-disabled")


_IOS_STATUS_WORDS = ("connected", "notconnect", "disabled", "err-disabled", "inactive", "monitoring", "suspended",
                     "sfpAbsent", "xcvrAbsent", "noOperMem", "up", "down")


def ios_status(text: str) -> Rows:
    """Ports from ``show interfaces status``: ntc-templates, corrected by the header's column positions.

    IOS pads the Name column to 18 characters, so the Status and Vlan columns start where the header
    says. The template's lazy ``NAME`` stops at the first status word followed by something number-like,
    so a description such as "Reserve disabled 2" would be read as status ``disabled``; where the line
    has a known status word exactly at the header's Status column, that column wins.
    """
    columns = _ios_columns(text)
    rows = []
    for r in ntc("cisco_ios", "show interfaces status", text):
        status = str(r.get("status", "")).lower()
        vlan = _vlan(r.get("vlan_id"))
        name = str(r.get("name") or "").strip()
        fixed = columns.get(r["port"])
        if fixed is not None:
            status, vlan, name = fixed[0].lower(), fixed[1], fixed[2]
        rows.append({"port": r["port"], "admin_up": status not in _IOS_ADMIN_DOWN,
                     "oper_up": status in ("connected", "up", "monitoring"), "vlan": vlan, "description": name})
    return rows


def _ios_columns(text: str) -> dict[str, tuple[str, int | None, str]]:
    """``port -> (status, vlan, name)`` read by column position under each ``Port Name Status Vlan`` header."""
    out: dict[str, tuple[str, int | None, str]] = {}
    cols: tuple[int, int, int] | None = None
    for line in text.splitlines():
        m = re.match(r"^Port\s+(Name)\s+(Status)\s+(Vlan)\b", line)
        if m:
            cols = (m.start(1), m.start(2), m.start(3))
            continue
        if cols is None or not line[:1].strip():
            continue
        name_at, status_at, vlan_at = cols
        if len(line) <= vlan_at or line[status_at - 1] != " " or line[vlan_at - 1] != " ":
            continue
        status = line[status_at:].split()[0].rstrip(":") if line[status_at:].split() else ""
        if status not in _IOS_STATUS_WORDS:
            continue
        vlan_word = line[vlan_at:].split()[0] if line[vlan_at:].split() else ""
        out[line.split()[0]] = (status, _vlan(vlan_word), line[name_at:status_at].strip())
    return out


def ios_switchport(text: str) -> Rows:
    """``show interfaces <port> switchport``: the access VLAN (what release must restore)."""
    return [{"port": _ios_short(r["interface"]), "vlan": _vlan(r.get("access_vlan"))}
            for r in ntc("cisco_ios", "show interfaces switchport", text)]


def _ios_short(name: str) -> str:
    """``GigabitEthernet1/0/5`` (switchport output) -> ``Gi1/0/5`` (status table spelling)."""
    m = re.fullmatch(r"([A-Za-z]+)([\d/.:]+)", name)
    if m is None or len(m.group(1)) <= 2:
        return name
    word = m.group(1).lower()
    short = {"gigabitethernet": "Gi", "fastethernet": "Fa", "tengigabitethernet": "Te",
             "twogigabitethernet": "Tw", "fivegigabitethernet": "Fi", "ethernet": "Et",
             "port-channel": "Po", "twentyfivegige": "Twe", "fortygigabitethernet": "Fo"}.get(word)
    return f"{short}{m.group(2)}" if short else name


def ios_mac(text: str) -> Rows:
    rows = []
    for r in ntc("cisco_ios", "show mac address-table", text):
        ports = r.get("destination_port") or []
        for port in ports if isinstance(ports, list) else [ports]:
            rows.append({"mac": r["destination_address"], "port": _ios_short(port), "vlan": _vlan(r.get("vlan_id"))})
    return rows


# ------------------------------------------------------------------------- Cisco Sx300 / CBS
def s300_status(text: str) -> Rows:
    return [{"port": r["port"], "oper_up": str(r.get("linkstate", "")).lower() == "up"}
            for r in ntc("cisco_s300", "show interfaces status", text)]


def s300_configuration(text: str) -> Rows:
    """``show interfaces configuration`` (no ntc template): admin state is the last column.

    Layout per the Cisco Sx300 CLI guide: ``Port Type Duplex Speed Neg Flow-Ctrl Admin-State
    [Back Pressure] [Mdix Mode]``; we take the first ``Up``/``Down`` after the port's columns.
    """
    rows = []
    for m in re.finditer(r"^(?P<port>(?:gi|fa|te|xg|Po)[\d/]+)\s+(?P<rest>.*)$", text, re.MULTILINE):
        admin = re.search(r"\b(Up|Down)\b", m.group("rest"))
        if admin:
            rows.append({"port": m.group("port"), "admin_up": admin.group(1) == "Up"})
    return rows


def s300_switchport(text: str) -> Rows:
    """``show interfaces switchport <port>``: the untagged (native) VLAN of the port."""
    rows = []
    for r in ntc("cisco_s300", "show interfaces switchport", text):
        vlan = _vlan(r.get("native_vlan"))
        if vlan is None:
            untagged = [v for v, rule in zip(r.get("vlan_id") or [], r.get("egress_rule") or [], strict=False)
                        if str(rule).lower() == "untagged"]
            vlan = _vlan(untagged)
        rows.append({"port": r["interface"], "vlan": vlan})
    return rows


def s300_mac(text: str) -> Rows:
    return [{"mac": r["destination_address"], "port": r["destination_port"], "vlan": _vlan(r.get("vlan_id"))}
            for r in ntc("cisco_s300", "show mac address-table", text)
            if str(r.get("type", "")).lower() == "dynamic"]


# ------------------------------------------------------------------------------- HP ProCurve
def procurve_brief(text: str) -> Rows:
    return [{"port": r["port"], "admin_up": r.get("enabled") == "Yes", "oper_up": r.get("status") == "Up"}
            for r in ntc("hp_procurve", "show interfaces brief", text)]


def procurve_mac(text: str) -> Rows:
    return [{"mac": r["mac_address"], "port": r["port"], "vlan": _vlan(r.get("vlan_id"))}
            for r in ntc("hp_procurve", "show mac-address", text)]


def procurve_status(text: str) -> Rows:
    """``show interfaces status`` (ProVision 16.x): the untagged VLAN per port ("No" = tagged only)."""
    return [{"port": r["port"], "vlan": _vlan(r.get("vlan_untagged")), "description": str(r.get("name") or "")}
            for r in ntc("hp_procurve", "show interfaces status", text)]


# -------------------------------------------------------------------------------- Aruba AOS-CX
def aoscx_interface(text: str) -> Rows:
    rows = []
    for r in ntc("aruba_aoscx", "show interface", text):
        if not re.fullmatch(r"\d+/\d+/\d+", str(r["interface"])):
            continue  # VLAN interfaces, LAGs, loopbacks: not access ports
        rows.append({"port": r["interface"], "admin_up": str(r.get("link_admin", "")).lower() == "up",
                     "oper_up": str(r.get("link_status", "")).lower() == "up",
                     "vlan": _vlan(r.get("vlan_access")), "description": str(r.get("interface_desc") or "")})
    return rows


def aoscx_mac(text: str) -> Rows:
    return [{"mac": r["mac_address"], "port": r["port"], "vlan": _vlan(r.get("vlan_id"))}
            for r in ntc("aruba_aoscx", "show mac-address-table", text)]


PARSERS: dict[str, Callable[[str], Rows]] = {
    "ntc_ios_status": ios_status,
    "ntc_ios_switchport": ios_switchport,
    "ntc_ios_mac": ios_mac,
    "ntc_s300_status": s300_status,
    "s300_configuration": s300_configuration,
    "ntc_s300_switchport": s300_switchport,
    "ntc_s300_mac": s300_mac,
    "ntc_procurve_brief": procurve_brief,
    "ntc_procurve_mac": procurve_mac,
    "ntc_procurve_status": procurve_status,
    "ntc_aoscx_interface": aoscx_interface,
    "ntc_aoscx_mac": aoscx_mac,
}
