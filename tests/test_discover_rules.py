"""One test per suggestion rule of ``notaus discover``, plus the keep-phones VoIP keep set.

The OUIs used are real IEEE MA-L assignments (see controller/oui.py for the source); the
``aa:bb:…`` MACs are locally administered and so belong to no vendor, as in the demo practice.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from notaus.controller.discover import (
    Context,
    Seen,
    classify,
    default_gateway,
    guess_router_driver,
    norm_name,
    suggest,
    voip_keep_set,
    voip_match,
)
from notaus.controller.oui import locally_administered, prefix_of, vendor_of
from notaus.drivers.base import Host

CTX = Context(controller_ip="192.168.178.2", controller_mac="aa:bb:cc:00:00:02",
              devices={"192.168.178.1": ("fritzbox", "router"), "192.168.178.3": ("sw1", "switch")},
              voip_clients=[{"name": "Telefon Empfang", "internal": "620", "username": "phone620"}],
              kiosk_names={"empfang-tablet"}, open_ports={"192.168.178.77": [9100]})


def one(**kw: object) -> tuple[str, bool, str, str]:
    s = suggest(Seen(**kw), CTX)  # type: ignore[arg-type]
    return s.role, s.protected, s.rule, " | ".join(s.reasons)


def test_controller_by_ip_and_by_mac() -> None:
    assert one(ip="192.168.178.2", name="notaus")[:3] == ("controller", False, "controller")
    role, _, rule, why = one(ip="192.168.178.99", mac="AA-BB-CC-00-00-02", name="x")
    assert (role, rule) == ("controller", "controller") and "this notaus box" in why


def test_configured_device_keeps_its_role() -> None:
    assert one(ip="192.168.178.3", name="switch")[:3] == ("switch", False, "device")


def test_registered_voip_client_by_name_is_a_phone() -> None:
    role, protected, rule, why = one(ip="192.168.178.30", mac="aa:bb:cc:dd:ee:30", name="telefon-empfang")
    assert (role, protected, rule) == ("phone", False, "voip")
    assert "registered VoIP client 'Telefon Empfang' on the box, internal number 620" in why


def test_voip_match_by_sip_user_and_normalised_name() -> None:
    clients = [{"name": "Sprechzimmer 1", "username": "phone621"}]
    assert voip_match("SPRECHZIMMER_1", clients) is clients[0]
    assert voip_match("phone621", clients) is clients[0]
    assert voip_match("sprechzimmer-2", clients) is None
    assert voip_match("", clients) is None
    assert norm_name(" Telefon  Empfang! ") == "telefon-empfang"


@pytest.mark.parametrize(("mac", "org"), [("00:1C:19:12:34:56", "secunet Security Networks AG"),
                                          ("00:25:f4:01:02:03", "KoCo Connector AG"),
                                          ("00-0F-D5-AA-BB-CC", "Schwechat - RISE")])
def test_konnektor_vendor_oui_is_protected(mac: str, org: str) -> None:
    role, protected, rule, why = one(ip="192.168.178.5", mac=mac, name="box-7")
    assert (role, protected, rule) == ("ti-konnektor", True, "oui-konnektor")
    assert f"OUI {prefix_of(mac)} ({org}, IEEE registry)" in why and "suggested protected" in why


def test_pc_engines_is_not_taken_for_secunet() -> None:
    """00:0D:B9 belongs to PC Engines in the IEEE registry, not to secunet."""
    assert vendor_of("00:0d:b9:00:00:01") is None
    assert one(ip="192.168.178.9", mac="00:0d:b9:00:00:01", name="apu")[2] == "default"


def test_enrolled_kiosk_tablet() -> None:
    role, _, rule, why = one(ip="192.168.178.80", name="Empfang Tablet")
    assert (role, rule) == ("kiosk", "kiosk-token") and "enrolled kiosk tablet" in why


def test_avm_oui_is_part_of_the_box_network() -> None:
    role, _, rule, why = one(ip="192.168.178.34", mac="C2:39:6F:FB:A3:E8", name="fritz.repeater")
    assert rule != "oui-avm"  # C2:… is locally administered, as in the recorded host list: no vendor
    role, _, rule, why = one(ip="192.168.178.35", mac="98:9B:CB:11:22:33", name="fritz.repeater")
    assert (role, rule) == ("router", "oui-avm") and "AVM" in why


@pytest.mark.parametrize(("name", "role", "protected"), [("ti-konnektor", "ti-konnektor", True),
                                                          ("KoCoBox-MED", "ti-konnektor", True),
                                                          ("drucker-empfang", "printer", False),
                                                          ("praxisserver", "server", True),
                                                          ("NAS", "server", True),
                                                          ("telefon-labor", "phone", False),
                                                          ("kiosk-wartezimmer", "kiosk", False),
                                                          ("sw-keller", "switch", False),
                                                          ("ProCurve-2530", "switch", False)])
def test_name_rules(name: str, role: str, protected: bool) -> None:
    got_role, got_protected, rule, why = one(ip="192.168.178.60", mac="aa:bb:cc:dd:ee:60", name=name)
    assert (got_role, got_protected, rule) == (role, protected, "name") and f"name '{name}'" in why


def test_phone_maker_oui_when_no_client_matches() -> None:
    role, _, rule, why = one(ip="192.168.178.61", mac="00:04:13:aa:bb:cc", name="snom-d785")
    assert (role, rule) == ("phone", "oui-phone")
    assert "snom technology GmbH" in why and "not matched to a registered VoIP client" in why


def test_printer_maker_oui() -> None:
    role, _, rule, why = one(ip="192.168.178.41", mac="00:80:77:01:02:03", name="BRN008077010203")
    assert (role, rule) == ("printer", "oui-printer") and "Brother" in why


def test_probe_port_only_when_probed() -> None:
    assert one(ip="192.168.178.77", name="unbekannt")[:3] == ("printer", False, "probe")
    assert one(ip="192.168.178.78", name="unbekannt")[2] == "default"


def test_default_is_workstation_and_says_so() -> None:
    role, protected, rule, why = one(ip="192.168.178.20", mac="aa:bb:cc:dd:ee:01", name="empfang-pc")
    assert (role, protected, rule) == ("workstation", False, "default")
    assert "no rule matched" in why and "locally administered" in why


def test_switch_only_host_and_unique_names() -> None:
    seen = [Seen(mac="aa:bb:cc:dd:ee:99", switch="sw1", port="ge5", source="switch"),
            Seen(ip="192.168.178.20", name="pc"), Seen(ip="192.168.178.21", name="PC")]
    out = classify(seen, CTX)
    assert [s.name for s in out] == ["pc", "pc-2", "host-aabbccddee99"]
    assert "seen only in the MAC table of sw1 port ge5" in out[2].reasons[-1]


def test_oui_helpers() -> None:
    assert prefix_of("0004.13aa.bbcc") == "00:04:13" and prefix_of("nonsense") == ""
    assert locally_administered("aa:bb:cc:dd:ee:ff") and not locally_administered("00:1c:19:00:00:01")


def test_voip_keep_set_keeps_registered_clients_only() -> None:
    hosts = [Host(ip="192.168.178.30", mac="aa:bb:cc:dd:ee:30", name="Telefon-Empfang"),
             Host(ip="192.168.178.20", mac="aa:bb:cc:dd:ee:01", name="empfang-pc"),
             Host(ip="192.168.178.61", mac="00:04:13:aa:bb:cc", name="snom-d785")]
    ips, macs = voip_keep_set(hosts, ["Telefon Empfang"])
    assert ips == {"192.168.178.30"} and macs == {"aa:bb:cc:dd:ee:30"}
    # a second registered client matches no name: a phone maker's device is taken to be it
    ips, macs = voip_keep_set(hosts, ["Telefon Empfang", "Labor"])
    assert ips == {"192.168.178.30", "192.168.178.61"}
    assert voip_keep_set(hosts, []) == (set(), set())


def test_default_gateway_from_the_kernel_routing_table(tmp_path: Path) -> None:
    route = tmp_path / "route"
    route.write_text("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
                     "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
                     "eth0\t00000000\t01B2A8C0\t0003\t0\t0\t100\t00000000\n", encoding="ascii")
    assert default_gateway(route) == "192.168.178.1"
    route.write_text("Iface\tDestination\tGateway\n", encoding="ascii")
    assert default_gateway(route) is None
    assert default_gateway(tmp_path / "missing") is None


def test_router_kind_is_told_by_the_port_that_answers() -> None:
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        closed.bind(("127.0.0.1", 0))   # bound, not listening: refuses
        ports = ((closed.getsockname()[1], "fritzbox"), (listening.getsockname()[1], "speedport"))
        assert guess_router_driver("127.0.0.1", 1.0, ports) == "speedport"
        assert guess_router_driver("127.0.0.1", 1.0, ports[:1]) is None


def test_probe_never_leaves_the_private_lan() -> None:
    """Loopback, public and malformed addresses are dropped before any connection is tried."""
    from notaus.controller.discover import probe_ports

    assert probe_ports(["127.0.0.1", "8.8.8.8", "2001:db8::1", "not-an-ip", "169.254.1.1"]) == {}
