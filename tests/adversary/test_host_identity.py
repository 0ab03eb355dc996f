"""Issue 11.1: one identity for every host - no spelling walks around a guard, no foreign address is kept.

Attacks tried: the TI-Konnektor, the protected server and the controller spelled as IPv4-mapped IPv6
(dotted and hex), MAC in every notation and case, names in another case; and public, special and
broadcast addresses that must never become desired state.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from notaus.controller.host_identity import HostResolver, NotPracticeHost, canonical_ip, canonical_mac
from notaus.drivers.base import Host
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import Policy

#: every spelling of a protected machine an attacker might try (TI-Konnektor .50, server .10, controller .2)
PROTECTED_SPELLINGS = [
    "::ffff:192.168.178.50", "::FFFF:192.168.178.50", "::ffff:c0a8:b232", "[::ffff:192.168.178.50]",
    "0:0:0:0:0:ffff:192.168.178.50", "AA-BB-CC-DD-EE-50", "aa:bb:cc:dd:ee:50", "AABB.CCDD.EE50",
    "aabbccddee50", "TI-Konnektor", " ti-konnektor ", "PRAXISSERVER", "::ffff:192.168.178.10",
    "::ffff:192.168.178.2", "192.168.178.2",
]

#: addresses that are no machine of the practice
FOREIGN = ["8.8.8.8", "0.0.0.0", "::1", "255.255.255.255", "224.0.0.1", "239.255.255.250", "127.0.0.1",
           "::", "ff02::1", "169.254.10.10", "192.168.178.0", "192.168.178.255", "10.1.2.3",
           "2001:4860:4860::8888", "::ffff:8.8.8.8", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb",
           "00:00:00:00:00:00", "no-such-host", "a" * 300, "ws01\x00", "192.168.178.050"]


def _desired(engine: Any) -> dict[str, Any]:
    return dict(engine.state.desired()["isolations"])


@pytest.mark.parametrize("role", ["agent", "staff"])
def test_protected_hosts_in_any_spelling_are_refused(client: FlaskClient, auth: Any, sim: Tr064Simulator,
                                                     engine: Any, role: str) -> None:
    for ident in PROTECTED_SPELLINGS:
        resp = client.post("/api/v1/isolations", json={"host": ident, "reason": "adversary", "source": "edr"},
                           headers=auth(role))
        body = resp.get_json()
        assert resp.status_code == 409, (ident, body)
        assert body["error"] == "refused" and ("protected" in body["detail"] or "controller" in body["detail"]), \
            (ident, body)
    assert _desired(engine) == {}
    assert not any(on for on in sim.state.disallow.values())
    # nothing reached the router: no block call was ever sent for a protected address
    assert not any(k.endswith("DisallowWANAccessByIP") or "SetDisallow" in k for k in sim.calls)


@pytest.mark.parametrize("role", ["agent", "staff"])
def test_foreign_addresses_are_refused_and_never_become_desired_state(
        client: FlaskClient, auth: Any, sim: Tr064Simulator, engine: Any, role: str) -> None:
    for ident in FOREIGN:
        resp = client.post("/api/v1/isolations", json={"host": ident[:200], "source": "edr"}, headers=auth(role))
        assert 400 <= resp.status_code < 500, (ident, resp.status_code, resp.get_json())
    assert _desired(engine) == {}
    before = engine.journal.count()
    assert engine.enforce() == []          # nothing to re-apply, so nothing journaled per pass
    assert engine.journal.count() == before


def test_one_machine_one_identity(client: FlaskClient, auth: Any, sim: Tr064Simulator, engine: Any) -> None:
    """ws01 spelled as mapped IPv6 is ws01: one desired entry, and the other spellings collapse onto it."""
    resp = client.post("/api/v1/isolations", json={"host": "::ffff:192.168.178.101", "reason": "r"},
                       headers=auth("staff"))
    assert resp.status_code == 200, resp.get_json()
    assert set(_desired(engine)) == {"ws01"}
    assert sim.state.disallow.get("192.168.178.101")
    dup = client.post("/api/v1/isolations", json={"host": "AA-BB-CC-DD-EF-01", "source": "edr"},
                      headers=auth("agent"))
    assert dup.status_code == 200 and dup.get_json()["decision"] == "duplicate"
    gone = client.delete("/api/v1/isolations/::FFFF:C0A8:B265", json={"reason": "clean"}, headers=auth("provider"))
    assert gone.status_code == 200, gone.get_json()
    assert _desired(engine) == {}


def test_resolver_unit() -> None:
    policy = Policy.model_validate({
        "controller": {"ip": "192.168.1.2", "mac": "02:00:00:00:00:02"},
        "devices": [{"name": "fritz", "driver": "fritzbox", "address": "192.168.1.1"}],
        "hosts": [{"name": "TI", "ip": "192.168.1.50", "role": "ti-konnektor"},
                  {"name": "pc", "mac": "aa:bb:cc:00:00:01"}]})
    listed = [Host(ip="192.168.1.77", mac="AA-BB-CC-00-00-77", name="Laptop-Anna"),
              Host(ip="192.168.1.99", mac="aa:bb:cc:00:00:01", name="pc-dhcp")]
    r = HostResolver(policy, lambda: listed)
    assert canonical_ip("::ffff:c0a8:0132") == "192.168.1.50" and canonical_ip("fe80::1%eth0") == "fe80::1"
    assert canonical_mac("AABB.CC00.0001") == canonical_mac("aabbcc000001") == "aa:bb:cc:00:00:01"
    assert r.resolve("laptop-ANNA").ip == "192.168.1.77"
    assert r.resolve("aa-bb-cc-00-00-77").name == "Laptop-Anna"
    pc = r.resolve("192.168.1.99")              # the router's entry of a policy host is that policy host
    assert pc.name == "pc" and pc.source == "policy" and pc.ip == "192.168.1.99"
    assert r.resolve("192.168.1.123").source == "lan"
    for ident in ("::ffff:192.168.1.50", "ti", "::ffff:192.168.1.2", "02-00-00-00-00-02", "::ffff:192.168.1.1"):
        assert r.guard_reason(r.resolve(ident)), ident
    assert r.guard_reason(r.resolve("Laptop-Anna")) is None
    for bad in ("8.8.8.8", "192.168.2.5", "192.168.1.255", "::1", "nobody", ""):
        with pytest.raises(NotPracticeHost):
            r.resolve(bad)
