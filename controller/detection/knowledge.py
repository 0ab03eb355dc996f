"""Protocol knowledge: legitimate periodic traffic recognised without any policy.

A practice box is often installed before anyone writes a policy; it must not cry wolf about the
phone registering or the printer driver polling. What is recognised here is what the *protocol*
makes periodic, not what a timing pattern happens to look like:

* multicast and broadcast destinations (SSDP 239.255.255.250:1900, mDNS 224.0.0.251:5353,
  LLMNR 224.0.0.252:5355, their IPv6 forms): nobody answers a command-and-control poll there;
* NTP (udp/123): clients poll on a power-of-two schedule (w32time 2^10..2^15 s);
* SIP (5060 udp/tcp, 5061 tls): phones re-REGISTER with the registrar before the binding expires;
* IPsec IKE/NAT-T (udp/500, udp/4500): the TI-Konnektor's VPN to the Zugangsdienst sends
  dead-peer-detection keepalives (about a minute);
* SNMP (udp/161-162) inside the LAN: printer drivers and monitoring poll device status;
* mail retrieval (IMAP 143/993, POP3 110/995): clients poll the mailbox on a fixed interval;
* a persistent session that reconnects (messengers, push services): each connection lasts about
  as long as the gap to the next, which a beacon's short check-ins never do (see
  :func:`persistent_session`).

Known limits: port-based rules (NTP, SIP, IPsec, mail) trust the port; an implant speaking on
udp/123 would be let through as "allowed" - it stays *visible* in the report with its score, and a
policy allowlist can be made stricter. LAN-internal pairs are judged apart (``scope = "lan"``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    name: str
    ports: frozenset[int]
    proto: str | None
    lan_only: bool = False


_RULES = (
    Known("NTP-Zeitabgleich", frozenset({123}), "udp"),
    Known("SIP-Registrierung (Telefonie)", frozenset({5060, 5061}), None),
    Known("IPsec-VPN-Keepalive (z. B. TI-Konnektor)", frozenset({500, 4500}), "udp"),
    Known("SNMP-Abfrage im LAN", frozenset({161, 162}), "udp", lan_only=True),
    Known("E-Mail-Abruf (IMAP/POP3)", frozenset({110, 143, 993, 995}), "tcp"),
)


def _is_group(dst: str) -> bool:
    try:
        ip = ipaddress.ip_address(dst)
    except ValueError:
        return False
    if ip.is_multicast:
        return True
    return ip.version == 4 and (str(ip) == "255.255.255.255" or str(ip).endswith(".255"))


def known_periodic(dst: str, dst_port: int, proto: str, lan: bool) -> str | None:
    """Name of the protocol that explains periodic traffic to ``dst:dst_port/proto``, or None."""
    if _is_group(dst):
        return "Multicast-/Broadcast-Ankündigung (SSDP/mDNS/LLMNR)"
    for rule in _RULES:
        if dst_port in rule.ports and (rule.proto is None or rule.proto == proto) and (lan or not rule.lan_only):
            return rule.name
    return None


#: a reconnecting session: connections last at least this share of the callback period ...
SESSION_DUTY = 0.8
#: ... at periods of at least this long (HTTP long-poll C2 reconnects within a minute or two)
SESSION_MIN_PERIOD_S = 900.0


def persistent_session(longest_connection_s: float, period_s: float | None) -> bool:
    """A connection held about as long as the gap to the next: a session that reconnects, not a check-in."""
    return bool(period_s and period_s >= SESSION_MIN_PERIOD_S
                and longest_connection_s >= SESSION_DUTY * period_s)
