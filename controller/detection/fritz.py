"""Live capture from a FRITZ!Box: its packet-trace endpoint streams pcap over HTTP.

Like ntopng's fritzdump: log in through ``login_sid.lua`` (PBKDF2 challenge for FRITZ!OS >= 7.24,
MD5 challenge for older boxes), then GET ``/cgi-bin/capture_notimeout?ifaceorminor=...&snaplen=
&capture=Start&sid=...`` and feed the body into the same pcap stream parser. No mirror port needed.
"""

from __future__ import annotations

import hashlib
import re
import threading
from urllib.parse import urljoin

import requests

from notaus.controller.detection.pcapio import FrameSink, ReadStats, read_stream

NO_SID = "0000000000000000"


class FritzCaptureError(Exception):
    """Login or capture at the FRITZ!Box failed; the message says what to check."""


def _tag(xml: str, name: str) -> str:
    m = re.search(rf"<{name}>([^<]*)</{name}>", xml)
    return m.group(1) if m else ""


def challenge_response(challenge: str, password: str) -> str:
    """Answer a login_sid.lua challenge (``2$iter1$salt1$iter2$salt2`` PBKDF2, else MD5/UTF-16LE)."""
    if challenge.startswith("2$"):
        _v, iter1, salt1, iter2, salt2 = challenge.split("$")
        h1 = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt1), int(iter1))
        h2 = hashlib.pbkdf2_hmac("sha256", h1, bytes.fromhex(salt2), int(iter2))
        return f"{salt2}${h2.hex()}"
    digest = hashlib.md5(f"{challenge}-{password}".encode("utf-16-le")).hexdigest()  # noqa: S324 - box protocol
    return f"{challenge}-{digest}"


def login(base_url: str, user: str, password: str, session: requests.Session | None = None,
          timeout: float = 10.0) -> str:
    """Return a session id or raise FritzCaptureError with a hint."""
    s = session or requests.Session()
    url = urljoin(base_url, "/login_sid.lua?version=2")
    try:
        first = s.get(url, timeout=timeout)
        first.raise_for_status()
        challenge = _tag(first.text, "Challenge")
        if not challenge:
            raise FritzCaptureError("Die FRITZ!Box lieferte keine Anmelde-Aufgabe - Adresse prüfen.")
        resp = s.post(url, data={"username": user, "response": challenge_response(challenge, password)},
                      timeout=timeout)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise FritzCaptureError(f"FRITZ!Box unter {base_url} nicht erreichbar ({exc}). "
                                f"Adresse und Netzwerk prüfen.") from None
    sid = _tag(resp.text, "SID")
    if not sid or sid == NO_SID:
        raise FritzCaptureError("Anmeldung an der FRITZ!Box fehlgeschlagen: Benutzername/Kennwort prüfen "
                                "(Benutzer braucht das Recht 'FRITZ!Box Einstellungen').")
    return sid


def capture(base_url: str, sid: str, sink: FrameSink, iface: str = "1-lan", snaplen: int = 1600,
            stop: threading.Event | None = None, session: requests.Session | None = None,
            timeout: float = 10.0) -> ReadStats:
    """Stream the box's capture into ``sink`` until the box ends it or ``stop`` is set."""
    s = session or requests.Session()
    url = urljoin(base_url, "/cgi-bin/capture_notimeout")
    params = {"ifaceorminor": iface, "snaplen": str(snaplen), "capture": "Start", "sid": sid}
    try:
        resp = s.get(url, params=params, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise FritzCaptureError(f"Mitschnitt an der FRITZ!Box nicht startbar ({exc}).") from None
    if resp.status_code != 200:
        raise FritzCaptureError(f"FRITZ!Box verweigert den Mitschnitt (HTTP {resp.status_code}) - "
                                f"Sitzung abgelaufen oder Schnittstelle {iface!r} unbekannt.")
    raw = resp.raw

    class _Stoppable:
        def read(self, n: int = -1, /) -> bytes:
            if stop is not None and stop.is_set():
                return b""
            # read1: whatever has arrived (up to n), so a quiet line does not stall detection
            return bytes(raw.read1(n if n > 0 else 65536) or b"")

    try:
        return read_stream(_Stoppable(), sink)
    finally:
        resp.close()
