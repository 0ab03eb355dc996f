"""A managed switch over SSH/CLI with netmiko, driven by vendor command profiles.

Why one class for all vendors: the differences live in :mod:`drivers.switch_profiles` as data;
this module only knows how to hold one warm SSH session, send the profile's commands with bounded
time, and turn netmiko/paramiko failures into :mod:`drivers.base` errors a person can act on.

Options (from the policy ``Device``): ``device_type`` (profile name), ``uplinks``, ``quarantine_vlan``,
``save_config``, ``controller_port``; free-form ``options``: ``key_file`` (SSH key instead of a
password), ``secret`` (enable password, default: the login password), ``netmiko_device_type``
(override the netmiko class, e.g. ``cisco_ios_telnet`` is *not* supported on purpose),
``legacy_ssh`` (allow SHA-1 key exchange and ``ssh-rsa`` host keys for this one old switch; switched
off for every other device), ``session_log`` (a file, ``{name}`` is replaced by the device name: every
command and answer of the session is appended, passwords masked by netmiko).

Bounded time: every public call runs in a worker thread and ends after ``timeout`` seconds at the
latest; on a hang the session is torn down and the abandoned worker may neither reconnect nor send
anything more (see :class:`_Call`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoBaseException,
    NetmikoTimeoutException,
    ReadTimeout,
)
from paramiko.ssh_exception import SSHException

from notaus.drivers.base import (
    AuthFailed,
    DriverError,
    MacEntry,
    NotFound,
    NotSupported,
    PortState,
    SwitchDriver,
    TimedOut,
    Unreachable,
)
from notaus.drivers.mac import normalize_mac
from notaus.drivers.switch_parsers import ParseError

__all__ = ["LEGACY_HOST_KEYS", "LEGACY_KEX", "NetmikoSwitchDriver", "TimedOut", "normalize_mac"]
from notaus.drivers.switch_profiles import SwitchProfile, parse_macs, parse_ports, profile_for

log = logging.getLogger(__name__)
T = TypeVar("T")

_RC_MARK = "__notaus_rc="

#: what old switches (Cisco SG/IOS 12.x, ProCurve, NETGEAR, TP-Link firmware) offer and paramiko 5 dropped;
#: switched off for every device unless its policy sets ``options.legacy_ssh: true``
LEGACY_KEX = ("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1")
LEGACY_HOST_KEYS = ("ssh-rsa",)
_MAC_LIKE = re.compile(r"\b(?:[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}|[0-9a-fA-F]{6}-[0-9a-fA-F]{6}|"
                       r"[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5})\b")


class _Call:
    """One bounded driver call: what it is doing now, and whether the caller gave up on it.

    Why: a frozen switch keeps TCP open and answers nothing; netmiko's own timeouts add up per step
    (connect, banner, auth, every read). The caller waits ``timeout`` seconds and then cancels; a
    cancelled call must not reconnect or send anything more (no background work after the verdict).
    """

    def __init__(self) -> None:
        self.cancelled = False
        self.phase = "connecting"


class NetmikoSwitchDriver(SwitchDriver):
    """Shut/enable ports, move them to a VLAN and read ports/MAC table over one warm SSH session."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"port", "vlan", "mac_table", "save"})

    def __init__(self, name: str, address: str, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        device_type = self._opt("device_type")
        if not device_type:
            raise DriverError(f"{name}: the policy gives no device_type for this switch (e.g. cisco_ios, "
                              "hp_procurve, linux)", device=name)
        try:
            self.profile: SwitchProfile = profile_for(str(device_type))
        except KeyError as exc:
            raise DriverError(f"{name}: {exc.args[0]}", device=name) from None
        self.uplinks: set[str] = set(self._opt("uplinks") or [])
        self.quarantine_vlan: int | None = self._opt("quarantine_vlan")
        self.save_config: bool = bool(self._opt("save_config"))
        self._conn: Any = None
        self._lock = threading.RLock()
        self._known_ports: set[str] = set()
        self.legacy_ssh: bool = bool(self._opt("legacy_ssh"))

    @property
    def _inner_timeout(self) -> float:
        """netmiko's own per-step timeouts: a little longer than ours, so a hang is judged in one place."""
        return self.timeout + 1.0

    # ------------------------------------------------------------------------------- options
    def _opt(self, key: str, default: Any = None) -> Any:
        """A policy field, looked up in ``options`` and then in the free-form ``options.options``."""
        if key in self.options and self.options[key] is not None:
            return self.options[key]
        nested = self.options.get("options")
        if isinstance(nested, dict) and nested.get(key) is not None:
            return nested[key]
        return default

    # ---------------------------------------------------------------------------- connection
    def open(self) -> None:
        with self._lock:
            self._drop()
            self._known_ports = {p.name for p in self.ports(include_macs=False)}

    def close(self) -> None:
        with self._lock:
            self._drop()

    def check(self) -> dict[str, Any]:
        ports = self.ports(include_macs=False)
        return {"device_type": self.profile.device_type, "ports": len(ports),
                "prompt": self._run(lambda c: c.base_prompt, change=False)}

    def _ssh_algorithms(self) -> dict[str, list[str]]:
        """``disabled_algorithms`` for paramiko: SHA-1 kex and ``ssh-rsa`` only where the policy allows them."""
        if not self.legacy_ssh:
            return {"kex": list(LEGACY_KEX), "keys": list(LEGACY_HOST_KEYS)}
        import paramiko

        if "diffie-hellman-group14-sha1" not in getattr(paramiko.Transport, "_kex_info", {}):
            raise NotSupported(f"{self.name}: legacy_ssh is set, but the installed paramiko "
                               f"{paramiko.__version__} has no SHA-1 key exchange any more; install the versions "
                               "in deploy/constraints.txt (paramiko < 5)", device=self.name)
        return {}

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "device_type": self._opt("netmiko_device_type", self.profile.device_type),
            "host": self.address,
            "port": self.port or 22,
            "username": self.user,
            "password": self.password,
            "secret": self._opt("secret", self.password),
            "conn_timeout": self._inner_timeout,
            "auth_timeout": self._inner_timeout,
            "banner_timeout": self._inner_timeout,
            "blocking_timeout": self._inner_timeout,
            "read_timeout_override": self._inner_timeout,
            "allow_agent": False,
            "use_keys": False,
            "ssh_config_file": None,
            "fast_cli": True,
        }
        key_file = self._opt("key_file")
        if key_file:
            params.update(use_keys=True, key_file=str(key_file))
        params["disabled_algorithms"] = self._ssh_algorithms()
        session_log = self._opt("session_log")
        if session_log:
            params.update(session_log=str(session_log).replace("{name}", self.name),
                          session_log_file_mode="append")
        return params

    def _connect(self, call: _Call | None = None) -> None:
        self._drop()
        params = self._params()
        started = time.monotonic()
        try:
            conn = ConnectHandler(**params)
            if call is not None and call.cancelled:   # the caller gave up meanwhile: leave nothing behind
                _close_quietly(conn)
                return
            if self.profile.needs_enable and not conn.check_enable_mode():
                conn.enable()
        except NetmikoAuthenticationException as exc:
            raise AuthFailed(f"{self.name}: the switch at {self.address} refused user {self.user!r}; check "
                             "user name and password (or key) in the policy", device=self.name,
                             detail=str(exc)) from None
        except (NetmikoTimeoutException, ReadTimeout, TimeoutError) as exc:
            self._raise_if_incompatible(exc, params["port"])   # netmiko wraps paramiko's IncompatiblePeer
            if "SSHException occurred" in str(exc):
                reason = " ".join(str(exc).split("\n\n")[1:]).strip() or str(exc).strip()
                raise Unreachable(f"{self.name}: SSH login to {self.address}:{params['port']} failed ({reason}); "
                                  "check address, port and that SSH is enabled", device=self.name,
                                  detail=str(exc)) from None
            raise Unreachable(f"{self.name}: no SSH answer from {self.address}:{params['port']} within "
                              f"{self.timeout:g} s; check cable, address and that SSH is enabled",
                              device=self.name, detail=str(exc)) from None
        except (OSError, EOFError, SSHException, NetmikoBaseException, ValueError) as exc:
            self._raise_if_incompatible(exc, params["port"])
            raise Unreachable(f"{self.name}: SSH login to {self.address}:{params['port']} failed ({exc}); "
                              "check address, port and that SSH is enabled", device=self.name,
                              detail=str(exc)) from None
        log.debug("%s: connected in %.2f s", self.name, time.monotonic() - started)
        if call is not None and call.cancelled:
            _close_quietly(conn)
            return
        self._conn = conn

    def _raise_if_incompatible(self, exc: BaseException, port: int) -> None:
        """paramiko's ``IncompatiblePeer``: name the algorithm mismatch and the policy setting."""
        text = str(exc)
        m = re.search(r"no acceptable (kex|host key|cipher|mac)\w* algorithm", text, re.IGNORECASE)
        if m is None:
            return
        what = {"kex": "key exchange", "host key": "host key"}.get(m.group(1).lower(), m.group(1))
        hint = (f"this switch probably only offers SHA-1 key exchange ({', '.join(LEGACY_KEX[:1])}) or "
                f"'ssh-rsa' host keys; set options.legacy_ssh: true for {self.name} in the policy"
                if not self.legacy_ssh else
                "even with legacy_ssh the switch and notaus share no algorithm; check the switch's SSH settings")
        raise NotSupported(f"{self.name}: SSH to {self.address}:{port}: no common {what} algorithm "
                           f"({m.group(0)}); "
                           f"{hint}", device=self.name, detail=text) from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)

    def _alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            chan = self._conn.remote_conn
            transport = chan.get_transport()
            return bool(transport is not None and transport.is_active() and not chan.closed)
        except Exception:  # noqa: BLE001
            return False

    def _run(self, fn: Callable[[Any], T], *, change: bool, what: str = "") -> T:
        """Run ``fn(conn)`` on the warm session within ``timeout`` seconds; reconnect once if it died.

        The work runs in a worker thread; after ``timeout`` seconds the caller stops waiting, tears the
        session down and reports the truth (what was going on, whether a change may have been applied).
        """
        with self._lock:
            call = _Call()
            box: dict[str, Any] = {}
            done = threading.Event()

            def work() -> None:
                try:
                    box["value"] = self._attempts(fn, call, what)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    box["error"] = exc
                finally:
                    done.set()

            started = time.monotonic()
            threading.Thread(target=work, name=f"switch-{self.name}", daemon=True).start()
            if not done.wait(self.timeout):
                call.cancelled = True
                self._drop()
                waited = time.monotonic() - started
                tail = ("; the change may or may not have been applied - notaus reads the port back"
                        if change and call.phase.startswith("sending") else "; nothing was changed"
                        if call.phase == "connecting" else "")
                raise TimedOut(f"{self.name}: no answer from {self.address} within {self.timeout:g} s "
                               f"(gave up after {waited:.1f} s while {call.phase}){tail}", device=self.name)
            if "error" in box:
                raise box["error"]
            return box["value"]

    def _attempts(self, fn: Callable[[Any], T], call: _Call, what: str) -> T:
        for attempt in (1, 2):
            if call.cancelled:
                raise TimedOut(f"{self.name}: cancelled", device=self.name)
            if not self._alive():
                call.phase = "connecting"
                self._connect(call)
            call.phase = what or "reading"
            conn = self._conn
            if conn is None or call.cancelled:
                raise TimedOut(f"{self.name}: cancelled", device=self.name)
            try:
                return fn(conn)
            except (ReadTimeout, NetmikoTimeoutException, TimeoutError) as exc:
                died = not self._alive()
                self._drop()
                if died and attempt == 1 and not call.cancelled:
                    log.info("%s: session closed by the switch (%s); reconnecting once", self.name, exc)
                    continue
                raise Unreachable(f"{self.name}: the switch stopped answering for {self.timeout:g} s "
                                  "in the middle of a session; the last change may or may not have been "
                                  "applied - check the port state on the switch", device=self.name,
                                  detail=str(exc)) from None
            except (OSError, EOFError, SSHException) as exc:
                self._drop()
                if attempt == 2 or call.cancelled:
                    raise Unreachable(f"{self.name}: the SSH session broke twice ({exc}); check the "
                                      "switch and its management address", device=self.name,
                                      detail=str(exc)) from None
                log.info("%s: session died (%s); reconnecting once", self.name, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------------------- reads
    def _show(self, conn: Any, command: str) -> str:
        out = conn.send_command(command, read_timeout=self._inner_timeout, strip_prompt=True, strip_command=True)
        text = str(out)
        self._raise_on_error(command, text, port="")
        return text

    def _parse_ports(self, reader: Any, text: str) -> list[dict[str, Any]]:
        try:
            return parse_ports(reader, text)
        except ParseError as exc:
            raise DriverError(f"{self.name}: {exc}; is device_type {self.profile.device_type!r} right for this "
                              "switch?", device=self.name, detail=text[:2000]) from None

    def ports(self, include_macs: bool = True) -> list[PortState]:
        """Every port; fails (never an empty list) when the switch's answer yields no port at all.

        Only the device I/O runs inside the bounded call; parsing (ntc-templates loads its index on
        first use) happens afterwards and never eats into the switch's ``timeout``.
        """
        commands = [r.command for r in self.profile.port_readers]
        if include_macs:
            commands.append(self.profile.mac_reader.command)
        texts = self._run(lambda conn: [self._show(conn, c) for c in commands], change=False,
                          what="reading the ports")
        rows: dict[str, dict[str, Any]] = {}
        for i, reader in enumerate(self.profile.port_readers):
            for row in self._parse_ports(reader, texts[i]):
                if i == 0:
                    rows.setdefault(row["port"], {}).update(row)
                elif row["port"] in rows:
                    rows[row["port"]].update({k: v for k, v in row.items() if v is not None})
        if not rows:
            raise DriverError(f"{self.name}: 0 ports read from {commands[0]!r}; the device_type "
                              f"{self.profile.device_type!r} probably does not match this switch (or the user "
                              "may not see the ports)", device=self.name)
        macs: dict[str, list[str]] = {}
        if include_macs:
            for entry in self._parse_macs(texts[-1]):
                macs.setdefault(entry.port, []).append(entry.mac)
        result = [PortState(name=name, admin_up=bool(r.get("admin_up")), oper_up=bool(r.get("oper_up")),
                            vlan=r.get("vlan"), macs=sorted(macs.get(name, []))) for name, r in rows.items()]
        self._known_ports = {p.name for p in result}
        return result

    def port_state(self, port: str) -> PortState:
        """One port's state (read back after a change)."""
        for state in self.ports(include_macs=False):
            if state.name == port:
                return state
        raise NotFound(f"{self.name}: the switch has no port {port!r}", device=self.name)

    def port_vlan(self, port: str) -> int | None:
        """The port's access (untagged) VLAN as the switch reports it now; ``None`` if this switch cannot say.

        Read before a VLAN move so that release can put the port back exactly.
        """
        reader = self.profile.vlan_reader
        if reader is None:
            return next((p.vlan for p in self.ports(include_macs=False) if p.name == port), None)
        self._require_port(port)
        command = reader.command.format(port=port)
        text = self._run(lambda conn: self._show(conn, command), change=False, what=f"running {command!r}")
        rows = self._parse_ports(reader, text)
        hit = [r for r in rows if r["port"] == port]
        if not hit and "{port}" in reader.command and len(rows) == 1:
            hit = rows
        return hit[0].get("vlan") if hit else None

    def _parse_macs(self, text: str) -> list[MacEntry]:
        try:
            rows = parse_macs(self.profile.mac_reader, text)
        except ParseError as exc:
            raise DriverError(f"{self.name}: MAC address table not readable: {exc}", device=self.name,
                              detail=text[:2000]) from None
        entries = []
        for row in rows:
            try:
                mac = normalize_mac(row["mac"])
            except ValueError:
                continue
            entries.append(MacEntry(mac=mac, port=row["port"], vlan=row.get("vlan")))
        if not entries and self.profile.mac_reader.parser == "regex" and _MAC_LIKE.search(text):
            raise DriverError(f"{self.name}: the MAC address table shows addresses but none could be read; "
                              f"is device_type {self.profile.device_type!r} right for this switch?",
                              device=self.name, detail=text[:2000])
        return entries

    def mac_table(self) -> list[MacEntry]:
        command = self.profile.mac_reader.command
        text = self._run(lambda conn: self._show(conn, command), change=False, what="reading the MAC address table")
        return self._parse_macs(text)

    # -------------------------------------------------------------------------------- changes
    def port_down(self, port: str) -> None:
        self._change(port, self.profile.port_down, {})

    def port_up(self, port: str) -> None:
        self._change(port, self.profile.port_up, {})

    def set_port_vlan(self, port: str, vlan: int) -> None:
        if not 1 <= vlan <= 4094:
            raise DriverError(f"{self.name}: VLAN {vlan} is not between 1 and 4094", device=self.name)
        old = self.port_vlan(port)
        self._change(port, self.profile.set_vlan, {"vlan": vlan, "old_vlan": old})

    def save(self) -> None:
        if not self.profile.save_command:
            raise NotSupported(f"{self.name}: a {self.profile.device_type} switch has no running/startup "
                               "configuration to save", device=self.name)
        command = self.profile.save_command

        def run(conn: Any) -> str:
            out = str(conn.send_command_timing(command, read_timeout=self._inner_timeout, last_read=0.5))
            if self.profile.save_confirm and re.search(self.profile.save_confirm[0], out):
                out += str(conn.send_command_timing(self.profile.save_confirm[1], read_timeout=self._inner_timeout))
            self._raise_on_error(command, out, port="")
            return out

        self._run(run, change=True, what=f"sending {command!r}")

    def _change(self, port: str, templates: tuple[str, ...], values: dict[str, Any]) -> None:
        self._require_port(port)
        commands = self._render(port, templates, values)

        def run(conn: Any) -> None:
            if self.profile.config_mode:
                try:
                    out = str(conn.send_config_set(commands, read_timeout=self._inner_timeout, cmd_verify=True))
                except ValueError as exc:
                    if "exit configuration mode" not in str(exc):
                        raise
                    # the commands went out; only leaving config mode failed (slow prompt, banner):
                    # drop the session and let the engine's read-back tell whether the change holds
                    log.warning("%s: %s after %s; reading the port back", self.name, exc, commands)
                    self._drop()
                    return
                self._raise_on_error("; ".join(commands), out, port=port)
                return
            for command in commands:
                out = str(conn.send_command(f"{command}; echo {_RC_MARK}$?", read_timeout=self._inner_timeout))
                self._raise_on_error(command, out, port=port)
                m = re.search(rf"{_RC_MARK}(\d+)", out)
                if m is None or m.group(1) != "0":
                    raise DriverError(f"{self.name}: {command!r} failed on the switch "
                                      f"(exit status {m.group(1) if m else 'unknown'}): {out.strip()[:200]}",
                                      device=self.name, detail=out)

        self._run(run, change=True, what=f"sending {'; '.join(commands)!r}")

    def _render(self, port: str, templates: tuple[str, ...], values: dict[str, Any]) -> list[str]:
        cfg_port = self.profile.config_port(port)
        commands = []
        for template in templates:
            if "{old_vlan}" in template and (values.get("old_vlan") in (None, values.get("vlan"))):
                continue
            commands.append(template.format(port=cfg_port, **values))
        return commands

    def _require_port(self, port: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9/._:\- ]{1,64}", port):
            raise NotFound(f"{self.name}: {port!r} is not a port name", device=self.name)
        if port in self._known_ports:
            return
        self.ports(include_macs=False)
        if port not in self._known_ports:
            known = ", ".join(sorted(self._known_ports)[:30]) or "none"
            raise NotFound(f"{self.name}: the switch has no port {port!r} (known: {known}); correct the port "
                           "name in the policy", device=self.name)

    def _raise_on_error(self, command: str, output: str, *, port: str) -> None:
        for pattern in self.profile.unknown_port_patterns:
            if re.search(pattern, output, re.MULTILINE | re.IGNORECASE):
                raise NotFound(f"{self.name}: the switch does not know port {port!r} ({command!r})",
                               device=self.name, detail=output)
        for pattern in self.profile.error_patterns:
            if re.search(pattern, output, re.MULTILINE):
                line = next((ln.strip() for ln in output.splitlines()
                             if re.search(pattern, ln)), output.strip()[:200])
                raise DriverError(f"{self.name}: the switch rejected {command!r}: {line}; check the "
                                  f"device_type ({self.profile.device_type}) and the user's rights",
                                  device=self.name, detail=output)


def _close_quietly(conn: Any) -> None:
    """Close the SSH transport without the vendor's polite logout (the session may be hung)."""
    try:
        transport = conn.remote_conn.get_transport() if conn.remote_conn is not None else None
        if transport is not None:
            transport.close()
    except Exception:  # noqa: BLE001 - closing a dead session must not fail
        pass
    try:
        if getattr(conn, "session_log", None) is not None:
            conn.session_log.close()
    except Exception:  # noqa: BLE001
        pass
