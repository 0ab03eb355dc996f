"""A Telekom Speedport Smart 3/4 web API simulator, for tests, ``make run`` and the network lab.

It speaks the protocol described in :mod:`drivers.speedport` (challenge login, AES-CCM hex bodies,
session cookie, ``_httoken`` pages, ``Status.json``/``DeviceList.json``/``Connect.json``/
``Modules.json``) with its own small implementation of the cipher framing, so a driver bug is not
mirrored here. Its state (WAN, WLAN, hosts, sessions, failed logins) changes the world through
:class:`drivers.sim.effects.RouterEffects`: nothing in unit tests, nftables in the lab.

Behaviour modelled on what public clients report, not measured on hardware: one admin session at a
time (a second client gets ``login_other``), ``login_locked`` seconds after ``lock_after`` wrong
passwords, sessions that expire when idle, a reboot that forgets sessions and comes back *online*.

Faults for tests: ``hang`` (accept, never answer), ``reject`` (command names answered with
``status=error``), :meth:`SpeedportSimulator.reboot`, :meth:`SpeedportSimulator.expire_sessions`,
:meth:`SpeedportSimulator.occupy` (a browser session from another address).

Run: ``python -m notaus.drivers.sim.speedport --listen 127.0.0.1:8080 --password geheim``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from notaus.drivers.sim.effects import NullEffects, RouterEffects
from notaus.drivers.sim.http_server import SimHttpServer

PUBLIC_KEY = bytes.fromhex("cdc0cac1280b516e674f0057e4929bca84447cca8425007e33a88a5cf598a190")
SESSION_COOKIE = "SessionID_R3"
LOGIN_PAGE = "/html/login/index.html"

DEFAULT_HOSTS: list[dict[str, Any]] = [
    {"name": "empfang-pc", "ip": "192.168.2.20", "mac": "aa:bb:cc:dd:ee:01", "kind": "lan"},
    {"name": "sprechzimmer-1", "ip": "192.168.2.21", "mac": "aa:bb:cc:dd:ee:02", "kind": "lan"},
    {"name": "tablet-labor", "ip": "192.168.2.40", "mac": "aa:bb:cc:dd:ee:03", "kind": "wlan5",
     "connected": False},
]
_GROUP = {"lan": ("addmlandevice", "0"), "wlan": ("addmwlandevice", "1"), "wlan5": ("addmwlan5device", "2")}


def _seal(text: str, key: bytes) -> str:
    return AESCCM(key, tag_length=16).encrypt(key[:8], text.encode(), None).hex()


def _open(hextext: str, key: bytes) -> str | None:
    try:
        return AESCCM(key, tag_length=16).decrypt(key[:8], bytes.fromhex(hextext.strip()), None).decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None


def _vars(values: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"a": "1", "rows": [{...}, {...}]}`` -> the web UI's varid/varvalue list."""
    out: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, list):
            out.extend({"varid": key, "varvalue": _vars(row)} for row in value)
        else:
            out.append({"varid": key, "varvalue": value})
    return out


@dataclass
class Session:
    sid: str
    key: bytes
    client: str
    last_seen: float
    httoken: str = field(default_factory=lambda: str(secrets.randbelow(10**9)))


@dataclass
class SpeedportState:
    """What the simulated device holds; read it in tests to check what really changed."""

    online: bool = True
    use_wlan: bool = True
    wlan_guest_active: bool = False
    wlan_ssid: str = "Praxis-WLAN"
    wlan_guest_ssid: str = "Praxis-Gast"
    hosts: list[dict[str, Any]] = field(default_factory=lambda: [dict(h) for h in DEFAULT_HOSTS])
    failed_logins: int = 0
    locked_until: float = 0.0
    rebooting_until: float = 0.0
    challenge: str | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    logins: int = 0
    commands: list[dict[str, str]] = field(default_factory=list)


class SpeedportSimulator(SimHttpServer):
    """Threaded HTTP(S) server with the Speedport's state model.

    ``latency`` delays every answer (seconds); ``lock_after`` wrong passwords lock logins for
    ``lock_seconds``; a session idle for ``session_idle`` seconds is forgotten; ``ssl_context``
    serves https. ``hosts`` rows: ``{"name", "ip", "mac", "kind": "lan"|"wlan"|"wlan5",
    "connected": bool}`` (default :data:`DEFAULT_HOSTS`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, password: str = "geheim",
                 latency: float = 0.0, effects: RouterEffects | None = None,
                 hosts: list[dict[str, Any]] | None = None, lock_after: int = 3, lock_seconds: int = 60,
                 session_idle: float = 600.0, model: str = "Speedport Smart 4",
                 firmware: str = "010137.4.8.001.0", office_wlan: bool = False,
                 ssl_context: ssl.SSLContext | None = None, offline_ignored: bool = False) -> None:
        self.host = host
        #: a Smart 3/4 firmware that answers ``req_connect=offline`` with ok and stays online (unconfirmed
        #: either way in public clients, which only send ``reconnect``): the read-back must catch it
        self.offline_ignored = offline_ignored
        self.hung_requests = 0
        self._requested_port = port
        self.password = password
        self.latency = latency
        self.effects: RouterEffects = effects or NullEffects()
        self.lock_after = lock_after
        self.lock_seconds = lock_seconds
        self.session_idle = session_idle
        self.model = model
        self.firmware = firmware
        self.office_wlan = office_wlan
        self.ssl_context = ssl_context
        self.state = SpeedportState()
        if hosts is not None:
            self.state.hosts = [dict(h) for h in hosts]
        self.office_active = False
        self.reject: set[str] = set()
        self._hang_released = threading.Event()
        self._hang_released.set()
        self._lock = threading.RLock()
        SimHttpServer.__init__(self)
        self._timers: list[threading.Timer] = []

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> SpeedportSimulator:
        self.effects.apply_wan(self.state.online)
        self.effects.apply_wlan(self.state.use_wlan)
        self._serve(type("Handler", (_Handler,), {"sim": self}), "speedport-sim", self.ssl_context)
        return self

    def stop(self) -> None:
        self._hang_released.set()
        for timer in self._timers:
            timer.cancel()
        self._shutdown()

    # ------------------------------------------------------------------------ faults
    @property
    def hang(self) -> bool:
        return not self._hang_released.is_set()

    @hang.setter
    def hang(self, value: bool) -> None:
        if value:
            self._hang_released.clear()
        else:
            self._hang_released.set()

    def expire_sessions(self) -> None:
        """Forget every session, as the device does after its idle timeout."""
        with self._lock:
            self.state.sessions.clear()

    def occupy(self, client: str = "192.168.2.50") -> None:
        """Someone logged in to the web interface from ``client`` (a browser left open)."""
        with self._lock:
            sid = secrets.token_hex(16)
            self.state.sessions[sid] = Session(sid, secrets.token_bytes(32), client, time.monotonic())

    def reboot(self, duration: float = 1.0) -> None:
        """Drop every connection for ``duration`` s, then come back: sessions gone, WAN online."""
        with self._lock:
            self.state.rebooting_until = time.monotonic() + duration
            self.state.sessions.clear()
            self.state.challenge = None
            self.state.failed_logins = 0
            self.state.locked_until = 0.0
        timer = threading.Timer(duration, self._boot)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _boot(self) -> None:
        with self._lock:
            self.state.online = True  # "offline" is not saved: the line comes back after a restart
        self.effects.apply_wan(True)
        self.effects.apply_wlan(self.state.use_wlan)

    # ------------------------------------------------------------------------ protocol
    def _session(self, cookie: str | None) -> Session | None:
        now = time.monotonic()
        with self._lock:
            for sid, old in list(self.state.sessions.items()):
                if now - old.last_seen > self.session_idle:
                    del self.state.sessions[sid]
            sess = self.state.sessions.get(cookie or "")
            if sess is not None:
                sess.last_seen = now
            return sess

    def _status(self, session: Session | None) -> dict[str, Any]:
        s = self.state
        values: dict[str, Any] = {
            "device_name": self.model,
            "firmware_version": self.firmware,
            "serial_number": "SIM0000000001",
            "loginstate": "1" if session else "0",
            "onlinestatus": "online" if s.online else "offline",
            "dsl_link_status": "online",
            "use_wlan": "1" if s.use_wlan else "0",
            "wlan_ssid": s.wlan_ssid,
            "wlan_guest_active": "1" if s.wlan_guest_active else "0",
            "wlan_guest_ssid": s.wlan_guest_ssid,
        }
        if self.office_wlan:
            values["wlan_office_active"] = "1" if self.office_active else "0"
            values["wlan_office_ssid"] = "Praxis-Buero"
        return values

    def _devices(self) -> dict[str, Any]:
        groups: dict[str, Any] = {}
        for i, h in enumerate(self.state.hosts, start=1):
            group, mtype = _GROUP[h.get("kind", "lan")]
            groups.setdefault(group, []).append({
                "id": str(i), "mdevice_name": h["name"], "mdevice_ipv4": h["ip"],
                "mdevice_mac": h["mac"].upper(), "mdevice_type": mtype,
                "mdevice_connected": "1" if h.get("connected", True) else "0",
            })
        return groups

    def _login(self, form: dict[str, str], client: str) -> tuple[dict[str, Any], str | None]:
        """Answer a Login.json post; returns the answer and a new session id (if any)."""
        s = self.state
        now = time.monotonic()
        if "logout" in form:
            return {"status": "ok"}, None
        if now < s.locked_until:
            return {"login": "failed", "login_locked": str(int(s.locked_until - now) + 1)}, None
        others = [x for x in s.sessions.values() if x.client != client]
        if others:
            return {"login": "failed", "login_other": others[0].client}, None
        if "getChallenge" in form:
            s.challenge = secrets.token_hex(32)
            return {"challenge": s.challenge, "login_locked": "0"}, None
        if "password" in form:
            challenge, s.challenge = s.challenge, None
            expected = hashlib.sha256(f"{challenge}:{self.password}".encode()).hexdigest()
            if challenge is None or not secrets.compare_digest(form["password"], expected):
                s.failed_logins += 1
                answer = {"login": "failed", "login_locked": "0"}
                if s.failed_logins >= self.lock_after:
                    s.locked_until = now + self.lock_seconds
                    s.failed_logins = 0
                    answer["login_locked"] = str(self.lock_seconds)
                return answer, None
            s.failed_logins = 0
            s.logins += 1
            for sid in [k for k, v in s.sessions.items() if v.client == client]:
                del s.sessions[sid]  # the same client logging in again replaces its session
            sess = Session(secrets.token_hex(16), bytes.fromhex(challenge), client, now)
            s.sessions[sess.sid] = sess
            return {"login": "success"}, sess.sid
        return {"status": "error"}, None

    def _command(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        s = self.state
        if path == "/data/Connect.json":
            want = form.get("req_connect", "")
            s.commands.append({"req_connect": want})
            if "req_connect" in self.reject or want not in ("online", "offline", "reconnect"):
                return {"status": "error", "error": "unknown_value"}
            if want == "offline" and self.offline_ignored:
                return {"status": "ok"}
            s.online = want != "offline"
            self.effects.apply_wan(s.online)
            return {"status": "ok"}
        if path == "/data/Modules.json":
            keys = {k for k in form if k != "httoken"}
            s.commands.append({k: form[k] for k in keys})
            if keys & self.reject or not keys:
                return {"status": "error"}
            if "use_wlan" in form:
                s.use_wlan = form["use_wlan"] == "1"
                self.effects.apply_wlan(s.use_wlan)
            if "wlan_guest_active" in form:
                s.wlan_guest_active = form["wlan_guest_active"] == "1"
            if "wlan_office_active" in form:
                self.office_active = form["wlan_office_active"] == "1"
            return {"status": "ok"}
        return {"status": "error"}


class _Handler(BaseHTTPRequestHandler):
    """One request; all device logic lives in :class:`SpeedportSimulator`."""

    sim: SpeedportSimulator
    protocol_version = "HTTP/1.1"
    server_version = "httpd"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    # ------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        sim = self.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1") if length else ""
        if not sim._hang_released.is_set():
            sim.hung_requests += 1
            sim._hang_released.wait()
            self.close_connection = True
            return
        if time.monotonic() < sim.state.rebooting_until:
            self.close_connection = True  # connection dropped without an answer
            return
        if sim.latency:
            time.sleep(sim.latency)
        path = urlsplit(self.path).path
        cookie = self._cookie()
        client = self.client_address[0]
        with sim._lock:
            session = sim._session(cookie)
            if path.startswith("/html/"):
                self._page(path, session)
            elif method == "GET" and path == "/data/Status.json":
                self._send_json(sim._status(session), PUBLIC_KEY)
            elif method == "GET" and path == "/data/DeviceList.json":
                if session is None:
                    self._to_login()
                else:
                    self._send_json(sim._devices(), session.key)
            elif method == "POST" and path == "/data/Login.json":
                self._login(body, client, session)
            elif method == "POST" and path in ("/data/Connect.json", "/data/Modules.json"):
                self._command(path, body, session)
            else:
                self._send(404, "text/html", "<html><body>404 Not Found</body></html>")

    def _login(self, body: str, client: str, session: Session | None) -> None:
        sim = self.sim
        plain = _open(body, PUBLIC_KEY)
        key = PUBLIC_KEY
        if plain is None and session is not None:
            plain, key = _open(body, session.key), session.key  # logout is sent with the session key
        if plain is None:
            self._send(400, "text/plain", "bad request")
            return
        form = dict(parse_qsl(plain, keep_blank_values=True))
        if "logout" in form and session is not None:
            sim.state.sessions.pop(session.sid, None)
        answer, sid = sim._login(form, client)
        self._send_json(answer, key, cookie=sid)

    def _command(self, path: str, body: str, session: Session | None) -> None:
        if session is None:
            self._to_login()
            return
        plain = _open(body, session.key)
        if plain is None:
            self._to_login()  # not encrypted for this session: treat as logged out
            return
        form = dict(parse_qsl(plain, keep_blank_values=True))
        if form.get("httoken") != session.httoken:
            self._send_json({"status": "error", "error": "httoken"}, session.key)
            return
        self._send_json(self.sim._command(path, form), session.key)

    def _page(self, path: str, session: Session | None) -> None:
        if path.startswith("/html/login/"):
            self._send(200, "text/html", "<html><head><title>Speedport</title></head>"
                                         "<body>Anmeldung</body></html>")
        elif session is None:
            self._to_login()
        else:
            self._send(200, "text/html", "<html><head><script>var _httoken = "
                                         f"{session.httoken};</script></head><body></body></html>")

    def _to_login(self) -> None:
        self._send(302, "text/html", f'<html><body>Document moved <a href="{LOGIN_PAGE}">here</a></body></html>',
                   location=LOGIN_PAGE)

    def _cookie(self) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE:
                return value
        return None

    def _send_json(self, values: dict[str, Any], key: bytes, *, cookie: str | None = None) -> None:
        self._send(200, "application/json", _seal(json.dumps(_vars(values)), key), cookie=cookie)

    def _send(self, code: int, ctype: str, text: str, *, cookie: str | None = None,
              location: str | None = None) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", f"{SESSION_COOKIE}={cookie}; path=/; HttpOnly")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(data)


# ------------------------------------------------------------------------------------ CLI
def _effects(args: argparse.Namespace) -> RouterEffects:
    if args.effects == "nft":
        from notaus.drivers.sim.nft_effects import NftRouterEffects  # needs root and nft: only in the lab

        return NftRouterEffects(lan_if=args.lan_if, wan_if=args.wan_if, wlan_if=args.wlan_if)
    return NullEffects()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notaus.drivers.sim.speedport", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (port 0 picks a free one)")
    parser.add_argument("--password", required=True, help="the device password the driver must use")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--effects", choices=("null", "nft"), default="null")
    parser.add_argument("--lan-if", default="lan0")
    parser.add_argument("--wan-if", default="wan0")
    parser.add_argument("--wlan-if", default="wlan0", help="link standing in for the WLAN radio (lab)")
    parser.add_argument("--tls-cert", help="PEM certificate: serve https")
    parser.add_argument("--tls-key", help="PEM key for --tls-cert")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    sim = SpeedportSimulator(host or "127.0.0.1", int(port), password=args.password, latency=args.latency,
                             effects=_effects(args), ssl_context=context).start()
    scheme = "https" if context else "http"
    print(f"Speedport simulator listening on {scheme}://{sim.host}:{sim.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
