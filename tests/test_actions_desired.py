"""The typed engine core: one registry entry per action, typed targets, the desired state as types."""

from __future__ import annotations

import json

import pytest

from notaus.controller.actions import (
    REGISTRY,
    Action,
    HostAddress,
    PortVlan,
    SwitchPort,
    WholeDevice,
    parse_target,
    subject,
    undo,
)
from notaus.controller.desired import DesiredState
from notaus.controller.engine import Engine
from notaus.controller.observe import find_gaps
from notaus.controller.results import Step
from notaus.controller.state import EMPTY

#: a desired state as the engine writes it: a panic (cut, WLAN off, one block) and two isolations
WRITTEN = {
    "containment": {"actor": "ui:empfang", "profile": "keep_phones", "since": "2026-12-06T05:00:00+00:00"},
    "wan_cut": {"fritzbox": {"memo": {"trigger": "AlwaysOn"}, "since": "2026-12-06T05:00:00+00:00"}},
    "wlan_off": {"fritzbox": {"since": "2026-12-06T05:00:00+00:00"}},
    "router_blocks": {
        "192.168.178.20": {"host": "empfang-pc", "reason": "panic", "router": "fritzbox", "since": "x"},
        "192.168.178.30": {"host": "labor-pc", "reason": "isolation", "router": "fritzbox", "since": "x"},
    },
    "isolations": {
        "labor-pc": {"host": "labor-pc", "ip": "192.168.178.30", "mac": "00:11:22:33:44:55", "reason": "beacon",
                     "source": "detection", "actor": "system", "since": "x", "evidence": {"dst": "203.0.113.9"},
                     "methods": [{"device": "sw1", "action": "port_down", "target": "Gi1/0/5", "previous_vlan": None},
                                 {"device": "fritzbox", "action": "block_host", "target": "192.168.178.30",
                                  "previous_vlan": None}]},
        "rezeption": {"host": "rezeption", "ip": None, "mac": None, "reason": "", "source": "manual",
                      "actor": "cli:anna", "since": "x", "evidence": {},
                      "methods": [{"device": "sw1", "action": "set_vlan", "target": "Gi1/0/7@999",
                                   "previous_vlan": 10}]},
    },
}


def test_every_action_has_one_entry_whose_inverse_leads_back() -> None:
    assert set(REGISTRY) == set(Action)
    for action, spec in REGISTRY.items():
        assert spec.action is action
        # the inverse of the inverse is the action itself: release and restore can always find the way back
        assert REGISTRY[spec.inverse].inverse is action
    held = {a for a, s in REGISTRY.items() if s.fact is not None}
    assert held == {Action.CUT_WAN, Action.WLAN_OFF, Action.BLOCK_HOST, Action.PORT_DOWN, Action.SET_VLAN}


def test_targets_are_typed_and_keep_their_string_form() -> None:
    assert parse_target("cut_wan", "") == WholeDevice()
    assert parse_target("block_host", "192.168.178.20") == HostAddress("192.168.178.20")
    assert parse_target("port_down", "Gi1/0/5") == SwitchPort("Gi1/0/5")
    assert parse_target("set_vlan", "Gi1/0/5@999") == PortVlan("Gi1/0/5", 999)
    for action, text in (("block_host", "192.168.178.20"), ("port_up", "Gi1/0/5"), ("set_vlan", "Gi1/0/5@999")):
        assert str(parse_target(action, text)) == text
    with pytest.raises(ValueError, match="port@vlan"):
        parse_target("set_vlan", "Gi1/0/5")
    with pytest.raises(ValueError):
        parse_target("set_vlan", "Gi1/0/5@quarantine")
    with pytest.raises(ValueError, match="unknown action"):
        Step("sw1", "reboot").typed_target   # noqa: B018 - the property raises


def test_step_exposes_its_target_by_kind() -> None:
    vlan = Step("sw1", "set_vlan", "Gi1/0/7@999", host="rezeption")
    assert (vlan.port, vlan.vlan, vlan.ip) == ("Gi1/0/7", 999, "")
    block = Step("fritzbox", "block_host", "192.168.178.20")
    assert (block.port, block.vlan, block.ip) == ("", None, "192.168.178.20")
    assert Step.of("sw1", Action.SET_VLAN, PortVlan("Gi1/0/7", 999), host="x") == \
        Step("sw1", "set_vlan", "Gi1/0/7@999", host="x")


def test_undo_moves_a_vlan_port_back_and_refuses_without_the_way_back() -> None:
    assert undo("set_vlan", "Gi1/0/7@999", 10) == (Action.SET_VLAN, "Gi1/0/7@10")
    assert undo("port_down", "Gi1/0/5") == (Action.PORT_UP, "Gi1/0/5")
    assert undo("block_host", "192.168.178.20") == (Action.UNBLOCK_HOST, "192.168.178.20")
    assert undo("cut_wan", "") == (Action.RESTORE_WAN, "")
    with pytest.raises(LookupError, match="Gi1/0/7"):
        undo("set_vlan", "Gi1/0/7@999", None)
    # a VLAN move and its way back are about the same port: release matches them
    assert subject("set_vlan", "Gi1/0/7@999") == subject("set_vlan", "Gi1/0/7@10") == "Gi1/0/7"


def test_desired_state_round_trips_byte_for_byte() -> None:
    for doc in (EMPTY, WRITTEN):
        back = DesiredState.from_dict(doc).to_dict()
        assert json.dumps(back, sort_keys=True) == json.dumps(doc, sort_keys=True)
    # a file written by an older version (no previous_vlan, no evidence) and a key from a newer one load
    old = json.loads(json.dumps(WRITTEN))
    del old["isolations"]["labor-pc"]["methods"][0]["previous_vlan"]
    del old["isolations"]["rezeption"]["evidence"]
    old["isolations"]["rezeption"]["note"] = "from a newer notaus"
    old["future"] = {"a": 1}
    state = DesiredState.from_dict(old)
    assert state.isolations["rezeption"].methods[0].previous_vlan == 10
    assert state.isolations["labor-pc"].methods[0].previous_vlan is None
    assert state.to_dict() == old
    assert state.is_active() and not DesiredState.from_dict(EMPTY).is_active()


def test_held_steps_and_gaps_come_from_the_registry() -> None:
    state = DesiredState.from_dict(WRITTEN)
    assert [(s.device, s.action, s.target, s.host) for s in state.held_steps()] == [
        ("fritzbox", "cut_wan", "", ""), ("fritzbox", "wlan_off", "", ""),
        ("fritzbox", "block_host", "192.168.178.20", "empfang-pc"),
        ("fritzbox", "block_host", "192.168.178.30", "labor-pc"),   # the isolation's block: held once
        ("sw1", "port_down", "Gi1/0/5", "labor-pc"), ("sw1", "set_vlan", "Gi1/0/7@999", "rezeption")]
    confirmed = {"fritzbox": {"reachable": True, "wan": "down", "wan_trigger": "Manual", "wlan": "off",
                              "blocked_hosts": ["192.168.178.20", "192.168.178.30"]},
                 "sw1": {"reachable": True, "ports_down": ["Gi1/0/5"], "port_vlans": {"Gi1/0/7": 999}}}
    assert find_gaps(WRITTEN, confirmed) == [] == find_gaps(state, confirmed)
    drifted = {"fritzbox": {"reachable": True, "wan": "down", "wan_trigger": "AlwaysOn", "wlan": "on",
                            "blocked_hosts": ["192.168.178.30"]},
               "sw1": {"reachable": True, "ports_down": [], "port_vlans": {"Gi1/0/7": 10}}}
    gaps = find_gaps(WRITTEN, drifted)
    assert [(g["what"], g["expected"], g["observed"]) for g in gaps] == [
        ("wan", "down (trigger Manual)", "down, trigger AlwaysOn"), ("wlan", "off", "on"),
        ("host_block", "192.168.178.20 blocked", "allowed"), ("port", "Gi1/0/5 down", "up"),
        ("vlan", "Gi1/0/7@999", "10")]
    assert [g["step"].action for g in gaps] == ["cut_wan", "wlan_off", "block_host", "port_down", "set_vlan"]
    # a switch that does not answer: nothing is confirmed, nothing guessed
    unknown = find_gaps(WRITTEN, {"fritzbox": confirmed["fritzbox"], "sw1": {"reachable": False}})
    assert [(g["what"], g["observed"]) for g in unknown] == [("port", "unknown"), ("vlan", "None")]


def test_engine_desired_state_after_a_panic_is_the_typed_view(engine: Engine) -> None:
    assert engine.panic("full", actor="test").outcome == "done"
    doc = engine.state.desired()
    typed = engine.state.desired_state()
    assert typed.to_dict() == doc
    assert typed.containment is not None and typed.containment.profile == "full"
    assert [s.action for s in typed.held_steps()] == ["cut_wan", "wlan_off"]
