"""One home per fact: the MAC normaliser, the actor, the language and the state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from notaus.controller.checklists import ITEMS
from notaus.drivers.mac import mac_or_raw, normalize_mac, safe_mac
from notaus.policies import context
from notaus.policies.schema import Policy

# Vendor spellings of one MAC: FRITZ!Box TR-064 Hosts (upper case, colons), Cisco IOS
# "show mac address-table" (dotted), HP/Aruba ProCurve (hyphen after six digits), Windows ipconfig.
SPELLINGS = ["AA:BB:CC:DD:EE:01", "aabb.ccdd.ee01", "aabbcc-ddee01", "AA-BB-CC-DD-EE-01", "aa:bb:cc:dd:ee:01"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_vendor_spelling_becomes_lower_case_colons(spelling: str) -> None:
    assert normalize_mac(spelling) == "aa:bb:cc:dd:ee:01"
    assert safe_mac(spelling) == "aa:bb:cc:dd:ee:01"


@pytest.mark.parametrize("bad", ["", "aa:bb:cc", "zz:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:01:02", "aa;bb;cc;dd;ee;01"])
def test_not_a_mac_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_mac(bad)
    assert safe_mac(bad) == ""
    assert mac_or_raw(bad) == bad.lower()


def test_policy_and_drivers_share_the_normaliser() -> None:
    policy = Policy.model_validate({"controller": {"state_dir": "var"}, "devices": [],
                                    "hosts": [{"name": "pc", "ip": "192.168.178.20", "mac": "AABB.CCDD.EE01"}]})
    assert policy.hosts[0].mac == "aa:bb:cc:dd:ee:01"


def test_actor_is_never_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NOTAUS_ACTOR", "SUDO_USER", "USER", "LOGNAME"):
        monkeypatch.delenv(var, raising=False)          # as under systemd or cron
    actor = context.cli_actor()
    assert actor.startswith("cli:") and actor not in ("cli:", "cli:?", "cli:unknown")
    monkeypatch.setenv("SUDO_USER", "praxis-admin")
    assert context.cli_actor() == "cli:praxis-admin"
    monkeypatch.setenv("NOTAUS_ACTOR", "provider:mueller")
    assert context.cli_actor() == "provider:mueller"


def test_the_cli_entry_points_use_the_one_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    from notaus.controller import cli, incident_cli
    from notaus.policies import cli as policy_cli

    monkeypatch.setenv("NOTAUS_ACTOR", "tester")
    assert cli._actor() == incident_cli._actor() == policy_cli._actor() == "tester"


def test_language_order(monkeypatch: pytest.MonkeyPatch) -> None:
    class Args:
        lang: str | None = None

    monkeypatch.setenv("LANG", "C.UTF-8")
    assert context.cli_lang(Args()) == "de"
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert context.cli_lang(Args()) == "en"
    policy = Policy.model_validate({"controller": {"state_dir": "var", "language": "de"}, "devices": []})
    assert context.cli_lang(Args(), policy) == "de"          # the practice's setting beats the shell's
    Args.lang = "en"
    assert context.cli_lang(Args(), policy) == "en"          # --lang beats both


def test_state_dir_relative_to_the_policy_file_not_the_working_dir(tmp_path: Path) -> None:
    from notaus.controller.cli import state_dir_of
    from notaus.controller.incident import state_dir_for
    from notaus.policies.update import resolve_state_dir

    policy = Policy.model_validate({"controller": {"state_dir": "var"}, "devices": []})
    config = tmp_path / "etc" / "policy.yaml"
    expected = (tmp_path / "etc").resolve() / "var"
    assert context.state_dir_of_config(policy, config) == expected
    assert state_dir_of(policy, config) == state_dir_for(policy, config) == expected
    assert resolve_state_dir(policy, config) == expected
    absolute = Policy.model_validate({"controller": {"state_dir": "/var/lib/notaus"}, "devices": []})
    assert context.state_dir(absolute, tmp_path) == Path("/var/lib/notaus")


def test_tablet_provider_item_names_the_provider() -> None:
    item = ITEMS["call-provider"]
    assert "IT Müller 0301" in item.text("de", "IT Müller 0301")
    assert "{provider}" not in item.text("de") and "{provider}" not in item.text("en")
