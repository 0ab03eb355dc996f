"""``notaus discover`` against the TR-064 simulator, through fritzconnection, as a provider runs it.

The demo practice (policies/demo.yaml) is served by the simulator exactly as ``make run`` does
(drivers.sim.practice); discovery must give back a draft that ``policy check`` accepts and whose
roles are the demo policy's.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from notaus.controller.cli import main as notaus
from notaus.controller.coverage import router_findings
from notaus.controller.discover import discover
from notaus.drivers.fritzbox import FritzBoxDriver
from notaus.drivers.sim.practice import start_simulators
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.drivers.sim.tr64_lan import IPV6_PREFIX
from notaus.policies.loader import load_policy, load_policy_text

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Path]:
    """The demo policy on a free port with its state in tmp, and its simulated FRITZ!Box running."""
    doc = yaml.safe_load((ROOT / "policies" / "demo.yaml").read_text(encoding="utf-8"))
    doc["devices"][0]["port"] = _free_port()
    doc["controller"]["state_dir"] = str(tmp_path / "state")
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    sims = start_simulators(load_policy(path), tmp_path)
    try:
        yield path
    finally:
        for sim in sims:
            sim.stop()


def roles(hosts: list[Any]) -> dict[str, tuple[str, bool]]:
    return {h.name: (h.role, bool(h.protected)) for h in hosts}


def test_demo_discovery_reproduces_the_demo_roles(demo: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.yaml"
    assert notaus(["--config", str(demo), "discover", "-o", str(draft)]) == 0
    capsys.readouterr()
    assert notaus(["policy", "check", str(draft)]) == 0
    assert capsys.readouterr().out.startswith("OK:")
    got, want = load_policy(draft), load_policy(demo)
    assert roles(got.hosts) == roles(want.hosts)
    assert {h.name: (h.ip, h.mac) for h in got.hosts} == {h.name: (h.ip, h.mac) for h in want.hosts}
    assert got.profiles["keep-phones"].keep_voip_clients is True
    assert got.version == want.version + 1
    text = draft.read_text(encoding="utf-8")   # the demo practice speaks German
    assert "am Router angemeldetes IP-Telefon „telefon-empfang“, intern 620" in text
    assert "OUI 00:1C:19 (secunet Security Networks AG, IEEE-Register)" in text
    assert notaus(["--config", str(demo), "--lang", "en", "discover"]) == 0
    english = capsys.readouterr().out
    assert "registered VoIP client 'telefon-empfang' on the box, internal number 620" in english
    assert "OUI 00:1C:19 (secunet Security Networks AG, IEEE registry)" in english
    assert "FRITZ!Box 7590" in text and "WLAN 3: Praxis-Gast (on, guest)" in text
    assert "connection: WANPPPConnection1 DSL PPPoE (up), IPv6: no address" in text
    assert "demo-only-password" not in text  # the secret is not copied into the draft
    # journaled, though nothing was changed
    assert notaus(["--config", str(demo), "journal", "show", "--kind", "discover.run", "--json"]) == 0
    assert "discover.run" in capsys.readouterr().out


def test_discovery_without_a_policy_asks_the_router_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    sim = Tr064Simulator(user="notaus", password="geheim", phones=["Empfang"], hosts=[
        {"ip": "192.168.178.20", "mac": "AA:BB:CC:DD:EE:01", "name": "empfang-pc"},
        {"ip": "192.168.178.60", "mac": "00:04:13:12:34:56", "name": "Empfang"},
        {"ip": "192.168.178.5", "mac": "00:25:F4:00:00:05", "name": "kocobox", "interface": "Ethernet"},
        {"ip": "192.168.178.70", "mac": "F8:4D:89:7C:0A:32", "name": "MacBook", "interface": "802.11",
         "active": False}]).start()
    monkeypatch.setenv("FRITZ_PW", "geheim")
    try:
        code = notaus(["discover", "--router", "127.0.0.1", "--port", str(sim.port), "--driver", "fritzbox",
                       "--user", "notaus", "--password-env", "FRITZ_PW", "--json"])
    finally:
        sim.stop()
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    by_name = {h["name"]: h for h in doc["hosts"]}
    assert by_name["empfang"]["role"] == "phone" and by_name["empfang"]["rule"] == "voip"
    assert by_name["kocobox"]["role"] == "ti-konnektor" and by_name["kocobox"]["protected"] is True
    assert by_name["macbook"]["interface"] == "WLAN" and by_name["macbook"]["active"] is False
    assert doc["router"]["model"] == "FRITZ!Box 7590"
    policy = load_policy_text(doc["draft"], "draft")
    assert policy.devices[0].password_env == "FRITZ_PW"
    assert policy.find_host("kocobox").protected  # type: ignore[union-attr]


def test_driver_reads_voip_clients_and_router_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Tr064Simulator(user="notaus", password="geheim", ipv6_prefix=IPV6_PREFIX,
                         phones=[{"name": "Empfang", "internal": "620", "username": "sip620"}]).start()
    drv = FritzBoxDriver("fb", "127.0.0.1", port=sim.port, user="notaus", password="geheim", timeout=3,
                         options={"use_cache": False})
    try:
        drv.open()
        clients = drv.voip_clients()
        info = drv.router_info()
        # a firmware without X_AVM-DE_GetClients: counted, then one GetClient3 per index
        has = drv._has
        monkeypatch.setattr(drv, "_has", lambda service, action: action != "X_AVM-DE_GetClients"
                            and has(service, action))
        one_by_one = drv.voip_clients()
        monkeypatch.setattr(drv, "_has", has)
        sim.state.set_trigger("Manual")
        sim.state.force_termination()
        offline = drv.router_info()
    finally:
        drv.close()
        sim.stop()
    assert one_by_one == clients and sim.calls["X_VoIP1.X_AVM-DE_GetClient3"] == 1
    assert offline["ipv6"]["active"] is False and offline["connection"]["status"] == "down"
    assert clients == [{"index": 0, "name": "Empfang", "username": "sip620", "internal": "620", "client_id": "",
                        "outgoing": ""}]
    assert info["model"] == "FRITZ!Box 7590" and info["connection"]["service"] == "WANPPPConnection1"
    assert info["connection"]["access_type"] == "DSL"
    assert info["ipv6"] == {"available": True, "prefix": "2001:db8:1234:5600::/56",
                            "address": "2001:db8:ffff::17", "active": True}
    assert info["lan"] == {"routers": "192.168.178.1", "subnet_mask": "255.255.255.0",
                           "dhcp_range": ["192.168.178.20", "192.168.178.200"]}


def test_policy_diff_against_discovery(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The router still shows the demo practice; the policy lost a phone and mislabels the other."""
    doc = yaml.safe_load(demo.read_text(encoding="utf-8"))
    doc["hosts"] = [h for h in doc["hosts"] if h["name"] not in ("telefon-sz1", "ti-konnektor")]
    for h in doc["hosts"]:
        if h["name"] == "telefon-empfang":
            h["role"] = "workstation"
    doc["hosts"].append({"name": "alter-pc", "ip": "192.168.178.99", "mac": "aa:bb:cc:dd:ee:99"})
    changed = demo.with_name("changed.yaml")
    changed.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # the simulator keeps serving the original demo practice (started from demo.yaml)
    code = notaus(["--config", str(changed), "policy", "diff", "--discover", "--json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 2
    kinds = {(f["kind"], f["host"]) for f in found}
    assert ("unknown", "telefon-sz1") in kinds and ("voip_not_phone", "telefon-sz1") in kinds
    assert ("voip_not_phone", "telefon-empfang") in kinds
    assert ("unknown", "ti-konnektor") in kinds and ("protected_missing", "ti-konnektor") in kinds
    assert ("left", "alter-pc") in kinds
    assert not any(f["host"] in ("empfang-pc", "praxisserver", "drucker") for f in found)
    # the unchanged policy agrees with the network
    assert notaus(["--config", str(demo), "policy", "diff", "--discover"]) == 0
    assert "stimmen überein" in capsys.readouterr().out


def test_router_findings_are_the_three_warnings(demo: Path) -> None:
    policy = load_policy(demo)
    policy.hosts = [h for h in policy.hosts if h.name not in ("telefon-sz1", "ti-konnektor", "labor-pc")]
    result = discover(load_policy(demo), base_dir=demo.parent, with_switches=False)
    from notaus.drivers.base import Host

    hosts = [Host(ip=h.ip, mac=h.mac, name=h.name) for h in result.hosts]
    hosts.append(Host(ip="192.168.178.98", mac="aa:bb:cc:dd:ee:98", name="gast", active=False))
    kinds = {(f.kind, f.host) for f in router_findings(policy, hosts, ["telefon-empfang", "telefon-sz1"])}
    assert kinds == {("unknown", "telefon-sz1"), ("voip_not_phone", "telefon-sz1"), ("unknown", "labor-pc"),
                     ("unknown", "ti-konnektor"), ("protected_missing", "ti-konnektor")}  # inactive guest: quiet


def test_discovery_of_a_speedport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The Speedport's web API lists hosts but no telephony clients: phones by name or maker only, said so."""
    from notaus.drivers.sim.speedport import SpeedportSimulator

    hosts = [{"ip": "192.168.2.20", "mac": "aa:bb:cc:dd:ee:01", "name": "empfang-pc"},
             {"ip": "192.168.2.30", "mac": "00:04:13:01:02:03", "name": "snom-d785"},
             {"ip": "192.168.2.5", "mac": "00:1c:19:01:02:03", "name": "konnektor"}]
    monkeypatch.setenv("SP_PW", "geheim")
    with SpeedportSimulator(password="geheim", hosts=hosts) as sim:
        code = notaus(["discover", "--router", "127.0.0.1", "--port", str(sim.port), "--driver", "speedport",
                       "--password-env", "SP_PW", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    by_name = {h["name"]: h for h in doc["hosts"]}
    assert (by_name["snom-d785"]["role"], by_name["snom-d785"]["rule"]) == ("phone", "oui-phone")
    assert (by_name["konnektor"]["role"], by_name["konnektor"]["protected"]) == ("ti-konnektor", True)
    assert by_name["empfang-pc"]["role"] == "workstation"
    assert doc["router"]["model"] == "Speedport Smart 4"
    assert any("does not list the IP phones" in w for w in doc["warnings"])
    assert load_policy_text(doc["draft"], "draft").devices[0].driver == "speedport"
