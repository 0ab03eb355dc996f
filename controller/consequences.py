"""What stops working when a panic profile runs, in the words staff understand.

The incident guide warns that cutting the internet drops the landline phones (VoIP over the router);
staff must hear that *before* they confirm, together with the TI-Konnektor, remote maintenance and
e-mail.
"""

from __future__ import annotations

from notaus.controller.results import Warning
from notaus.drivers.base import Telephony
from notaus.policies.schema import PanicProfile, Policy


def panic_warnings(policy: Policy, profile: PanicProfile, telephony: dict[str, Telephony]) -> list[Warning]:
    warnings: list[Warning] = []
    numbers = sorted({n for t in telephony.values() for n in t.numbers})
    phones = sorted({p for t in telephony.values() for p in t.phones})
    if profile.cut_wan:
        if numbers:
            warnings.append(Warning(
                "phones",
                f"Telefon: {len(numbers)} Rufnummer(n) fallen aus ({', '.join(numbers)}). "
                "Die Praxis ist telefonisch nicht erreichbar – Handy bereithalten.",
                f"Phones: {len(numbers)} number(s) will drop ({', '.join(numbers)}). "
                "The practice cannot be called – keep a mobile phone at hand.",
            ))
        else:
            warnings.append(Warning(
                "phones",
                "Telefon: Telefone über den Router (VoIP) fallen aus.",
                "Phones: phones that run over the router (VoIP) will drop.",
            ))
        if any(h.role == "ti-konnektor" for h in policy.hosts):
            warnings.append(Warning(
                "ti",
                "TI-Konnektor offline: kein Einlesen der Gesundheitskarte, kein E-Rezept, keine eAU, kein KIM.",
                "TI-Konnektor offline: no health-card reading, no e-prescription, no eAU, no KIM.",
            ))
        warnings.append(Warning(
            "remote",
            "Fernwartung ist nicht möglich – der IT-Dienstleister muss ggf. vor Ort kommen.",
            "Remote maintenance is impossible – the IT provider may have to come on site.",
        ))
        warnings.append(Warning(
            "email",
            "E-Mail und Internet funktionieren auf keinem Gerät.",
            "E-mail and internet stop working on every device.",
        ))
    if profile.block_clients:
        kept = [h.name for h in policy.hosts if h.role in profile.keep_roles]
        warnings.append(Warning(
            "clients",
            "Alle PCs verlieren den Internetzugang. " + (
                f"Telefon bleibt: {', '.join(kept)}." if kept else "Telefone über den Router bleiben erreichbar."),
            "Every PC loses internet access. " + (
                f"Phones stay up: {', '.join(kept)}." if kept else "Phones over the router stay reachable."),
        ))
        if phones and not kept:
            warnings.append(Warning(
                "phones-unknown",
                "Hinweis: Telefone sind in der Richtlinie nicht eingetragen – sie werden nur geschützt, "
                "wenn sie als Rolle 'phone' eingetragen sind.",
                "Note: phones are not listed in the policy – they are kept only when listed with role 'phone'.",
            ))
        ti_blocked = [h.name for h in policy.hosts if h.role == "ti-konnektor" and h.role not in profile.keep_roles]
        if ti_blocked:
            warnings.append(Warning(
                "ti",
                "TI-Konnektor offline: kein Einlesen der Gesundheitskarte, kein E-Rezept, keine eAU, kein KIM.",
                "TI-Konnektor offline: no health-card reading, no e-prescription, no eAU, no KIM.",
            ))
    if profile.wlan_off:
        warnings.append(Warning(
            "wlan",
            "WLAN wird abgeschaltet (auch Gäste-WLAN): Laptops und Tablets im WLAN verlieren das Netz.",
            "WLAN is switched off (guest network too): laptops and tablets on WLAN lose the network.",
        ))
    return warnings
