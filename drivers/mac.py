"""The one MAC address normaliser: every MAC inside notaus is lower case with colons.

Devices spell MACs their own way: the FRITZ!Box's TR-064 ``Hosts`` service answers
``AA:BB:CC:DD:EE:01``, Cisco IOS ``aabb.ccdd.ee01``, HP/Aruba ``aabbcc-ddee01``, the Speedport
``aa:bb:...``, SNMP bridge tables raw octets. Comparisons (is this host on that port? is that the
router's own MAC?) only work when all of them are spelled alike, so drivers, the policy schema, the
isolation planner and the port locator all go through here. A leaf module: it imports nothing of
ours, so the policy schema can use it without importing any driver.
"""

from __future__ import annotations

import re

_SEPARATED = re.compile(r"[0-9a-fA-F:.\-\s]+")


def normalize_mac(value: str) -> str:
    """``AA-BB-CC-DD-EE-01`` / ``aabb.ccdd.ee01`` / ``AA:BB:..`` -> ``aa:bb:cc:dd:ee:01``; ``ValueError`` otherwise."""
    text = str(value).strip()
    digits = re.sub(r"[^0-9a-fA-F]", "", text).lower()
    if len(digits) != 12 or not _SEPARATED.fullmatch(text):
        raise ValueError(f"{value!r} is not a MAC address (expected aa:bb:cc:dd:ee:ff)")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def safe_mac(value: str | None) -> str:
    """:func:`normalize_mac`, or ``""`` for nothing or something that is not a MAC."""
    if not value:
        return ""
    try:
        return normalize_mac(value)
    except ValueError:
        return ""


def mac_or_raw(value: object) -> str:
    """:func:`normalize_mac` where possible, else the value lower-cased (kept for display, never matched)."""
    text = str(value)
    return safe_mac(text) or text.lower()
