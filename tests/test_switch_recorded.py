"""Our switch parsers on outputs of real devices (ntc-templates recordings) and on vendor-reference layouts.

Each ``.raw`` under ``tests/fixtures/ntc`` is a real device's output and its ``.yml`` the parse that the
ntc-templates project (not us) expects; we check that our mapping to ports/MAC rows agrees with it row by
row, and that descriptions holding status words never change a port's state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from notaus.drivers import switch_parsers as sp
from notaus.drivers.netmiko_switch import normalize_mac
from notaus.drivers.switch_profiles import PROFILES, parse_macs, parse_ports

NTC = Path(__file__).parent / "fixtures" / "ntc"
REF = Path(__file__).parent / "fixtures" / "vendor_ref"


def _int(v: Any) -> int | None:
    v = v[0] if isinstance(v, list) and len(v) == 1 else v
    return int(v) if isinstance(v, str) and v.isdigit() and 1 <= int(v) <= 4094 else None


# parser, fixture dir, how ntc's expected row maps to ours (None: ntc row is not a port/MAC for us)
CASES: dict[str, tuple[Any, str, Any]] = {
    "ios_status": (sp.ios_status, "cisco_ios/show_interfaces_status", lambda r: {
        "port": r["port"], "admin_up": r["status"] not in ("disabled", "err-disabled"),
        "oper_up": r["status"] in ("connected", "up", "monitoring"), "vlan": _int(r["vlan_id"]),
        "description": r["name"]}),
    "ios_mac": (sp.ios_mac, "cisco_ios/show_mac-address-table", lambda r: [
        {"mac": r["destination_address"], "port": sp._ios_short(p), "vlan": _int(r["vlan_id"])}
        for p in r["destination_port"]]),
    "ios_switchport": (sp.ios_switchport, "cisco_ios/show_interfaces_switchport", lambda r: {
        "port": sp._ios_short(r["interface"]), "vlan": _int(r["access_vlan"])}),
    "s300_status": (sp.s300_status, "cisco_s300/show_interfaces_status", lambda r: {
        "port": r["port"], "oper_up": r["linkstate"] == "Up"}),
    "s300_mac": (sp.s300_mac, "cisco_s300/show_mac_address-table", lambda r: {
        "mac": r["destination_address"], "port": r["destination_port"], "vlan": _int(r["vlan_id"])}
        if r["type"] == "dynamic" else None),
    "s300_switchport": (sp.s300_switchport, "cisco_s300/show_interfaces_switchport", lambda r: {
        "port": r["interface"], "vlan": _int(r["native_vlan"])}),
    "procurve_brief": (sp.procurve_brief, "hp_procurve/show_interfaces_brief", lambda r: {
        "port": r["port"], "admin_up": r["enabled"] == "Yes", "oper_up": r["status"] == "Up"}),
    "procurve_status": (sp.procurve_status, "hp_procurve/show_interfaces_status", lambda r: {
        "port": r["port"], "vlan": _int(r["vlan_untagged"]), "description": r["name"]}),
    "procurve_mac": (sp.procurve_mac, "hp_procurve/show_mac-address", lambda r: {
        "mac": r["mac_address"], "port": r["port"], "vlan": _int(r["vlan_id"])}),
    "aoscx_interface": (sp.aoscx_interface, "aruba_aoscx/show_interface", lambda r: {
        "port": r["interface"], "admin_up": r["link_admin"] == "up", "oper_up": r["link_status"] == "up",
        "vlan": _int(r["vlan_access"]), "description": r["interface_desc"]}
        if r["interface"].count("/") == 2 else None),
    "aoscx_mac": (sp.aoscx_mac, "aruba_aoscx/show_mac-address-table", lambda r: {
        "mac": r["mac_address"], "port": r["port"], "vlan": _int(r["vlan_id"])}),
}

RECORDINGS = [(case, raw) for case, (_fn, folder, _m) in CASES.items() for raw in sorted((NTC / folder).glob("*.raw"))]


@pytest.mark.parametrize(("case", "raw"), RECORDINGS, ids=[f"{c}-{r.stem}" for c, r in RECORDINGS])
def test_parser_agrees_with_the_recorded_expected_parse(case: str, raw: Path) -> None:
    fn, _folder, mapping = CASES[case]
    expected_rows: list[dict[str, Any]] = []
    for r in yaml.safe_load(raw.with_suffix(".yml").read_text())["parsed_sample"]:
        mapped = mapping(r)
        if mapped is None:
            continue
        expected_rows += mapped if isinstance(mapped, list) else [mapped]
    got = fn(raw.read_text())
    assert got == expected_rows


def test_descriptions_with_status_words_do_not_change_the_state() -> None:
    """The failure from the field: a description holding "connected"/"disabled" read as the port's status."""
    rows = {r["port"]: r for r in sp.ios_status(
        (NTC / "cisco_ios/show_interfaces_status/cisco_ios_show_interfaces_status_with_keywords_in_name.raw")
        .read_text())}
    assert rows["Fa0/1"]["description"] == "*** connected to U"
    assert rows["Fa0/1"]["oper_up"] is False and rows["Fa0/1"]["admin_up"] is True   # notconnect
    assert rows["Fa0/6"]["admin_up"] is False                                          # disabled
    real = ("Port      Name               Status       Vlan       Duplex  Speed Type\n"
            "Gi1/0/3   PC connected Dose  disabled     1            auto   auto 10/100/1000BaseTX\n"
            "Gi1/0/4   Reserve disabled 2 connected    1          a-full a-1000 10/100/1000BaseTX\n")
    rows = {r["port"]: r for r in sp.ios_status(real)}
    assert rows["Gi1/0/3"]["admin_up"] is False and rows["Gi1/0/3"]["oper_up"] is False
    assert rows["Gi1/0/4"]["admin_up"] is True and rows["Gi1/0/4"]["oper_up"] is True


def test_unreadable_output_is_a_parse_error_not_an_empty_table() -> None:
    with pytest.raises(sp.ParseError, match="hp_procurve"):
        sp.procurve_status("  Port  Name  Status\n  this is not what a ProCurve prints\n")


# ------------------------------------------------------------------ profiles without ntc recordings
REF_CASES = {
    "netgear_prosafe": ({"0/1": (True, True, 1), "0/2": (False, False, 1), "0/3": (True, False, 10),
                         "0/4": (True, True, 1)}, 3),
    "ubiquiti_edgeswitch": ({"0/1": (True, True, 1), "0/2": (False, False, 1), "0/3": (True, False, 10),
                             "0/4": (True, True, 1)}, 3),
    "tplink_jetstream": ({"Gi1/0/1": (True, True, None), "Gi1/0/2": (False, False, None),
                          "Gi1/0/3": (True, False, None), "Gi1/0/4": (True, True, None)}, 2),
}


@pytest.mark.parametrize("profile", sorted(REF_CASES))
def test_vendor_reference_layouts(profile: str) -> None:
    prof = PROFILES[profile]
    folder = REF / profile
    rows: dict[str, dict[str, Any]] = {}
    for i, reader in enumerate(prof.port_readers):
        for row in parse_ports(reader, (folder / (reader.command.replace(" ", "_") + ".txt")).read_text()):
            if i == 0 or row["port"] in rows:
                rows.setdefault(row["port"], {}).update(row)
    expected, n_macs = REF_CASES[profile]
    assert {p: (r.get("admin_up"), r.get("oper_up"), r.get("vlan")) for p, r in rows.items()} == expected
    macs = parse_macs(prof.mac_reader, (folder / (prof.mac_reader.command.replace(" ", "_") + ".txt")).read_text())
    assert len(macs) == n_macs and all(normalize_mac(m["mac"]) for m in macs)


def test_s300_admin_state_from_vendor_reference() -> None:
    rows = sp.s300_configuration((REF / "cisco_s300/show_interfaces_configuration.txt").read_text())
    assert {r["port"]: r["admin_up"] for r in rows} == {"gi1": True, "gi2": True, "gi4": False, "gi7": True}
