"""SOAP envelopes, UPnP faults and HTTP digest authentication as a FRITZ!Box speaks them.

Kept apart from the server so the wire format is in one place: responses and faults use the box's
envelope (fault detail in ``urn:dslforum-org:control-1-0``), and the digest challenge uses the
box's realm ``F!Box SOAP-Auth`` with ``qop="auth"``, which is what fritzconnection (through
``requests.auth.HTTPDigestAuth``) answers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
REALM = "F!Box SOAP-Auth"

#: UPnP/AVM error codes the simulator answers, with the box's descriptions
FAULTS: dict[int, str] = {
    401: "Invalid Action",
    402: "Invalid Args",
    501: "Action Failed",
    600: "Argument Value Invalid",
    606: "Action not authorized",
    713: "SpecifiedArrayIndexInvalid",
    707: "DisconnectInProgress",
    714: "NoSuchEntryInArray",
    820: "Internal Error",
    866: "second factor authentication required",
}


class SoapFault(Exception):
    """Raised by an action handler; rendered as the UPnP fault with this code (HTTP 500)."""

    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(f"{code} {description or FAULTS.get(code, 'Error')}")
        self.code = code
        self.description = description or FAULTS.get(code, "Error")


@dataclass(frozen=True)
class SoapRequest:
    action: str
    service_type: str
    arguments: dict[str, str]


def parse_request(body: bytes, soapaction_header: str) -> SoapRequest:
    """Read action name, service type and arguments; malformed XML is a 402 as on the box."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise SoapFault(402, f"Invalid Args (malformed request: {err})") from None
    body_el = root.find(f"{{{SOAP_NS}}}Body")
    if body_el is None or len(body_el) == 0:
        raise SoapFault(401)
    action_el = body_el[0]
    match = re.match(r"\{(?P<ns>[^}]*)\}(?P<name>.*)", action_el.tag)
    service_type, action = (match["ns"], match["name"]) if match else ("", action_el.tag)
    header = soapaction_header.strip().strip('"')
    if header and "#" in header and header.split("#", 1)[1] != action:
        raise SoapFault(401, "Invalid Action (SOAPACTION header and body disagree)")
    args = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in action_el}
    return SoapRequest(action=action, service_type=service_type, arguments=args)


def render_response(service_type: str, action: str, values: dict[str, str]) -> bytes:
    parts = "".join(f"<{k}>{escape(v)}</{k}>\n" for k, v in values.items())
    return (
        '<?xml version="1.0"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_NS}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">\n'
        f'<s:Body>\n<u:{action}Response xmlns:u="{service_type}">\n{parts}</u:{action}Response>\n'
        "</s:Body>\n</s:Envelope>\n"
    ).encode()


def render_fault(fault: SoapFault) -> bytes:
    # newlines inside <UPnPError> matter: fritzconnection strips every node's text
    return (
        '<?xml version="1.0"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_NS}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">\n'
        "<s:Body>\n<s:Fault>\n<faultcode>s:Client</faultcode>\n<faultstring>UPnPError</faultstring>\n"
        '<detail>\n<UPnPError xmlns="urn:dslforum-org:control-1-0">\n'
        f"<errorCode>{fault.code}</errorCode>\n<errorDescription>{escape(fault.description)}</errorDescription>\n"
        "</UPnPError>\n</detail>\n</s:Fault>\n</s:Body>\n</s:Envelope>\n"
    ).encode()


UNAUTHORIZED_HTML = (b"<HTML><HEAD><TITLE>401 Unauthorized (ERR_NONE)</TITLE></HEAD><BODY><H1>401 Unauthorized</H1>"
                     b"Authentication required.</BODY></HTML>")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class DigestAuth:
    """Server side of RFC 2617 digest auth (MD5, qop=auth) with a bounded set of issued nonces."""

    def __init__(self, max_nonces: int = 1024) -> None:
        self._nonces: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_nonces

    def challenge(self, *, stale: bool = False) -> str:
        nonce = secrets.token_hex(8).upper()
        with self._lock:
            self._nonces[nonce] = None
            while len(self._nonces) > self._max:
                self._nonces.popitem(last=False)
        return (f'Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                + (", stale=TRUE" if stale else ""))

    def forget_all(self) -> None:
        """A reboot invalidates every nonce; clients re-authenticate on the next 401."""
        with self._lock:
            self._nonces.clear()

    def verify(self, header: str | None, method: str, passwords: dict[str, str]) -> tuple[str | None, bool]:
        """Return ``(user, stale)``: the authenticated user or ``None``; ``stale`` if only the nonce was old."""
        if not header or not header.lower().startswith("digest "):
            return None, False
        fields = {k: (a or b) for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', header[7:])}
        user = fields.get("username", "")
        if user not in passwords or fields.get("realm") != REALM:
            return None, False
        nonce = fields.get("nonce", "")
        with self._lock:
            known = nonce in self._nonces
        ha1 = _md5(f"{user}:{REALM}:{passwords[user]}")
        ha2 = _md5(f"{method}:{fields.get('uri', '')}")
        if fields.get("qop") == "auth":
            expected = _md5(f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        if not secrets.compare_digest(expected, fields.get("response", "")):
            return None, False
        if not known:
            return None, True
        return user, False
