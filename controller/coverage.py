"""Does the running policy still describe the practice? Policy vs. what the router reports.

Used by ``notaus policy diff --discover`` (all findings), ``notaus doctor`` and the engine's health
job (only the three that matter in an emergency: a device the policy does not classify, a
registered VoIP client that is not a phone in the policy, a TI-Konnektor the box shows but the
policy does not protect). Only facts the router reported are compared; the rules are those of
:mod:`controller.discover`, so a finding carries the same reasons the draft shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from notaus.controller.discover import Context, Suggestion, classify, seen_from_router
from notaus.drivers.base import Host
from notaus.policies.schema import HostEntry, Policy

#: finding kinds doctor and the health job warn about
WARN_KINDS = ("unknown", "voip_not_phone", "protected_missing")
#: rules strong enough to call a policy role wrong (a name or a maker's prefix is only a hint)
CONFIDENT_RULES = frozenset({"voip", "oui-konnektor", "kiosk-token", "controller"})
NETWORK_ROLES = ("controller", "router", "switch")


@dataclass
class Finding:
    kind: str       # unknown | role | left | voip_not_phone | protected_missing
    host: str
    de: str
    en: str
    suggested_role: str = ""
    policy_role: str = ""

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.de

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(s: Suggestion) -> str:
    return ", ".join(x for x in (s.ip, s.mac) if x)


def _policy_match(policy: Policy, s: Suggestion) -> HostEntry | None:
    if s.mac:
        by_mac = next((h for h in policy.hosts if h.mac == s.mac), None)
        if by_mac is not None:
            return by_mac
    return next((h for h in policy.hosts if s.ip and h.ip == s.ip), None) if s.ip else None


def compare(policy: Policy, suggestions: list[Suggestion], *, router_hosts_known: bool = True) -> list[Finding]:
    """Findings between the policy and a discovery's suggestions (router and switch facts)."""
    out: list[Finding] = []
    devices = {d.address for d in policy.devices}
    matched: set[str] = set()
    for s in suggestions:
        if s.ip in devices or (s.role in NETWORK_ROLES and s.rule in ("controller", "device")):
            continue
        h = _policy_match(policy, s)
        why, warum = "; ".join(s.reasons), "; ".join(s.why("de"))
        if h is None:
            if s.role == "controller":
                continue
            out.append(Finding("unknown", s.name,
                               f"Router kennt {s.name} ({_label(s)}), die Richtlinie nicht; Vorschlag: {s.role} "
                               f"({warum})",
                               f"the router knows {s.name} ({_label(s)}) which the policy does not list; suggested "
                               f"role {s.role} ({why})", suggested_role=s.role))
            if s.rule == "voip":
                out.append(Finding("voip_not_phone", s.name,
                                   f"{s.name} ist ein beim Router angemeldetes IP-Telefon, steht aber nicht als "
                                   "phone in der Richtlinie",
                                   f"{s.name} is a VoIP client registered at the router but not a phone in the "
                                   "policy", suggested_role="phone"))
            if s.role == "ti-konnektor":
                out.append(_protected_missing(s, None))
            continue
        matched.add(h.name)
        if s.rule == "voip" and h.role != "phone":
            out.append(Finding("voip_not_phone", h.name,
                               f"{h.name} ist ein beim Router angemeldetes IP-Telefon, in der Richtlinie aber "
                               f"{h.role}: in keep-phones würde es gesperrt",
                               f"{h.name} is a VoIP client registered at the router but {h.role} in the policy: "
                               "keep-phones would block it", suggested_role="phone", policy_role=h.role))
        elif s.role == "ti-konnektor" and not (h.protected or h.role in policy.guardrails.protected_roles):
            out.append(_protected_missing(s, h))
        elif s.role != h.role and s.rule != "default" and h.role not in NETWORK_ROLES:
            sure = s.rule in CONFIDENT_RULES
            out.append(Finding("role", h.name,
                               f"{h.name}: Richtlinie sagt {h.role}, Erkennung {'sagt' if sure else 'vermutet'} "
                               f"{s.role} ({warum})",
                               f"{h.name}: the policy says {h.role}, discovery {'says' if sure else 'guesses'} "
                               f"{s.role} ({why})", suggested_role=s.role, policy_role=h.role))
    if router_hosts_known:
        for h in policy.hosts:
            if h.name in matched or h.role in NETWORK_ROLES or not (h.ip or h.mac):
                continue
            if h.ip and h.ip in devices:
                continue
            out.append(Finding("left", h.name,
                               f"{h.name} ({', '.join(x for x in (h.ip, h.mac) if x)}) steht in der Richtlinie, der "
                               "Router kennt ihn nicht (mehr)",
                               f"{h.name} ({', '.join(x for x in (h.ip, h.mac) if x)}) is in the policy but the "
                               "router does not know it (any more)", policy_role=h.role))
    if any(s.role == "ti-konnektor" for s in suggestions) and not any(
            h.role == "ti-konnektor" for h in policy.hosts) and not any(f.kind == "protected_missing" for f in out):
        konn = next(s for s in suggestions if s.role == "ti-konnektor")
        out.append(_protected_missing(konn, _policy_match(policy, konn)))
    return out


def _protected_missing(s: Suggestion, h: HostEntry | None) -> Finding:
    where = f"{s.name} ({_label(s)})"
    return Finding("protected_missing", s.name,
                   f"Der Router zeigt einen TI-Konnektor {where}, die Richtlinie schützt ihn nicht "
                   f"({'; '.join(s.why('de'))})",
                   f"the router shows a TI-Konnektor {where} which the policy does not protect "
                   f"({'; '.join(s.reasons)})", suggested_role="ti-konnektor", policy_role=h.role if h else "")


def router_findings(policy: Policy, router_hosts: Iterable[Host], voip_names: Iterable[str]) -> list[Finding]:
    """Doctor/health: the warnings from the router's host list and VoIP clients (no switches, no probe)."""
    ctx = Context(controller_ip=policy.controller.ip or "", controller_mac=policy.controller.mac or "",
                  devices={d.address: (d.name, str(d.role)) for d in policy.devices},
                  voip_clients=[{"name": n} for n in voip_names if n])
    suggestions = classify(seen_from_router(router_hosts), ctx)
    inactive = {s.name for s in suggestions if not s.active}  # a box remembers long-gone guests for weeks
    return [f for f in compare(policy, suggestions, router_hosts_known=False)
            if f.kind in WARN_KINDS and not (f.kind == "unknown" and f.host in inactive)]
