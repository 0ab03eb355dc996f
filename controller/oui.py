"""Vendor prefixes (MAC OUI) that tell ``notaus discover`` what a device probably is.

Source: the IEEE MA-L registry (``oui.txt``), as shipped in the ``netaddr`` 1.3.0 wheel
(``netaddr/eui/oui.txt``), looked up by organisation name on 2026-12-06. Only the
prefixes listed there are here; nothing is guessed. A MAC prefix is a hint, never proof:
a maker can build on another maker's board (then the board maker's prefix shows), and
locally administered (random) MACs carry no vendor at all. Every suggestion made from this
table says so in its reason, and the provider reviews the draft.

Notable: ``00:0D:B9`` is *PC Engines GmbH* (APU boards), not secunet; secunet Security
Networks AG holds ``00:1C:19``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vendor:
    """What a prefix says: the registered organisation and the device kind notaus infers from it."""

    organisation: str
    kind: str            # "ti-konnektor" | "phone" | "printer" | "avm"
    note: str = ""


_KONNEKTOR = {
    "00:1C:19": Vendor("secunet Security Networks AG", "ti-konnektor", "maker of the secunet konnektor"),
    "00:25:F4": Vendor("KoCo Connector AG", "ti-konnektor", "maker of the KoCoBox MED+"),
    "00:0F:D5": Vendor("Schwechat - RISE", "ti-konnektor", "RISE, maker of the RISE Konnektor (Schwechat, AT)"),
}
_PHONES = {
    "00:04:13": "snom technology GmbH",
    "00:15:65": "XIAMEN YEALINK NETWORK TECHNOLOGY CO.,LTD",
    "24:9A:D8": "YEALINK(XIAMEN) NETWORK TECHNOLOGY CO.,LTD.",
    "44:DB:D2": "YEALINK(XIAMEN) NETWORK TECHNOLOGY CO.,LTD.",
    "80:5E:0C": "YEALINK(XIAMEN) NETWORK TECHNOLOGY CO.,LTD.",
    "80:5E:C0": "YEALINK(XIAMEN) NETWORK TECHNOLOGY CO.,LTD.",
    "C4:FC:22": "YEALINK(XIAMEN) NETWORK TECHNOLOGY CO.,LTD.",
    "00:21:04": "Gigaset Communications GmbH",
    "7C:2F:80": "Gigaset Communications GmbH",
    "58:9E:C6": "Gigaset Communications GmbH",
    "00:0B:82": "Grandstream Networks, Inc.",
    "C0:74:AD": "Grandstream Networks, Inc.",
    "EC:74:D7": "Grandstream Networks Inc",
    "00:04:F2": "Polycom",
    "64:16:7F": "Polycom",
    "00:09:52": "Auerswald GmbH & Co. KG",
    "00:09:40": "AGFEO GmbH & Co. KG",
    "00:90:33": "INNOVAPHONE AG",
    "0C:38:3E": "Fanvil Technology Co., Ltd.",
}
_PRINTERS = {
    "00:80:77": "Brother industries, LTD.",
    "00:1B:A9": "Brother industries, LTD.",
    "30:05:5C": "Brother industries, LTD.",
    "3C:2A:F4": "Brother Industries, LTD.",
    "94:DD:F8": "Brother Industries, LTD.",
    "B4:22:00": "Brother Industries, LTD.",
    "D4:F0:C9": "KYOCERA Document Solutions Inc.",
}
_AVM = {p: "AVM GmbH" for p in ("00:04:0E", "00:15:0C", "00:1A:4F", "00:1C:4A", "00:1F:3F", "00:24:FE",
                                  "08:96:D7", "24:65:11", "34:31:C4", "34:81:C4", "9C:C7:A6", "BC:05:43",
                                  "C0:25:06")}
_AVM.update({p: "AVM Audiovisuelles Marketing und Computersysteme GmbH" for p in (
    "04:B4:FE", "0C:72:74", "1C:ED:6F", "2C:3A:FD", "2C:91:AB", "38:10:D5", "3C:37:12", "3C:A6:2F", "44:4E:6D",
    "48:5D:35", "50:E6:36", "5C:49:79", "74:42:7F", "7C:FF:4D", "98:9B:CB", "B0:F2:08", "C8:0E:14", "CC:CE:1E",
    "D0:12:CB", "D4:24:DD", "DC:15:C8", "DC:39:6F", "E0:08:55", "E0:28:6D", "E8:DF:70", "F0:B0:14")})

#: prefix (upper case, colon separated) -> vendor
OUI: dict[str, Vendor] = {
    **_KONNEKTOR,
    **{p: Vendor(o, "phone") for p, o in _PHONES.items()},
    **{p: Vendor(o, "printer") for p, o in _PRINTERS.items()},
    **{p: Vendor(o, "avm") for p, o in _AVM.items()},
}


def prefix_of(mac: str) -> str:
    """``aa-bb-cc-dd-ee-ff`` / ``aabb.ccdd.eeff`` -> ``AA:BB:CC``; empty for anything that is not a MAC."""
    digits = "".join(c for c in mac if c.isalnum()).upper()
    if len(digits) != 12 or any(c not in "0123456789ABCDEF" for c in digits):
        return ""
    return f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}"


def locally_administered(mac: str) -> bool:
    """Random/virtual MACs (second-lowest bit of the first octet set) belong to no vendor."""
    prefix = prefix_of(mac)
    return bool(prefix) and bool(int(prefix[:2], 16) & 0x02)


def vendor_of(mac: str) -> tuple[str, Vendor] | None:
    """``(prefix, vendor)`` when the prefix is in the table, else ``None``."""
    prefix = prefix_of(mac)
    vendor = OUI.get(prefix)
    return (prefix, vendor) if vendor else None
