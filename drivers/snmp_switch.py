"""A managed switch over SNMP (v2c or v3 authPriv) with pysnmp 7's asyncio API.

Why SNMP: many small-practice switches (NETGEAR smart-managed, UniFi, older HP) have no usable CLI
but do answer standard MIBs. Shutdown is ``IF-MIB::ifAdminStatus``, the quarantine VLAN is
``Q-BRIDGE-MIB::dot1qPvid``, MAC location is ``dot1qTpFdbPort``/``dot1dTpFdbPort`` mapped through
``dot1dBasePortIfIndex``. Agents may accept a SET and ignore it, so every SET is read back here and
a value that does not stick raises :class:`DriverError`.

pysnmp's API is asyncio; the driver keeps one private event loop in a daemon thread with one warm
``SnmpEngine`` and transport (v3 engine discovery happens once), and bounds every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, ClassVar

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
    set_cmd,
    usm3DESEDEPrivProtocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto.rfc1902 import Gauge32, Integer32

from notaus.drivers.base import (
    AuthFailed,
    DriverError,
    MacEntry,
    NotFound,
    NotPermitted,
    NotSupported,
    PortState,
    SwitchDriver,
    TimedOut,
    Unreachable,
)

IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"
TP_FDB_PORT = "1.3.6.1.2.1.17.4.3.1.2"
Q_FDB_PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2"
Q_PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
LLDP_REM_SYS_NAME = "1.0.8802.1.1.2.1.4.1.1.9"   # LLDP-MIB lldpRemSysName.<timeMark>.<localPort>.<index>

AUTH_PROTOCOLS = {"sha": usmHMACSHAAuthProtocol, "sha256": usmHMAC192SHA256AuthProtocol,
                  "md5": usmHMACMD5AuthProtocol}
#: ``aes256`` is the Blumenthal variant net-snmp implements; ``3des`` only for very old agents
PRIV_PROTOCOLS = {"aes": usmAesCfb128Protocol, "aes256": usmAesBlumenthalCfb256Protocol,
                  "des": usmDESPrivProtocol, "3des": usm3DESEDEPrivProtocol}
_AUTH_ERRORS = ("digest", "unknownuser", "unsupportedseclevel", "authentication", "decrypt",
                "notintimewindow", "unknownsecurityname")
_RIGHTS_ERRORS = ("noaccess", "notwritable", "authorizationerror", "readonly", "nocreation")


def _setting(snmp: Any, key: str) -> Any:
    if snmp is None:
        return None
    if isinstance(snmp, dict):
        return snmp.get(key)
    return getattr(snmp, key, None)


def _secret(snmp: Any, key: str) -> str | None:
    """A secret given inline or as ``<key>_file`` (read once at construction, stripped)."""
    value = _setting(snmp, key)
    if value:
        return str(value)
    path = _setting(snmp, f"{key}_file")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DriverError(f"cannot read the SNMP secret file {path}: {exc.strerror}") from None
    return None


def _suffix(oid: str, base: str) -> tuple[int, ...]:
    return tuple(int(x) for x in oid[len(base) + 1:].split(".") if x)


class SnmpSwitchDriver(SwitchDriver):
    """Ports, quarantine VLAN and MAC table over SNMP, each SET verified by a GET."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"port", "vlan", "mac_table"})

    def __init__(self, name: str, address: str, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        snmp = self.options.get("snmp")
        self.version = str(_setting(snmp, "version") or "2c")
        if self.version == "3":
            user = _setting(snmp, "user")
            auth, priv = _secret(snmp, "auth_key"), _secret(snmp, "priv_key")
            if not (user and auth and priv):
                raise DriverError(f"{name}: SNMPv3 needs user, auth_key and priv_key (authPriv) in the policy",
                                  device=name)
            auth_proto = AUTH_PROTOCOLS[str(_setting(snmp, "auth_protocol") or "sha")]
            priv_proto = PRIV_PROTOCOLS[str(_setting(snmp, "priv_protocol") or "aes")]
            self._auth: Any = UsmUserData(str(user), auth, priv, authProtocol=auth_proto, privProtocol=priv_proto)
        else:
            community = _secret(snmp, "community") or self.password
            if not community:
                raise DriverError(f"{name}: no SNMP write community in the policy (snmp.community)", device=name)
            self._auth = CommunityData(community, mpModel=1)
        self.uplinks: set[str] = set(self.options.get("uplinks") or [])
        self.retries = 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._target: Any = None
        self._lock = threading.Lock()
        self.if_index: dict[str, int] = {}      # port name -> ifIndex
        self.base_port: dict[int, int] = {}     # ifIndex -> dot1dBasePort
        self._names: dict[int, str] = {}        # ifIndex -> port name

    # ------------------------------------------------------------------------------ event loop
    def _start_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=f"snmp-{self.name}", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _call(self, coro: Coroutine[Any, Any, Any], bound: float | None = None) -> Any:
        loop = self._start_loop()
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        limit = bound if bound is not None else self.timeout * (self.retries + 1) + 2
        try:
            return fut.result(timeout=limit)
        except TimeoutError:
            fut.cancel()
            raise self._unreachable("no complete answer") from None

    def _unreachable(self, what: str) -> Unreachable:
        hint = "community" if self.version != "3" else "SNMPv3 user and keys"
        return TimedOut(f"{self.name}: {what} from the SNMP agent at {self.address}:{self.port or 161} "
                           f"within {self.timeout:g} s; check address, that SNMP is enabled and the {hint}",
                           device=self.name)

    async def _setup(self) -> None:
        if self._engine is None:
            self._engine = SnmpEngine()
        if self._target is None:
            per_try = max(self.timeout / (self.retries + 1), 0.2)
            self._target = await UdpTransportTarget.create((self.address, self.port or 161), timeout=per_try,
                                                           retries=self.retries)

    # ---------------------------------------------------------------------------- primitives
    def _check(self, error_indication: Any, error_status: Any, error_index: Any, what: str) -> None:
        if error_indication:
            text = str(error_indication)
            low = text.lower().replace(" ", "")
            if "timeout" in low or "noresponse" in low or "nosnmpresponse" in low:
                raise self._unreachable("no answer")
            if any(k in low for k in _AUTH_ERRORS):
                raise AuthFailed(f"{self.name}: the SNMP agent rejected the credentials ({text}); check the "
                                 "SNMPv3 user, keys and protocols in the policy", device=self.name)
            raise DriverError(f"{self.name}: SNMP {what} failed: {text}", device=self.name)
        if error_status and int(error_status) != 0:
            text = error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else str(error_status)
            if text.lower() in _RIGHTS_ERRORS:
                raise NotPermitted(f"{self.name}: the SNMP agent refused {what} ({text}); the community/user "
                                   "needs write access to IF-MIB and Q-BRIDGE-MIB", device=self.name)
            raise DriverError(f"{self.name}: SNMP {what} answered {text}", device=self.name)

    def _walk(self, base: str) -> list[tuple[tuple[int, ...], Any]]:
        async def run() -> list[tuple[tuple[int, ...], Any]]:
            await self._setup()
            rows: list[tuple[tuple[int, ...], Any]] = []
            async for ei, es, ix, binds in bulk_walk_cmd(
                    self._engine, self._auth, self._target, ContextData(), 0, 25,
                    ObjectType(ObjectIdentity(base)), lexicographicMode=False, lookupMib=False):
                self._check(ei, es, ix, f"read of {base}")
                for oid, value in binds:
                    text = str(oid)
                    if not text.startswith(base + "."):
                        return rows
                    if value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
                        continue
                    rows.append((_suffix(text, base), value))
            return rows

        with self._lock:
            return self._call(run(), bound=self.timeout * (self.retries + 1) * 4 + 2)

    def _get(self, oid: str) -> Any:
        async def run() -> Any:
            await self._setup()
            ei, es, ix, binds = await get_cmd(self._engine, self._auth, self._target, ContextData(),
                                              ObjectType(ObjectIdentity(oid)), lookupMib=False)
            self._check(ei, es, ix, f"read of {oid}")
            return binds[0][1]

        with self._lock:
            return self._call(run())

    def _set(self, oid: str, value: Any) -> None:
        async def run() -> None:
            await self._setup()
            ei, es, ix, _ = await set_cmd(self._engine, self._auth, self._target, ContextData(),
                                          ObjectType(ObjectIdentity(oid), value), lookupMib=False)
            self._check(ei, es, ix, f"write of {oid}")

        with self._lock:
            self._call(run())

    def _set_verified(self, oid: str, value: Any, expect: int, what: str) -> None:
        """SET, then GET until the agent reports ``expect`` (agents may apply asynchronously)."""
        self._set(oid, value)
        deadline = time.monotonic() + min(self.timeout, 2.0)
        got: Any = None
        while True:
            got = self._get(oid)
            try:
                if int(got) == expect:
                    return
            except (TypeError, ValueError):
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        shown = got.prettyPrint() if hasattr(got, "prettyPrint") else got
        raise DriverError(f"{self.name}: the switch accepted {what} but still reports {shown}; "
                          "it ignores this SNMP write - use the CLI driver (netmiko) for this switch",
                          device=self.name)

    # ---------------------------------------------------------------------------- interface
    def open(self) -> None:
        self._load_ports()

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def shutdown() -> None:
            if self._engine is not None:
                self._engine.close_dispatcher()

        with contextlib.suppress(Exception):  # closing must not fail
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=2)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._engine = self._target = None

    def check(self) -> dict[str, Any]:
        self._load_ports()
        if not self.if_index:
            raise DriverError(f"{self.name}: SNMP login works, but 0 ports read (ifName/ifDescr empty); does the "
                              "community/user see the IF-MIB (SNMP view)?", device=self.name)
        return {"ports": len(self.if_index), "bridge_ports": len(self.base_port), "snmp": self.version}

    def _load_ports(self) -> None:
        """ifName (else ifDescr) -> ifIndex, and the bridge's base port numbers; read once at open()."""
        names = {idx[0]: str(v) for idx, v in self._walk(IF_NAME)}
        if not names:
            names = {idx[0]: str(v) for idx, v in self._walk(IF_DESCR)}
        base = {int(v): idx[0] for idx, v in self._walk(BASE_PORT_IFINDEX)}
        self._names = names
        self.if_index = {n: i for i, n in names.items()}
        self.base_port = base

    def _ifindex(self, port: str) -> int:
        if port not in self.if_index:
            self._load_ports()
        if port not in self.if_index:
            known = ", ".join(sorted(self.if_index)[:30]) or "none"
            raise NotFound(f"{self.name}: the switch has no port {port!r} (known: {known}); correct the port "
                           "name in the policy", device=self.name)
        return self.if_index[port]

    def ports(self, include_macs: bool = True) -> list[PortState]:
        admin = {idx[0]: int(v) for idx, v in self._walk(IF_ADMIN)}
        oper = {idx[0]: int(v) for idx, v in self._walk(IF_OPER)}
        try:
            pvid = {idx[0]: int(v) for idx, v in self._walk(Q_PVID)}
        except NotPermitted:
            pvid = {}
        macs: dict[str, list[str]] = {}
        if include_macs:
            for entry in self.mac_table():
                macs.setdefault(entry.port, []).append(entry.mac)
        indexes = sorted(self.base_port) if self.base_port else sorted(self._names)
        result = []
        for i in indexes:
            name = self._names.get(i, str(i))
            bp = self.base_port.get(i)
            result.append(PortState(name=name, admin_up=admin.get(i) == 1, oper_up=oper.get(i) == 1,
                                    vlan=pvid.get(bp) if bp is not None else None,
                                    macs=sorted(macs.get(name, []))))
        return result

    def port_state(self, port: str) -> PortState:
        """One port read directly (two GETs and, with a bridge, one more): the cheap read-back."""
        i = self._ifindex(port)
        admin, oper = int(self._get(f"{IF_ADMIN}.{i}")), int(self._get(f"{IF_OPER}.{i}"))
        vlan = None
        if i in self.base_port:
            try:
                vlan = int(self._get(f"{Q_PVID}.{self.base_port[i]}"))
            except (DriverError, TypeError, ValueError):
                vlan = None
        return PortState(name=port, admin_up=admin == 1, oper_up=oper == 1, vlan=vlan)

    def port_down(self, port: str) -> None:
        i = self._ifindex(port)
        self._set_verified(f"{IF_ADMIN}.{i}", Integer32(2), 2, f"shutting port {port}")

    def port_up(self, port: str) -> None:
        i = self._ifindex(port)
        self._set_verified(f"{IF_ADMIN}.{i}", Integer32(1), 1, f"enabling port {port}")

    def set_port_vlan(self, port: str, vlan: int) -> None:
        if not 1 <= vlan <= 4094:
            raise DriverError(f"{self.name}: VLAN {vlan} is not between 1 and 4094", device=self.name)
        i = self._ifindex(port)
        if i not in self.base_port:
            raise NotSupported(f"{self.name}: port {port} is not a bridge port in BRIDGE-MIB; the quarantine "
                               "VLAN cannot be set over SNMP on it", device=self.name)
        self._set_verified(f"{Q_PVID}.{self.base_port[i]}", Gauge32(vlan), vlan, f"VLAN {vlan} on port {port}")

    def system_info(self) -> dict[str, Any]:
        """Read-only, for ``notaus discover``: ``sysDescr``, ``sysName`` and the LLDP neighbours, if any.

        A switch without LLDP-MIB answers the walk with nothing; that is reported as no neighbours.
        """
        info: dict[str, Any] = {"sys_descr": str(self._get(SYS_DESCR)), "sys_name": str(self._get(SYS_NAME))}
        try:
            rows = self._walk(LLDP_REM_SYS_NAME)
        except NotPermitted:
            rows = []
        info["lldp"] = [{"local_port": str(idx[1]), "name": str(v)} for idx, v in rows if len(idx) >= 3]
        return info

    def mac_table(self) -> list[MacEntry]:
        """Q-BRIDGE FDB (per VLAN; fdbId taken as the VLAN) or, without it, the plain BRIDGE-MIB FDB."""
        by_base = {bp: self._names.get(i, str(i)) for i, bp in self.base_port.items()}
        entries: list[MacEntry] = []
        rows = self._walk(Q_FDB_PORT)
        for idx, value in rows:
            bp = int(value)
            if bp == 0 or len(idx) != 7:
                continue
            mac = ":".join(f"{b:02x}" for b in idx[1:])
            entries.append(MacEntry(mac=mac, port=by_base.get(bp, str(bp)), vlan=idx[0]))
        if rows:
            return entries
        for idx, value in self._walk(TP_FDB_PORT):
            bp = int(value)
            if bp == 0 or len(idx) != 6:
                continue
            entries.append(MacEntry(mac=":".join(f"{b:02x}" for b in idx), port=by_base.get(bp, str(bp))))
        return entries
