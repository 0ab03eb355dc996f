"""What a new policy would change, in words a provider checks before applying.

``diff_policies(old, new)`` returns :class:`Change` lines in German and English, for example
``auto-isolate threshold 0.9 → 0.8`` and ``new protected host ti-konnektor``. Named collections
(devices, hosts, profiles, agents) are matched by name; secrets are never printed, only that they
changed. Anything without a hand-written label still shows up under its dotted key, so no change
goes unmentioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from notaus.policies.schema import HostEntry, Policy

Lang = Literal["de", "en"]

SECRET_KEYS = {"password", "community", "auth_key", "priv_key"}

#: dotted key -> (German, English) label
LABELS: dict[str, tuple[str, str]] = {
    "version": ("Version", "version"),
    "practice": ("Praxisname", "practice name"),
    "detection.isolate_score": ("Schwelle für automatisches Isolieren", "auto-isolate threshold"),
    "detection.alert_score": ("Alarmschwelle", "alert threshold"),
    "detection.response": ("Reaktion ab Isolier-Schwelle", "response at isolate threshold"),
    "detection.min_connections": ("Mindestzahl Verbindungen", "minimum connections"),
    "detection.interface": ("Mitschnitt-Schnittstelle", "capture interface"),
    "guardrails.max_auto_isolations": ("max. automatische Isolierungen", "max automatic isolations"),
    "guardrails.window_minutes": ("Zeitfenster (Minuten)", "window (minutes)"),
    "guardrails.auto_release_minutes": ("automatische Freigabe nach (Minuten)",
                                        "auto-release after (minutes)"),
    "guardrails.protected_roles": ("geschützte Rollen", "protected roles"),
    "schedules.enforce_seconds": ("Prüfintervall Eindämmung (s)", "enforcement interval (s)"),
    "schedules.health_minutes": ("Gerätecheck alle (min)", "health check every (min)"),
    "schedules.report_reminders_hours": ("Erinnerungen Meldefrist (h)", "reporting reminders (h)"),
    "schedules.policy_url": ("Richtlinien-Adresse", "policy URL"),
    "schedules.policy_pull_minutes": ("Richtlinien-Abruf alle (min)", "policy pull every (min)"),
    "schedules.drill_cron": ("geplante Übung", "scheduled drill"),
    "schedules.drill_minutes": ("Übungsdauer (min)", "drill duration (min)"),
    "contacts.it_provider.phone": ("Telefon IT-Dienstleister", "IT provider phone"),
    "contacts.it_provider.name": ("IT-Dienstleister", "IT provider"),
    "contacts.data_protection_officer.name": ("Datenschutzbeauftragte(r)", "data protection officer"),
    "contacts.data_protection_officer.phone": ("Telefon Datenschutz", "data protection officer phone"),
    "controller.language": ("Sprache", "language"),
}


@dataclass(frozen=True)
class Change:
    key: str
    de: str
    en: str

    def text(self, lang: Lang = "de") -> str:
        return self.de if lang == "de" else self.en


def _fmt(value: Any, lang: Lang) -> str:
    if value is None or value == "" or value == []:
        return "—" if lang == "de" else "(none)"
    if isinstance(value, bool):
        return ("ja" if value else "nein") if lang == "de" else ("yes" if value else "no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_fmt(v, lang) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v, lang)}" for k, v in value.items() if v not in (None, "", [], {}))
    return str(value)


def _value_change(key: str, label: tuple[str, str], old: Any, new: Any) -> Change:
    if key.rsplit(".", 1)[-1] in SECRET_KEYS:
        return Change(key, f"{label[0]} geändert (Geheimnis, nicht angezeigt)",
                      f"{label[1]} changed (secret, not shown)")
    if old in (None, "", []) and new not in (None, "", []):
        return Change(key, f"{label[0]} gesetzt: {_fmt(new, 'de')}", f"{label[1]} set to {_fmt(new, 'en')}")
    if new in (None, "", []) and old not in (None, "", []):
        return Change(key, f"{label[0]} entfernt (war {_fmt(old, 'de')})",
                      f"{label[1]} removed (was {_fmt(old, 'en')})")
    return Change(key, f"{label[0]} {_fmt(old, 'de')} → {_fmt(new, 'de')}",
                  f"{label[1]} {_fmt(old, 'en')} → {_fmt(new, 'en')}")


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys; lists stay values."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data}


def _scalar_changes(old: dict[str, Any], new: dict[str, Any], prefix: str,
                    label_de: str = "", label_en: str = "") -> list[Change]:
    flat_old, flat_new = _flat(old, prefix), _flat(new, prefix)
    changes = []
    for key in sorted(set(flat_old) | set(flat_new)):
        a, b = flat_old.get(key), flat_new.get(key)
        if a == b:
            continue
        short = key[len(prefix) + 1:] if prefix and label_de else key
        label = LABELS.get(key, (f"{label_de}{short}", f"{label_en}{short}"))
        changes.append(_value_change(key, label, a, b))
    return changes


def _named(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(i["name"]): i for i in items}


def _host_changes(old: Policy, new: Policy) -> list[Change]:
    changes: list[Change] = []
    before = {h.name: h for h in old.hosts}
    after = {h.name: h for h in new.hosts}

    def where(h: HostEntry) -> str:
        return ", ".join(x for x in (h.role, h.ip or "", h.mac or "") if x)

    for name in sorted(set(after) - set(before)):
        h = after[name]
        if new.is_protected(h):
            changes.append(Change(f"hosts.{name}", f"neuer geschützter Host {name} ({where(h)})",
                                  f"new protected host {name} ({where(h)})"))
        else:
            changes.append(Change(f"hosts.{name}", f"neuer Host {name} ({where(h)})",
                                  f"new host {name} ({where(h)})"))
    for name in sorted(set(before) - set(after)):
        h = before[name]
        adj = ("geschützter ", "protected ") if old.is_protected(h) else ("", "")
        changes.append(Change(f"hosts.{name}", f"{adj[0]}Host {name} entfernt",
                              f"{adj[1]}host {name} removed"))
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        was, now = old.is_protected(a), new.is_protected(b)
        if was != now:
            de = f"Host {name} ist jetzt geschützt" if now else f"Host {name} nicht mehr geschützt"
            en = f"host {name} is now protected" if now else f"host {name} no longer protected"
            changes.append(Change(f"hosts.{name}.protected", de, en))
        da, db = a.model_dump(exclude={"protected"}), b.model_dump(exclude={"protected"})
        changes += _scalar_changes(da, db, f"hosts.{name}", f"Host {name}: ", f"host {name}: ")
    return changes


def _collection_changes(old: dict[str, Any], new: dict[str, Any], key: str,
                        noun: tuple[str, str]) -> list[Change]:
    changes: list[Change] = []
    for name in sorted(set(new) - set(old)):
        shown = {k: v for k, v in new[name].items() if k in ("driver", "address", "description", "cut_wan",
                                                             "token_name")}
        de, en = _fmt(shown, "de"), _fmt(shown, "en")
        changes.append(Change(f"{key}.{name}", f"neu: {noun[0]} {name}" + (f" ({de})" if de else ""),
                              f"new {noun[1]} {name}" + (f" ({en})" if en else "")))
    for name in sorted(set(old) - set(new)):
        changes.append(Change(f"{key}.{name}", f"{noun[0]} {name} entfernt", f"{noun[1]} {name} removed"))
    for name in sorted(set(old) & set(new)):
        changes += _scalar_changes(old[name], new[name], f"{key}.{name}",
                                   f"{noun[0]} {name}: ", f"{noun[1]} {name}: ")
    return changes


def _allow_label(entry: dict[str, Any]) -> str:
    parts = [entry.get("name") or ""]
    target = "/".join(str(x) for x in (entry.get("proto"), entry.get("dst_port")) if x)
    for extra in (entry.get("dst"), entry.get("dst_name"), target):
        if extra:
            parts.append(str(extra))
    return " ".join(p for p in parts if p) or "?"


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """Every difference between two validated policies, in a stable order."""
    a, b = old.model_dump(), new.model_dump()
    changes: list[Change] = []
    if a["version"] != b["version"]:
        changes.append(_value_change("version", LABELS["version"], a["version"], b["version"]))
    changes += _host_changes(old, new)
    changes += _collection_changes(_named(a["devices"]), _named(b["devices"]), "devices", ("Gerät", "device"))
    changes += _collection_changes(a["profiles"], b["profiles"], "profiles", ("Profil", "profile"))
    changes += _collection_changes(a["agents"], b["agents"], "agents", ("Agent", "agent"))
    allow_a = [_allow_label(e) for e in a["detection"]["allowlist"]]
    allow_b = [_allow_label(e) for e in b["detection"]["allowlist"]]
    for label in [x for x in allow_b if x not in allow_a]:
        changes.append(Change("detection.allowlist", f"Ausnahmeliste: neu {label}",
                              f"allowlist: new entry {label}"))
    for label in [x for x in allow_a if x not in allow_b]:
        changes.append(Change("detection.allowlist", f"Ausnahmeliste: {label} entfernt",
                              f"allowlist: entry {label} removed"))
    skip = {"version", "hosts", "devices", "profiles", "agents"}
    rest_a = {k: v for k, v in a.items() if k not in skip}
    rest_b = {k: v for k, v in b.items() if k not in skip}
    rest_a["detection"] = {k: v for k, v in rest_a["detection"].items() if k != "allowlist"}
    rest_b["detection"] = {k: v for k, v in rest_b["detection"].items() if k != "allowlist"}
    changes += _scalar_changes(rest_a, rest_b, "")
    return changes


def describe(changes: list[Change], lang: Lang = "de") -> str:
    """One line per change, or a sentence saying nothing changes."""
    if not changes:
        return "keine Änderungen" if lang == "de" else "no changes"
    return "\n".join(c.text(lang) for c in changes)


def summary(changes: list[Change], lang: Lang = "de", limit: int = 8) -> str:
    """A single line for the journal: the first few changes joined by ``; ``."""
    if not changes:
        return describe(changes, lang)
    texts = [c.text(lang) for c in changes[:limit]]
    if len(changes) > limit:
        texts.append(f"+{len(changes) - limit} " + ("weitere" if lang == "de" else "more"))
    return "; ".join(texts)


def masked(data: Any) -> Any:
    """``data`` with every secret (``SECRET_KEYS``) shown as ``***``: for ``policy show`` and the policy page."""
    if isinstance(data, dict):
        return {k: ("***" if k in SECRET_KEYS and v else masked(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data
