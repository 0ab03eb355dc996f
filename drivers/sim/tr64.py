"""A FRITZ!Box 7590 on the wire: TR-064 over HTTP with digest auth, backed by a behavioural model.

Used by the tests (real fritzconnection client against it), by ``make run`` and, inside the
network lab's router namespace, with ``--effects nft`` so that its state changes stop packets.

It serves the real box's API (``tr64desc.xml``, ``igddesc.xml`` and every SCPD, generated from the
recorded description, see :mod:`drivers.sim.tr64_description`), requires HTTP digest auth on the
TR-064 control URLs (the IGD URLs answer without, as on a real box), answers unknown actions and
wrong arguments with real UPnP faults, and models the behaviour in :mod:`drivers.sim.tr64_state`.

Fault injection for tests: wrong password (HTTP 401), users with read-only rights (606 on every
write action), ``hang`` (accept and never answer), per-action faults (``inject_fault``), latency.

Field behaviours of newer FRITZ!OS (see :mod:`drivers.fritzbox` for the public reports), as options:
``firmware`` (what ``DeviceInfo1.GetInfo`` reports, e.g. ``"154.08.25"``), ``termination_fault=707``
(``ForceTermination`` disconnects and then answers fault 707 DisconnectInProgress, kbr/fritzconnection
#236), ``wan_right=False`` (FRITZ!OS 8.25 without the per-device right: ``ForceTermination`` answers
200 and nothing happens, ioBroker.tr-064#684), ``second_factor`` (actions answering fault 866
"second factor authentication required"), ``ipv6_prefix`` (the LAN gets IPv6 from this delegated
prefix, read by ``WANIPConn1.X_AVM_DE_GetIPv6Prefix``).

An unauthenticated control endpoint on the same listener lets tests drive a simulator that runs in
another process or namespace: ``POST /_sim/reboot``, ``POST /_sim/reconnect``, ``POST /_sim/mode``
(JSON ``{"hang": bool, "latency": float, "termination_fault": int|null, "wan_right": bool}``),
``POST /_sim/hosts`` (JSON ``{"ip", "mac", "name"}``: a device joins, or one changes its address)
and ``GET /_sim/state``.

CLI::

    python -m notaus.drivers.sim.tr64 --listen 0.0.0.0:49000 --user notaus --password secret \\
        [--latency 0.05] [--effects nft --lan-if lan0 --wan-if wan0] [--hosts-from policy.yaml]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from notaus.drivers.sim.effects import RouterEffects
from notaus.drivers.sim.http_server import SimHttpServer
from notaus.drivers.sim.tr64_actions import BoxActions
from notaus.drivers.sim.tr64_description import BoxDescription, ServiceDef
from notaus.drivers.sim.tr64_lan import install_lan_handlers
from notaus.drivers.sim.tr64_soap import (
    UNAUTHORIZED_HTML,
    DigestAuth,
    SoapFault,
    parse_request,
    render_fault,
    render_response,
)
from notaus.drivers.sim.tr64_state import BoxState

log = logging.getLogger("notaus.sim.tr64")

_READ_ACTION = re.compile(r"^(X_AVM-DE_|X_)?Get")
_INT_TYPES = {"ui1", "ui2", "ui4", "i1", "i2", "i4", "int"}
_DESCRIPTION_CACHE: dict[str, BoxDescription] = {}
_DESCRIPTION_LOCK = threading.Lock()


def _description() -> BoxDescription:
    """Parse and render the description once per process (it is immutable)."""
    with _DESCRIPTION_LOCK:
        if "box" not in _DESCRIPTION_CACHE:
            _DESCRIPTION_CACHE["box"] = BoxDescription.load()
        return _DESCRIPTION_CACHE["box"]


@dataclass
class UserAccount:
    password: str
    rights: str = "readwrite"   # BoxAdmin access: "readwrite" or "read" (606 on writes)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


class Tr064Simulator(SimHttpServer):
    """One simulated box on ``host:port`` (``port=0`` picks a free port; read ``.port`` after ``start``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, user: str = "notaus", password: str = "notaus",
                 latency: float = 0.0, effects: RouterEffects | None = None, hosts: list[Any] | None = None,
                 numbers: list[str] | None = None, phones: list[Any] | None = None,
                 restricted_users: dict[str, str] | None = None, wan_service: str = "WANPPPConnection1",
                 reconnect_delay: float = 0.3, connect_delay: float = 0.05, hostfilter_delay: float = 0.2,
                 reboot_delay: float = 0.5, firmware: str | None = None, termination_fault: int | None = None,
                 wan_right: bool = True, second_factor: set[tuple[str, str]] | None = None,
                 ipv6_prefix: str = "") -> None:
        self.host = host
        self._requested_port = port
        self.latency = latency
        self.description = _description()
        self.state = BoxState(effects=effects, hosts=hosts, numbers=numbers, phones=phones, wan_service=wan_service,
                              reconnect_delay=reconnect_delay, connect_delay=connect_delay,
                              hostfilter_delay=hostfilter_delay, reboot_delay=reboot_delay)
        self.users: dict[str, UserAccount] = {user: UserAccount(password)}
        for name, pw in (restricted_users or {}).items():
            self.users[name] = UserAccount(pw, rights="read")
        self.auth = DigestAuth()
        self._sids: set[str] = set()
        self.actions = BoxActions(self.state, model=self.description.model_name or "FRITZ!Box 7590",
                                  firmware=firmware or self.description.firmware, new_sid=self._new_sid)
        self.actions.termination_fault = termination_fault
        self.actions.wan_right = wan_right
        self.actions.ipv6_prefix = ipv6_prefix
        self.second_factor: set[tuple[str, str]] = set(second_factor or ())
        install_lan_handlers(self.actions)   # read-only LAN/line/IPv6 facts for discovery (tr64_lan)
        self._store: dict[str, dict[str, str]] = {}
        self._faults: dict[tuple[str, str], list[int]] = {}
        self._hang = threading.Event()
        self._stopping = threading.Event()
        self._action_lock = threading.Lock()
        self.calls: Counter[str] = Counter()        # "Service.Action" -> answered SOAP calls
        self.documents_served = 0                   # description/SCPD GETs (discovery)
        self.hung_requests = 0                      # requests that met ``hang`` (the client had to time out)
        self.inflight = 0                           # authenticated SOAP calls being answered right now
        self.max_inflight = 0                       # the most at once (shows a client's parallelism)
        SimHttpServer.__init__(self)

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> Tr064Simulator:
        self._stopping.clear()
        self._serve(_make_handler(self), "tr64-sim")
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._hang.clear()
        self.state.cancel_timers()
        self._shutdown()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------------- fault control
    @property
    def hang(self) -> bool:
        return self._hang.is_set()

    @hang.setter
    def hang(self, value: bool) -> None:
        if value:
            self._hang.set()
        else:
            self._hang.clear()

    def add_user(self, name: str, password: str, *, restricted: bool = False) -> None:
        self.users[name] = UserAccount(password, rights="read" if restricted else "readwrite")

    def set_restricted(self, name: str, restricted: bool = True) -> None:
        """Take away (or give back) the right "FRITZ!Box Einstellungen": writes then answer 606."""
        self.users[name].rights = "read" if restricted else "readwrite"

    def inject_fault(self, service: str, action: str, code: int, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``service.action`` with UPnP fault ``code`` (e.g. 820)."""
        with self._action_lock:
            self._faults.setdefault((service, action), []).extend([code] * times)

    def reboot(self) -> None:
        """Reboot the box: sessions become invalid, WAN returns with trigger AlwaysOn (drift)."""
        self.auth.forget_all()
        self.state.reboot()

    def simulate_user_reconnect(self) -> None:
        self.state.simulate_user_reconnect()

    def snapshot(self) -> dict[str, Any]:
        data = self.state.snapshot()
        data.update({"hang": self.hang, "latency": self.latency, "calls": dict(self.calls),
                     "documents_served": self.documents_served})
        return data

    def _new_sid(self) -> str:
        sid = secrets.token_hex(8)
        self._sids.add(sid)
        return sid

    # ------------------------------------------------------------------------------ dispatch
    def call(self, svc: ServiceDef, action: str, args: dict[str, str], user: str | None) -> dict[str, str]:
        """Validate and run one action; raise :class:`SoapFault` as the box would."""
        if action not in svc.actions:
            raise SoapFault(401)
        expected = {a.name for a in svc.in_args(action)}
        if set(args) != expected:
            raise SoapFault(402)
        for arg in svc.in_args(action):
            self._check_value(svc, arg.related, args[arg.name])
        account = self.users.get(user or "")
        if account is not None and account.rights != "readwrite" and not _READ_ACTION.match(action):
            raise SoapFault(606)
        with self._action_lock:
            queued = self._faults.get((svc.name, action))
            if queued:
                raise SoapFault(queued.pop(0))
        if (svc.name, action) in self.second_factor:
            raise SoapFault(866)
        self.actions.current_user = {"name": user or "", "rights": account.rights if account else "readwrite"}
        handler = self.actions.handlers.get((svc.name, action))
        store = self._store.setdefault(svc.name, {})
        if handler is None:
            for arg in svc.in_args(action):
                store[arg.related] = args[arg.name]
            values: dict[str, Any] = {}
        else:
            values = handler(args)
        out: dict[str, str] = {}
        for arg in svc.out_args(action):
            if arg.name in values:
                out[arg.name] = _fmt(values[arg.name])
            else:
                var = svc.variables.get(arg.related)
                default = var.default if var and var.default is not None else None
                if default is None:
                    default = "0" if var and (var.data_type in _INT_TYPES or var.data_type == "boolean") else ""
                out[arg.name] = store.get(arg.related, default)
        self.calls[f"{svc.name}.{action}"] += 1
        return out

    @staticmethod
    def _check_value(svc: ServiceDef, related: str, value: str) -> None:
        var = svc.variables.get(related)
        if var is None:
            return
        if var.data_type == "boolean" and value.strip().lower() not in ("0", "1", "true", "false"):
            raise SoapFault(402)
        if var.data_type in _INT_TYPES:
            try:
                number = int(value)
            except ValueError:
                raise SoapFault(402) from None
            if var.minimum is not None and number < int(var.minimum):
                raise SoapFault(600)
            if var.maximum is not None and number > int(var.maximum):
                raise SoapFault(600)
        allowed = [v for v in var.allowed if v]
        if allowed and value not in allowed:
            raise SoapFault(600)


def _make_handler(sim: Tr064Simulator) -> type[BaseHTTPRequestHandler]:
    desc = sim.description

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"     # keep-alive: a warm client reuses its TCP connection
        server_version = f"FRITZ!Box 7590 UPnP/1.0 AVM FRITZ!Box 7590 {desc.firmware}"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("%s " + format, self.client_address[0], *args)

        # ------------------------------------------------------------------------ helpers
        def _send(self, status: int, body: bytes, ctype: str = 'text/xml; charset="utf-8"',
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            # headers and body in one segment: two small writes would stall on Nagle + delayed ACK
            buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]
            buffer.append(b"\r\n")
            if self.command != "HEAD":
                buffer.append(body)
            self.flush_headers()

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _hang_if_asked(self) -> bool:
            if not sim.hang:
                return False
            # accept and never answer, until the test lifts the hang or the simulator stops
            sim.hung_requests += 1
            while sim.hang and not sim._stopping.is_set():
                time.sleep(0.05)
            self.close_connection = True
            return True

        def _not_found(self) -> None:
            self._send(404, b"<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD><BODY>Not Found</BODY></HTML>",
                       "text/html")

        # ----------------------------------------------------------------------- GET
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            parts = urlsplit(self.path)
            if parts.path.startswith("/_sim/"):
                self._sim_control("GET", parts.path, b"")
                return
            if self._hang_if_asked():
                return
            doc = desc.documents.get(parts.path)
            if doc is not None:
                sim.documents_served += 1
                self._send(200, doc.encode())
            elif parts.path == "/jason_boxinfo.xml":
                self._send(200, _boxinfo(desc).encode())
            elif parts.path == "/devicehostlist.lua":
                sid = parse_qs(parts.query).get("sid", [""])[0]
                if sid not in sim._sids:
                    self._send(403, b"<HTML><BODY>403 Forbidden</BODY></HTML>", "text/html")
                else:
                    self._send(200, sim.actions.host_list_xml().encode())
            else:
                self._not_found()

        # ----------------------------------------------------------------------- POST
        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            body = self._read_body()
            path = urlsplit(self.path).path
            if path.startswith("/_sim/"):
                self._sim_control("POST", path, body)
                return
            if self._hang_if_asked():
                return
            svc = desc.by_control_url.get(path)
            if svc is None:
                self._not_found()
                return
            user: str | None = None
            if path.startswith("/upnp/control/"):
                passwords = {name: acc.password for name, acc in sim.users.items()}
                user, stale = sim.auth.verify(self.headers.get("Authorization"), "POST", passwords)
                if user is None:
                    self._send(401, UNAUTHORIZED_HTML, "text/html",
                               {"WWW-Authenticate": sim.auth.challenge(stale=stale)})
                    return
            with sim._action_lock:
                sim.inflight += 1
                sim.max_inflight = max(sim.max_inflight, sim.inflight)
            try:
                if sim.latency > 0:
                    time.sleep(sim.latency)
            finally:
                with sim._action_lock:
                    sim.inflight -= 1
            try:
                req = parse_request(body, self.headers.get("SOAPACTION", ""))
                if req.service_type and req.service_type != svc.service_type:
                    raise SoapFault(401, "Invalid Action (service type does not match the control URL)")
                out = sim.call(svc, req.action, req.arguments, user)
            except SoapFault as fault:
                log.info("%s %s -> fault %s", svc.name, self.headers.get("SOAPACTION", ""), fault)
                self._send(500, render_fault(fault))
                return
            except Exception:  # the box answers 820 rather than dropping the connection
                log.exception("simulator bug in %s", svc.name)
                self._send(500, render_fault(SoapFault(820)))
                return
            self._send(200, render_response(svc.service_type, req.action, out))

        # ------------------------------------------------------------------ control
        def _sim_control(self, method: str, path: str, body: bytes) -> None:
            if method == "GET" and path == "/_sim/state":
                pass
            elif method == "POST" and path == "/_sim/reboot":
                sim.reboot()
            elif method == "POST" and path == "/_sim/reconnect":
                sim.simulate_user_reconnect()
            elif method == "POST" and path == "/_sim/mode":
                try:
                    mode = json.loads(body or b"{}")
                except ValueError:
                    self._send(400, b'{"error": "body must be JSON"}', "application/json")
                    return
                if "latency" in mode:
                    sim.latency = float(mode["latency"])
                if "hang" in mode:
                    sim.hang = bool(mode["hang"])
                if "termination_fault" in mode:
                    sim.actions.termination_fault = mode["termination_fault"]
                if "wan_right" in mode:
                    sim.actions.wan_right = bool(mode["wan_right"])
            elif method == "POST" and path == "/_sim/hosts":
                try:
                    row = json.loads(body or b"{}")
                    sim.state.join_host(str(row["ip"]), str(row["mac"]), str(row.get("name", "")))
                except (ValueError, KeyError, TypeError):
                    self._send(400, b'{"error": "body must be JSON {ip, mac, name}"}', "application/json")
                    return
            else:
                self._send(404, b'{"error": "unknown control endpoint"}', "application/json")
                return
            self._send(200, json.dumps(sim.snapshot()).encode(), "application/json")

    return Handler


def _boxinfo(desc: BoxDescription) -> str:
    """``jason_boxinfo.xml``: fritzconnection compares it with its cache (model, firmware)."""
    sv = desc.system_version
    return ('<j:BoxInfo xmlns:j="http://jason.avm.de/updatecheck/">\n'
            f"<j:Name>{desc.model_name}</j:Name>\n<j:HW>{sv.get('HW') or ''}</j:HW>\n"
            f"<j:Version>{desc.firmware}</j:Version>\n<j:Revision>{sv.get('Buildnumber') or ''}</j:Revision>\n"
            "<j:Serial>989BCB2B93B0</j:Serial>\n<j:OEM>avm</j:OEM>\n<j:Lang>de</j:Lang>\n<j:Annex>B</j:Annex>\n"
            "<j:Lab/>\n<j:Country>049</j:Country>\n<j:Flag>mesh_master</j:Flag>\n</j:BoxInfo>\n")


# ----------------------------------------------------------------------------------------- CLI
def hosts_from_policy(path: Path) -> list[dict[str, Any]]:
    """The ``hosts:`` of a policy file that have an IPv4 address, as simulator hosts."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    out = []
    for i, h in enumerate(doc.get("hosts") or []):
        if isinstance(h, dict) and h.get("ip"):
            entry: dict[str, Any] = {"ip": str(h["ip"]), "name": str(h.get("name", ""))}
            entry["mac"] = str(h.get("mac") or f"02:00:00:00:{i // 256:02X}:{i % 256:02X}").upper()
            out.append(entry)
    return out


def _parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("--listen must be HOST:PORT, e.g. 0.0.0.0:49000")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notaus.drivers.sim.tr64", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=_parse_listen, default=("127.0.0.1", 49000), help="HOST:PORT")
    parser.add_argument("--user", default="notaus")
    parser.add_argument("--password", default="notaus")
    parser.add_argument("--restricted-user", action="append", default=[], metavar="USER:PASSWORD",
                        help="an extra user without the right 'FRITZ!Box Einstellungen' (606 on writes)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every SOAP call")
    parser.add_argument("--reconnect-delay", type=float, default=3.0,
                        help="seconds until the box dials again after ForceTermination (unless trigger Manual)")
    parser.add_argument("--hostfilter-delay", type=float, default=1.0,
                        help="seconds until DisallowWANAccessByIP takes effect")
    parser.add_argument("--wan-service", default="WANPPPConnection1",
                        choices=["WANPPPConnection1", "WANIPConnection1"])
    parser.add_argument("--effects", choices=["null", "nft"], default="null")
    parser.add_argument("--lan-if", default="lan0")
    parser.add_argument("--wan-if", default="wan0")
    parser.add_argument("--hosts-from", type=Path, help="policy YAML whose hosts the box knows")
    parser.add_argument("--number", action="append", default=None, help="a VoIP number (repeatable)")
    parser.add_argument("--phone", action="append", default=None, help="an IP phone name (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    effects: RouterEffects | None = None
    if args.effects == "nft":
        from notaus.drivers.sim.nft_effects import NftRouterEffects  # only inside the lab's router namespace

        effects = NftRouterEffects(lan_if=args.lan_if, wan_if=args.wan_if)
    restricted = dict(item.split(":", 1) for item in args.restricted_user)
    host, port = args.listen
    sim = Tr064Simulator(host, port, user=args.user, password=args.password, latency=args.latency,
                         effects=effects, hosts=hosts_from_policy(args.hosts_from) if args.hosts_from else None,
                         numbers=args.number, phones=args.phone, restricted_users=restricted,
                         wan_service=args.wan_service, reconnect_delay=args.reconnect_delay,
                         hostfilter_delay=args.hostfilter_delay)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    sim.start()
    print(f"TR-064 simulator (FRITZ!Box 7590, FRITZ!OS {sim.description.firmware}) on {sim.url}", flush=True)
    done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
