"""Telekom Speedport Smart 3/4 over the web interface's encrypted JSON API.

Telekom's Speedports have no TR-064 for the owner and no documented API; the only way in is what the
web interface itself does. This driver speaks that protocol as the open-source clients document it
(``Andre0512/speedport-api``, Speedport Smart 3/4; ``aarikmudgal/ha-speedport-smart``, Smart 4;
``Stricted/speedport-hybrid-php-api`` for ``req_connect=online/offline``). No code is taken from them.

Protocol followed ("Smart 3/4 web API", firmware generation 2019+ with a fixed public key):

* Every body in both directions is hex text: AES-CCM, 16-byte tag, nonce = the key's first 8 bytes.
  Before login the key is a fixed public key (:data:`DEFAULT_KEY`); after login it is the login
  challenge itself (64 hex digits = a 32-byte AES key). Responses are JSON lists of
  ``{"varid": ..., "varvalue": ...}``; list values nest the same shape.
* Login: ``POST data/Login.json`` ``getChallenge=1`` -> ``challenge``; then ``POST data/Login.json``
  ``showpw=0&password=<sha256("<challenge>:<password>") hex>`` -> ``login=success`` and a session
  cookie. Failed logins may report ``login_locked`` (seconds to wait) and ``login_other`` (someone
  else holds the one admin session of the web interface).
* State-changing posts carry ``httoken``, scraped from the HTML page the web UI would post from
  (``var _httoken = 123;``), with that page as ``Referer``; the answer's ``status`` must be ``ok``.
* ``GET data/Status.json`` (public, fixed key): ``onlinestatus``, ``use_wlan``, ``wlan_ssid``,
  ``wlan_guest_active``, ``device_name``, ``firmware_version`` ...
* ``GET data/DeviceList.json`` (login): ``addmlandevice``/``addmwlandevice``/``addmwlan5device``
  rows with ``mdevice_ipv4``, ``mdevice_mac``, ``mdevice_name``, ``mdevice_connected``.
* ``POST data/Connect.json`` ``req_connect=offline|online``; ``POST data/Modules.json``
  ``use_wlan=0|1`` and ``wlan_guest_active=0|1`` (``wlan_office_active`` where the status has it).
* An expired session answers with the login page (HTML or a redirect to ``html/login``), 401/403,
  or a body that no longer decrypts with the session key: the driver then logs in once more.

Unverified against real hardware (only against ``drivers.sim.speedport``, which implements the
description above): whether Smart 3/4 firmware accepts ``req_connect=offline`` (documented for the
Speedport Hybrid; the Smart clients only use ``reconnect``) and whether the offline state survives
a reboot (assume it does not: the engine's ``enforce`` must re-cut); the exact ``onlinestatus``
words other than ``online``/``offline``; the lockout timings; the session idle timeout; whether
``DeviceList.json`` needs a login on every firmware (this driver always logs in). A firmware that
answers a command with something other than ``status=ok`` surfaces as :class:`NotSupported` with
the device's words, never as silent success.

Time bound: ``timeout`` bounds each HTTP request. A hanging device fails on the first request; a slow
but answering one costs at most status + login (2) + token page + command, twice if the session
expired in between (9 requests).

Note for installers: the web interface allows one admin session. While notaus holds its warm
session, a person opening the web interface may be told someone else is logged in (and vice versa:
an open browser session makes notaus' login fail with an actionable message).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from urllib3.exceptions import InsecureRequestWarning

from notaus.drivers.base import (
    AuthFailed,
    DriverError,
    Host,
    NotPermitted,
    NotSupported,
    RouterDriver,
    Unreachable,
    WanState,
    WlanNet,
)
from notaus.drivers.mac import mac_or_raw

#: Public key of the web UI for everything before login (published by the projects named above).
DEFAULT_KEY = bytes.fromhex("cdc0cac1280b516e674f0057e4929bca84447cca8425007e33a88a5cf598a190")
TAG_LENGTH = 16

STATUS_PATH = "data/Status.json"
DEVICES_PATH = "data/DeviceList.json"
LOGIN_PATH = "data/Login.json"
CONNECT_PATH = "data/Connect.json"
MODULES_PATH = "data/Modules.json"
CONNECT_REFERER = "html/content/internet/con_ipdata.html"
MODULES_REFERER = "html/content/overview/index.html"
DEVICES_REFERER = "html/content/network/devices.html"

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HTTOKEN = re.compile(r"_httoken\s*=\s*[\"']?(\d+)")
_LOGIN_PAGE_MARKERS = ("login/index.html", "login_index_html", "document moved")
_ACK_WORDS = {"ok", "success", "1", "true"}

#: ``onlinestatus`` words -> WanState (only "online"/"offline" are confirmed by public clients)
_ONLINE_WORDS: dict[str, WanState] = {
    "online": "up",
    "offline": "down",
    "disabled": "down",
    "disconnected": "down",
    "connecting": "connecting",
    "establishing": "connecting",
    "authenticating": "connecting",
}

#: device-list group -> interface label for :class:`Host`
_DEVICE_GROUPS = {
    "addmlandevice": "LAN",
    "addmwlandevice": "WLAN 2.4 GHz",
    "addmwlan5device": "WLAN 5 GHz",
    "addmdevice": "",
}

T = TypeVar("T")


# ------------------------------------------------------------------------------------- codec
def encrypt_payload(plain: str, key: bytes) -> str:
    """Encrypt a form or JSON text the way the web UI does (hex of ciphertext+tag)."""
    return AESCCM(key, tag_length=TAG_LENGTH).encrypt(key[:8], plain.encode("utf-8"), None).hex()


def decrypt_payload(text: str, key: bytes) -> str:
    """Inverse of :func:`encrypt_payload`; ``ValueError`` if ``text`` is not ours under ``key``."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) <= TAG_LENGTH:
            raise ValueError("payload shorter than the authentication tag")
        return AESCCM(key, tag_length=TAG_LENGTH).decrypt(key[:8], raw, None).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError) as exc:
        raise ValueError("payload does not decrypt with this key") from exc


def looks_encrypted(text: str) -> bool:
    return len(text) > 2 * TAG_LENGTH and len(text) % 2 == 0 and bool(_HEX.match(text))


def flatten(document: Any) -> dict[str, Any]:
    """``[{"varid": "a", "varvalue": "1"}, ...]`` -> ``{"a": "1"}``.

    Nested lists become dicts; a varid that repeats (one per device row) becomes a list of them.
    A plain JSON object is returned as is (some firmware answers commands that way).
    """
    if isinstance(document, Mapping):
        return {str(k): v for k, v in document.items()}
    result: dict[str, Any] = {}
    if not isinstance(document, list):
        return result
    for item in document:
        if not isinstance(item, Mapping) or "varid" not in item:
            continue
        key = str(item["varid"])
        value = item.get("varvalue")
        if isinstance(value, list):
            result.setdefault(key, []).append(flatten(value))
        else:
            result[key] = value
    return result


def password_hash(challenge: str, password: str) -> str:
    return hashlib.sha256(f"{challenge}:{password}".encode()).hexdigest()


# ------------------------------------------------------------------------------------ errors
class LoginLocked(AuthFailed):
    """The Speedport refuses logins for a while after wrong passwords; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int | None, device: str = "", detail: str = "") -> None:
        super().__init__(message, device=device, detail=detail)
        self.retry_after = retry_after


class _SessionExpired(Exception):
    """Internal: the device answered as if we were not logged in."""


# ------------------------------------------------------------------------------------ driver
class SpeedportDriver(RouterDriver):
    """Cut/restore the WAN, switch WLAN and list hosts on a Speedport Smart 3/4.

    ``options``: ``tls`` (bool, https), ``verify`` (bool or CA bundle path; only ``false`` accepts
    the Speedport's self-signed certificate), also read from a nested ``options`` mapping.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"wan", "wlan", "hosts"})

    def __init__(self, name: str, address: str, *, port: int | None = None, user: str = "",
                 password: str = "", timeout: float = 5.0, options: dict[str, Any] | None = None) -> None:
        super().__init__(name, address, port=port, user=user, password=password, timeout=timeout,
                         options=options)
        self.tls = bool(self._option("tls", False))
        self.verify: bool | str = self._option("verify", True)
        scheme = "https" if self.tls else "http"
        default_port = 443 if self.tls else 80
        host = f"[{address}]" if ":" in address and not address.startswith("[") else address
        self.base_url = f"{scheme}://{host}:{port or default_port}"
        if self.verify is False:
            # the installer chose to accept the self-signed certificate; say it once in the docs,
            # not on every request (only for this device's address)
            warnings.filterwarnings("ignore", category=InsecureRequestWarning,
                                    message=f".*'{re.escape(address)}'")
        self._http: requests.Session | None = None
        self._key: bytes | None = None
        self._lock = threading.RLock()

    def _option(self, key: str, default: Any) -> Any:
        if key in self.options:
            return self.options[key]
        nested = self.options.get("options")
        if isinstance(nested, Mapping) and key in nested:
            return nested[key]
        return default

    # ------------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Log in once so the panic path finds a warm session (and a wrong password shows at start)."""
        with self._lock:
            self._ensure_http()
            self._login()

    def close(self) -> None:
        """Log out (frees the web interface's single admin session) and drop the connection."""
        with self._lock:
            if self._http is None:
                return
            if self._key is not None:
                # logging out of a session the device already forgot is fine
                with contextlib.suppress(DriverError, _SessionExpired):
                    self._post(LOGIN_PATH, {"logout": "byby"}, referer=None, key=self._key)
            self._key = None
            self._http.close()
            self._http = None

    def check(self) -> dict[str, Any]:
        """Read-only probe: the device answers, the password works, the status reads."""
        with self._lock:
            self._ensure_http()
            status = self._status()
            # one authenticated read proves the session is usable, without changing anything
            self._authenticated(lambda: self._get(DEVICES_PATH, key=self._key))
            return {
                "model": str(status.get("device_name", "Speedport")),
                "firmware": str(status.get("firmware_version", "")),
                "wan": _wan_state(status),
                "tls": self.tls,
            }

    # ------------------------------------------------------------------------ WAN
    def wan_status(self) -> WanState:
        with self._lock:
            return _wan_state(self._status())

    def cut_wan(self) -> dict[str, Any]:
        """``req_connect=offline``; the memo records the state before, for the journal."""
        with self._lock:
            before = _wan_state(self._status())
            self._command(CONNECT_PATH, {"req_connect": "offline"}, CONNECT_REFERER,
                          what="disconnecting the internet (req_connect=offline)")
            return {"method": "req_connect", "command": "offline", "before": before}

    def unverified_hint(self, action: str) -> str:
        """What to do when the Speedport said ok and the read-back disagrees (engine adds it to the step)."""
        if action == "cut_wan":
            return (" – this Speedport accepted req_connect=offline but stays online: the offline command is not "
                    "confirmed for Speedport Smart 3/4 firmware (public clients only send 'reconnect'). Pull the "
                    "DSL/fibre cable at the Speedport now (Kabel ziehen) and tell the IT provider the model and "
                    "firmware shown by 'notaus doctor'.")
        if action in ("wlan_off", "wlan_on"):
            return " – switch the WLAN with the button on the Speedport or in its web interface (Heimnetz › WLAN)."
        return ""

    def restore_wan(self, memo: dict[str, Any] | None = None) -> None:
        """``req_connect=online``, whatever the memo says: the practice wants its internet back.

        A line that was offline before the cut cannot be told apart from a DSL outage, so restoring
        never leaves the connection deliberately down.
        """
        with self._lock:
            self._command(CONNECT_PATH, {"req_connect": "online"}, CONNECT_REFERER,
                          what="reconnecting the internet (req_connect=online)")

    # ------------------------------------------------------------------------ per host
    _NO_BLOCK = ("blocking a single machine is not possible on a Speedport; notaus uses the switch "
                 "instead (configure the machine's switch port, or isolate it by pulling its cable)")

    def block_host(self, ip: str) -> None:
        raise NotSupported(f"{self.name}: {self._NO_BLOCK}", device=self.name)

    def unblock_host(self, ip: str) -> None:
        raise NotSupported(f"{self.name}: {self._NO_BLOCK}", device=self.name)

    def host_blocked(self, ip: str) -> bool:
        raise NotSupported(f"{self.name}: {self._NO_BLOCK}", device=self.name)

    # ------------------------------------------------------------------------ WLAN
    def wlan_status(self) -> list[WlanNet]:
        with self._lock:
            return _wlan_nets(self._status())

    def set_wlan(self, enabled: bool) -> None:
        """Every WLAN the status shows (main, guest, office) on or off, in one post."""
        with self._lock:
            status = self._status()
            value = "1" if enabled else "0"
            fields = {"use_wlan": value, "wlan_guest_active": value}
            if "wlan_office_active" in status:
                fields["wlan_office_active"] = value
            self._command(MODULES_PATH, fields, MODULES_REFERER,
                          what=f"switching WLAN {'on' if enabled else 'off'} (use_wlan={value})")

    # ------------------------------------------------------------------------ hosts
    def hosts(self) -> list[Host]:
        with self._lock:
            data = self._authenticated(lambda: self._get(DEVICES_PATH, key=self._key))
            return _hosts(data)

    # ======================================================================== plumbing
    def _ensure_http(self) -> requests.Session:
        if self._http is None:
            session = requests.Session()
            session.headers.update({
                "Accept": "application/json, text/javascript, */*; q=0.01",
                "X-Requested-With": "XMLHttpRequest",
                "User-Agent": "notaus",
            })
            self._http = session
        return self._http

    def _where(self) -> str:
        return f"{self.name}: Speedport at {self.base_url}"

    def _send(self, method: str, path: str, *, body: str | None = None,
              headers: dict[str, str] | None = None) -> requests.Response:
        http = self._ensure_http()
        url = f"{self.base_url}/{path}"
        try:
            # verify per request: a REQUESTS_CA_BUNDLE in the environment overrides Session.verify
            return http.request(method, url, data=body, headers=headers, timeout=self.timeout,
                                allow_redirects=False, verify=self.verify)
        except requests.exceptions.SSLError as exc:
            raise Unreachable(
                f"{self._where()}: the TLS certificate was not accepted. The Speedport uses a "
                "self-signed certificate: set 'verify: false' in this device's options (or give a CA "
                "file as 'verify'), or switch 'tls' off to use http.",
                device=self.name, detail=str(exc)) from None
        except requests.exceptions.Timeout as exc:
            raise Unreachable(
                f"{self._where()} did not answer within {self.timeout:g} s. Check that it is "
                "switched on and reachable from the notaus box (cable, address); if it is restarting, "
                "try again in two minutes.", device=self.name, detail=str(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise Unreachable(
                f"{self._where()} cannot be reached. Check the address and port in the policy, the "
                "cable, and that the Speedport is switched on.", device=self.name, detail=str(exc)) from None

    def _decode(self, resp: requests.Response, key: bytes | None, path: str) -> dict[str, Any]:
        """Status code and body -> flattened dict; raise ``_SessionExpired`` if we are logged out."""
        if resp.status_code in (301, 302, 303, 307, 308):
            if "login" in resp.headers.get("Location", "").lower():
                raise _SessionExpired(path)
            raise DriverError(f"{self._where()} redirected {path} unexpectedly (HTTP {resp.status_code}); "
                              "check that the address points at the Speedport itself.", device=self.name)
        if resp.status_code in (401, 403):
            raise _SessionExpired(path)
        if resp.status_code == 404:
            raise NotSupported(f"{self._where()}: this firmware has no {path} (HTTP 404); notaus cannot "
                               "do this on this Speedport model.", device=self.name)
        if resp.status_code >= 400:
            raise DriverError(f"{self._where()} answered HTTP {resp.status_code} for {path}; try again, and "
                              "restart the Speedport if it persists.", device=self.name,
                              detail=resp.text[:200])
        text = resp.text.strip()
        lowered = text.lower()
        if any(marker in lowered for marker in _LOGIN_PAGE_MARKERS):
            raise _SessionExpired(path)
        if not text or text == "[]":
            return {}
        if looks_encrypted(text):
            for candidate in (key, DEFAULT_KEY):
                if candidate is None:
                    continue
                try:
                    text = decrypt_payload(text, candidate)
                    break
                except ValueError:
                    continue
            else:
                if key is not None:
                    raise _SessionExpired(path)  # encrypted for a session we no longer have
                raise DriverError(f"{self._where()}: the answer to {path} could not be decrypted; this "
                                  "firmware may use another protocol generation (not supported).",
                                  device=self.name)
        try:
            return flatten(json.loads(text))
        except json.JSONDecodeError:
            raise DriverError(f"{self._where()}: the answer to {path} is not JSON; check that the address "
                              "points at a Speedport Smart.", device=self.name, detail=text[:200]) from None

    def _get(self, path: str, *, key: bytes | None) -> dict[str, Any]:
        return self._decode(self._send("GET", path), key, path)

    def _post(self, path: str, fields: dict[str, str], *, referer: str | None,
              key: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        fields = dict(fields)
        if referer:
            headers["Referer"] = f"{self.base_url}/{referer}"
            fields["httoken"] = self._httoken(referer)
        body = encrypt_payload(urlencode(fields), key)
        return self._decode(self._send("POST", path, body=body, headers=headers), key, path)

    def _httoken(self, referer: str) -> str:
        resp = self._send("GET", referer)
        if resp.status_code in (301, 302, 303, 307, 308, 401, 403):
            raise _SessionExpired(referer)
        match = _HTTOKEN.search(resp.text)
        if match:
            return match.group(1)
        if any(marker in resp.text.lower() for marker in _LOGIN_PAGE_MARKERS):
            raise _SessionExpired(referer)
        raise NotSupported(f"{self._where()}: the page {referer} carries no request token (_httoken); "
                           "this firmware's web interface differs from the one notaus knows.",
                           device=self.name)

    def _status(self) -> dict[str, Any]:
        try:
            return self._get(STATUS_PATH, key=self._key)
        except _SessionExpired:
            # Status.json is public; a login page here means the firmware wants a session for it
            return self._authenticated(lambda: self._get(STATUS_PATH, key=self._key))

    def _login(self) -> None:
        """Challenge, hashed password, session cookie. Never retried: wrong tries lock the device."""
        http = self._ensure_http()
        http.cookies.clear()
        self._key = None
        answer = self._post(LOGIN_PATH, {"getChallenge": "1"}, referer=None, key=DEFAULT_KEY)
        self._raise_login_gate(answer)
        challenge = str(answer.get("challenge", "")).strip()
        try:
            key = bytes.fromhex(challenge)
        except ValueError:
            key = b""
        if len(key) not in (16, 24, 32):
            raise NotSupported(f"{self._where()}: the login challenge has an unknown form; this firmware "
                               "uses a login notaus does not know.", device=self.name,
                               detail=challenge[:80])
        answer = self._post(LOGIN_PATH, {"showpw": "0", "password": password_hash(challenge, self.password)},
                            referer=None, key=DEFAULT_KEY)
        self._raise_login_gate(answer)
        if str(answer.get("login", "")).lower() != "success":
            raise AuthFailed(
                f"{self._where()} rejected the password. Put the device password of the Speedport into "
                "the policy (printed on its back as 'Gerätepasswort' unless someone changed it). Do not "
                "retry blindly: after a few wrong passwords the Speedport locks its login for a while.",
                device=self.name)
        self._key = key

    def _raise_login_gate(self, answer: Mapping[str, Any]) -> None:
        locked = str(answer.get("login_locked", "")).strip().lower()
        seconds = int(locked) if locked.isdigit() else None
        if (seconds is not None and seconds > 0) or locked in ("true", "yes"):
            wait = f"{seconds} s" if seconds else "a few minutes"
            raise LoginLocked(
                f"{self._where()} has locked its login after wrong passwords; wait {wait}, then check "
                "the device password in the policy before trying again.",
                retry_after=seconds, device=self.name)
        other = str(answer.get("login_other", "")).strip()
        if other.lower() not in ("", "0", "false", "none", "null"):
            who = f" (from {other})" if other.lower() not in ("1", "true", "yes") else ""
            raise NotPermitted(
                f"{self._where()}: someone else is logged in to the Speedport's web interface{who}. "
                "The Speedport allows one admin at a time: log out there (or close that browser tab), "
                "then try again.", device=self.name)

    def _authenticated(self, call: Callable[[], T]) -> T:
        """Run ``call`` with a session; on expiry log in again exactly once and repeat it."""
        if self._key is None:
            self._login()
        try:
            return call()
        except _SessionExpired:
            self._login()
        try:
            return call()
        except _SessionExpired:
            raise AuthFailed(f"{self._where()} refused the session right after a successful login; "
                             "restart the Speedport and check that no other tool logs in with the same "
                             "password.", device=self.name) from None

    def _command(self, path: str, fields: dict[str, str], referer: str, *, what: str) -> dict[str, Any]:
        def post() -> dict[str, Any]:
            assert self._key is not None
            return self._post(path, fields, referer=referer, key=self._key)

        answer = self._authenticated(post)
        status = str(answer.get("status", "")).strip().lower()
        if status not in _ACK_WORDS:
            said = ", ".join(f"{k}={v}" for k, v in answer.items() if isinstance(v, str | int)) or "nothing"
            raise NotSupported(f"{self._where()} refused {what}; it answered: {said}. This firmware "
                               "probably cannot do it; use another way (switch, cable).",
                               device=self.name, detail=json.dumps(answer)[:500])
        return answer


# --------------------------------------------------------------------------------- mapping
def _wan_state(status: Mapping[str, Any]) -> WanState:
    word = str(status.get("onlinestatus", "")).strip().lower()
    return _ONLINE_WORDS.get(word, "unknown")


def _on(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def _wlan_nets(status: Mapping[str, Any]) -> list[WlanNet]:
    """Main, guest and office WLAN as the status shows them; ``use_wlan=0`` silences all radios."""
    radio_on = _on(status.get("use_wlan", "1"))
    nets: list[WlanNet] = []
    if "use_wlan" in status:
        nets.append(WlanNet(index=1, ssid=str(status.get("wlan_ssid", "")), enabled=radio_on))
    if "wlan_guest_active" in status:
        nets.append(WlanNet(index=2, ssid=str(status.get("wlan_guest_ssid", "")),
                            enabled=radio_on and _on(status["wlan_guest_active"]), guest=True))
    if "wlan_office_active" in status:
        nets.append(WlanNet(index=3, ssid=str(status.get("wlan_office_ssid", "")),
                            enabled=radio_on and _on(status["wlan_office_active"])))
    return nets


_mac = mac_or_raw   # the one normaliser (drivers.mac)


def _hosts(data: Mapping[str, Any]) -> list[Host]:
    hosts: list[Host] = []
    for group, interface in _DEVICE_GROUPS.items():
        rows = data.get(group, [])
        if isinstance(rows, Mapping):
            rows = [rows]
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, Mapping):
                continue
            ip = str(row.get("mdevice_ipv4", "")).strip()
            mac = str(row.get("mdevice_mac", "")).strip()
            if not ip and not mac:
                continue
            hosts.append(Host(ip=ip, mac=_mac(mac) if mac else "", name=str(row.get("mdevice_name", "")),
                              active=_on(row.get("mdevice_connected", "0")), interface=interface))
    return hosts
