"""A managed switch over SSH/CLI with netmiko, driven by vendor command profiles.

Why one class for all vendors: the differences live in :mod:`drivers.switch_profiles` as data;
this module only knows how to hold one warm SSH session, send the profile's commands with bounded
time, and turn netmiko/paramiko failures into :mod:`drivers.base` errors a person can act on.

Options (from the policy ``Device``): ``device_type`` (profile name), ``uplinks``, ``quarantine_vlan``,
``save_config``, ``controller_port``; free-form ``options``: ``key_file`` (SSH key instead of a
password), ``secret`` (enable password, default: the login password), ``netmiko_device_type``
(override the netmiko class, e.g. ``cisco_ios_telnet`` is *not* supported on purpose).
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

from drivers.base import (
    AuthFailed,
    DriverError,
    MacEntry,
    NotFound,
    NotSupported,
    PortState,
    SwitchDriver,
    Unreachable,
)
from drivers.mac import normalize_mac
from drivers.switch_profiles import SwitchProfile, parse_macs, parse_ports, profile_for

log = logging.getLogger(__name__)
T = TypeVar("T")

_RC_MARK = "__notaus_rc="


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
            self._connect()
            self._known_ports = {p.name for p in self.ports(include_macs=False)}

    def close(self) -> None:
        with self._lock:
            self._drop()

    def check(self) -> dict[str, Any]:
        ports = self.ports(include_macs=False)
        return {"device_type": self.profile.device_type, "ports": len(ports),
                "prompt": self._run(lambda c: c.base_prompt, change=False)}

    def _connect(self) -> None:
        self._drop()
        params: dict[str, Any] = {
            "device_type": self._opt("netmiko_device_type", self.profile.device_type),
            "host": self.address,
            "port": self.port or 22,
            "username": self.user,
            "password": self.password,
            "secret": self._opt("secret", self.password),
            "conn_timeout": self.timeout,
            "auth_timeout": self.timeout,
            "banner_timeout": self.timeout,
            "blocking_timeout": self.timeout,
            "read_timeout_override": self.timeout,
            "allow_agent": False,
            "use_keys": False,
            "ssh_config_file": None,
            "fast_cli": True,
        }
        key_file = self._opt("key_file")
        if key_file:
            params.update(use_keys=True, key_file=str(key_file))
        started = time.monotonic()
        try:
            conn = ConnectHandler(**params)
            if self.profile.needs_enable and not conn.check_enable_mode():
                conn.enable()
        except NetmikoAuthenticationException as exc:
            raise AuthFailed(f"{self.name}: the switch at {self.address} refused user {self.user!r}; check "
                             "user name and password (or key) in the policy", device=self.name,
                             detail=str(exc)) from None
        except (NetmikoTimeoutException, ReadTimeout, TimeoutError) as exc:
            raise Unreachable(f"{self.name}: no SSH answer from {self.address}:{params['port']} within "
                              f"{self.timeout:g} s; check cable, address and that SSH is enabled",
                              device=self.name, detail=str(exc)) from None
        except (OSError, EOFError, SSHException, NetmikoBaseException, ValueError) as exc:
            raise Unreachable(f"{self.name}: SSH login to {self.address}:{params['port']} failed ({exc}); "
                              "check address, port and that SSH is enabled", device=self.name,
                              detail=str(exc)) from None
        log.debug("%s: connected in %.2f s", self.name, time.monotonic() - started)
        self._conn = conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            transport = conn.remote_conn.get_transport() if conn.remote_conn is not None else None
            if transport is not None:
                transport.close()  # do not run the vendor's polite logout on a possibly hung session
        except Exception:  # noqa: BLE001 - closing a dead session must not fail
            pass

    def _alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            chan = self._conn.remote_conn
            transport = chan.get_transport()
            return bool(transport is not None and transport.is_active() and not chan.closed)
        except Exception:  # noqa: BLE001
            return False

    def _run(self, fn: Callable[[Any], T], *, change: bool) -> T:
        """Run ``fn(conn)`` on the warm session; reconnect once if it died, never retry a hang."""
        with self._lock:
            for attempt in (1, 2):
                if not self._alive():
                    self._connect()
                try:
                    return fn(self._conn)
                except (ReadTimeout, NetmikoTimeoutException, TimeoutError) as exc:
                    died = not self._alive()
                    self._drop()
                    if died and attempt == 1:
                        log.info("%s: session closed by the switch (%s); reconnecting once", self.name, exc)
                        continue
                    raise Unreachable(f"{self.name}: the switch stopped answering for {self.timeout:g} s "
                                      "in the middle of a session; the last change may or may not have been "
                                      "applied - check the port state on the switch", device=self.name,
                                      detail=str(exc)) from None
                except (OSError, EOFError, SSHException) as exc:
                    self._drop()
                    if attempt == 2:
                        raise Unreachable(f"{self.name}: the SSH session broke twice ({exc}); check the "
                                          "switch and its management address", device=self.name,
                                          detail=str(exc)) from None
                    log.info("%s: session died (%s); reconnecting once", self.name, exc)
            raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------------------- reads
    def _show(self, conn: Any, command: str) -> str:
        out = conn.send_command(command, read_timeout=self.timeout, strip_prompt=True, strip_command=True)
        text = str(out)
        self._raise_on_error(command, text, port="")
        return text

    def ports(self, include_macs: bool = True) -> list[PortState]:
        def read(conn: Any) -> list[PortState]:
            rows: dict[str, dict[str, Any]] = {}
            for i, reader in enumerate(self.profile.port_readers):
                for row in parse_ports(reader, self._show(conn, reader.command)):
                    if i == 0:
                        rows.setdefault(row["port"], {}).update(row)
                    elif row["port"] in rows:
                        rows[row["port"]].update({k: v for k, v in row.items() if v is not None})
            macs: dict[str, list[str]] = {}
            if include_macs:
                for entry in self._macs(conn):
                    macs.setdefault(entry.port, []).append(entry.mac)
            return [PortState(name=name, admin_up=bool(r.get("admin_up")), oper_up=bool(r.get("oper_up")),
                              vlan=r.get("vlan"), macs=sorted(macs.get(name, [])))
                    for name, r in rows.items()]

        result = self._run(read, change=False)
        self._known_ports = {p.name for p in result}
        return result

    def port_state(self, port: str) -> PortState:
        """One port's state (read back after a change)."""
        for state in self.ports(include_macs=False):
            if state.name == port:
                return state
        raise NotFound(f"{self.name}: the switch has no port {port!r}", device=self.name)

    def _macs(self, conn: Any) -> list[MacEntry]:
        text = self._show(conn, self.profile.mac_reader.command)
        entries = []
        for row in parse_macs(self.profile.mac_reader, text):
            try:
                mac = normalize_mac(row["mac"])
            except ValueError:
                continue
            entries.append(MacEntry(mac=mac, port=row["port"], vlan=row.get("vlan")))
        return entries

    def mac_table(self) -> list[MacEntry]:
        return self._run(self._macs, change=False)

    # -------------------------------------------------------------------------------- changes
    def port_down(self, port: str) -> None:
        self._change(port, self.profile.port_down, {})

    def port_up(self, port: str) -> None:
        self._change(port, self.profile.port_up, {})

    def set_port_vlan(self, port: str, vlan: int) -> None:
        if not 1 <= vlan <= 4094:
            raise DriverError(f"{self.name}: VLAN {vlan} is not between 1 and 4094", device=self.name)
        old = next((p.vlan for p in self.ports(include_macs=False) if p.name == port), None)
        self._change(port, self.profile.set_vlan, {"vlan": vlan, "old_vlan": old})

    def save(self) -> None:
        if not self.profile.save_command:
            raise NotSupported(f"{self.name}: a {self.profile.device_type} switch has no running/startup "
                               "configuration to save", device=self.name)
        command = self.profile.save_command

        def run(conn: Any) -> str:
            out = str(conn.send_command_timing(command, read_timeout=self.timeout, last_read=0.5))
            if self.profile.save_confirm and re.search(self.profile.save_confirm[0], out):
                out += str(conn.send_command_timing(self.profile.save_confirm[1], read_timeout=self.timeout))
            self._raise_on_error(command, out, port="")
            return out

        self._run(run, change=True)

    def _change(self, port: str, templates: tuple[str, ...], values: dict[str, Any]) -> None:
        self._require_port(port)
        commands = self._render(port, templates, values)

        def run(conn: Any) -> None:
            if self.profile.config_mode:
                out = str(conn.send_config_set(commands, read_timeout=self.timeout, cmd_verify=True))
                self._raise_on_error("; ".join(commands), out, port=port)
                return
            for command in commands:
                out = str(conn.send_command(f"{command}; echo {_RC_MARK}$?", read_timeout=self.timeout))
                self._raise_on_error(command, out, port=port)
                m = re.search(rf"{_RC_MARK}(\d+)", out)
                if m is None or m.group(1) != "0":
                    raise DriverError(f"{self.name}: {command!r} failed on the switch "
                                      f"(exit status {m.group(1) if m else 'unknown'}): {out.strip()[:200]}",
                                      device=self.name, detail=out)

        self._run(run, change=True)

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
