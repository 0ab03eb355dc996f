"""`policy diff` in words for the changes a provider typically makes."""

from __future__ import annotations

from notaus.policies.diff import describe, diff_policies, summary
from notaus.policies.schema import Policy

BASE = {
    "version": 3,
    "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "192.168.178.1", "password": "alt-geheim"}],
    "hosts": [{"name": "empfang-pc", "ip": "192.168.178.20"},
              {"name": "alter-drucker", "ip": "192.168.178.40", "role": "printer"}],
    "detection": {"isolate_score": 0.9, "allowlist": [{"name": "NTP", "proto": "udp", "dst_port": 123}]},
}


def policy(**changes: object) -> Policy:
    data = {k: (v.copy() if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in BASE.items()}
    data.update(changes)
    return Policy.model_validate(data)


def test_threshold_and_new_protected_host_in_english_and_german() -> None:
    new = policy(version=4, detection={"isolate_score": 0.8, "allowlist": BASE["detection"]["allowlist"]},  # type: ignore[index]
                 hosts=BASE["hosts"] + [{"name": "ti-konnektor", "ip": "192.168.178.5", "role": "ti-konnektor"}])  # type: ignore[operator]
    changes = diff_policies(policy(), new)
    en = describe(changes, "en").splitlines()
    de = describe(changes, "de").splitlines()
    assert "auto-isolate threshold 0.9 → 0.8" in en
    assert "new protected host ti-konnektor (ti-konnektor, 192.168.178.5)" in en
    assert "Schwelle für automatisches Isolieren 0.9 → 0.8" in de
    assert "neuer geschützter Host ti-konnektor (ti-konnektor, 192.168.178.5)" in de
    assert "version 3 → 4" in en
    assert summary(changes, "en").startswith("version 3 → 4; new protected host ti-konnektor")


def test_removed_host_changed_ip_and_protection() -> None:
    new = policy(hosts=[{"name": "empfang-pc", "ip": "192.168.178.21", "protected": True}])
    en = describe(diff_policies(policy(), new), "en").splitlines()
    assert "host alter-drucker removed" in en
    assert "host empfang-pc: ip 192.168.178.20 → 192.168.178.21" in en
    assert "host empfang-pc is now protected" in en


def test_secrets_are_never_printed() -> None:
    new = policy(devices=[{"name": "fritzbox", "driver": "fritzbox", "address": "192.168.178.1",
                           "password": "neu-geheim"}])
    text = describe(diff_policies(policy(), new), "de") + describe(diff_policies(policy(), new), "en")
    assert "geheim" not in text
    assert "Gerät fritzbox: password geändert (Geheimnis, nicht angezeigt)" in text


def test_profiles_allowlist_contacts_schedules() -> None:
    new = policy(
        profiles={"full": {"cut_wan": True, "wlan_off": False}, "nur-wlan": {"cut_wan": False}},
        detection={"isolate_score": 0.9, "allowlist": [{"name": "Windows Update",
                                                         "dst_name": "*.windowsupdate.com"}]},
        contacts={"it_provider": {"phone": "030 1234567"}},
        schedules={"enforce_seconds": 10, "drill_cron": "30 7 * * 1"},
        devices=BASE["devices"] + [{"name": "switch-1", "driver": "netmiko", "device_type": "cisco_ios",  # type: ignore[operator]
                                    "address": "192.168.178.3"}],
    )
    en = describe(diff_policies(policy(), new), "en").splitlines()
    assert "profile full: wlan_off yes → no" in en
    assert "new profile nur-wlan (cut_wan=no)" in en
    assert "allowlist: new entry Windows Update *.windowsupdate.com" in en
    assert "allowlist: entry NTP udp/123 removed" in en
    assert "IT provider phone set to 030 1234567" in en
    assert "enforcement interval (s) 5 → 10" in en
    assert "scheduled drill set to 30 7 * * 1" in en
    assert "new device switch-1 (driver=netmiko, address=192.168.178.3)" in en


def test_identical_policies_say_so() -> None:
    assert describe(diff_policies(policy(), policy()), "de") == "keine Änderungen"
    assert describe(diff_policies(policy(), policy()), "en") == "no changes"
