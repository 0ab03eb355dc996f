"""An SSH server that speaks enough Cisco IOS or HP ProCurve CLI for netmiko's real drivers.

Why: the vendor command profiles must be exercised through real netmiko (prompt detection,
paging, config mode, command echo), not by comparing strings. This server answers like the
devices do for the commands the profiles use, and applies them to a port backend:

* :class:`MemoryPorts` - state only (unit tests on 127.0.0.1);
* :class:`LinuxBridgePorts` - a vendor name -> Linux bridge port mapping, applied with ``ip link``
  and ``bridge`` (in the lab, run inside the switch namespace, so packets really stop).

Fault modes for tests: ``hang`` (stop answering but keep the TCP session open) can be switched on at
any time; ``hang_after`` hangs after that many commands.

Run standalone (lab)::

    .venv/bin/python -m notaus.drivers.sim.fake_switch_cli --dialect ios --listen 10.0.0.2:2201 --user admin \
        --password secret --map Gi1/0/1=ws1 --map Gi1/0/2=ws2 --bridge br0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import paramiko

# ----------------------------------------------------------------------------------- backends


@dataclass
class SimPort:
    admin_up: bool = True
    oper_up: bool = True
    vlan: int = 1
    macs: list[str] = field(default_factory=list)
    #: the port description, rendered in its column like a real switch (may contain "connected")
    description: str = ""


class PortBackend(Protocol):
    def names(self) -> list[str]: ...
    def state(self, name: str) -> SimPort: ...
    def set_admin(self, name: str, up: bool) -> None: ...
    def set_vlan(self, name: str, vlan: int) -> None: ...


class MemoryPorts:
    """Ports held in memory; a port's link is up exactly when it is admin up (a cable is plugged)."""

    def __init__(self, ports: dict[str, SimPort]) -> None:
        self.ports = ports
        self.lock = threading.Lock()

    def names(self) -> list[str]:
        return list(self.ports)

    def state(self, name: str) -> SimPort:
        with self.lock:
            p = self.ports[name]
            return SimPort(p.admin_up, p.oper_up and p.admin_up, p.vlan, list(p.macs) if p.admin_up else [],
                           p.description)

    def set_admin(self, name: str, up: bool) -> None:
        with self.lock:
            self.ports[name].admin_up = up

    def set_vlan(self, name: str, vlan: int) -> None:
        with self.lock:
            self.ports[name].vlan = vlan


class LinuxBridgePorts:
    """Vendor port names mapped to Linux bridge ports; every change is an ``ip``/``bridge`` command."""

    def __init__(self, mapping: dict[str, str], bridge: str, descriptions: dict[str, str] | None = None) -> None:
        self.mapping = mapping
        self.bridge = bridge
        self.descriptions = dict(descriptions or {})

    def names(self) -> list[str]:
        return list(self.mapping)

    def _json(self, *args: str) -> Any:
        out = subprocess.run(list(args), capture_output=True, text=True, timeout=5, check=True).stdout
        return json.loads(out or "[]")

    def state(self, name: str) -> SimPort:
        dev = self.mapping[name]
        link = self._json("ip", "-j", "link", "show", "dev", dev)[0]
        flags = link.get("flags", [])
        vlan = 1
        for entry in self._json("bridge", "-j", "vlan", "show", "dev", dev):
            for v in entry.get("vlans", []):
                if "PVID" in v.get("flags", []):
                    vlan = int(v["vlan"])
        macs = [e["mac"] for e in self._json("bridge", "-j", "fdb", "show", "br", self.bridge, "brport", dev)
                if e.get("state") != "permanent" and "master" in e]
        return SimPort("UP" in flags, "UP" in flags and "LOWER_UP" in flags, vlan, macs,
                       self.descriptions.get(name, ""))

    def set_admin(self, name: str, up: bool) -> None:
        subprocess.run(["ip", "link", "set", "dev", self.mapping[name], "up" if up else "down"],
                       check=True, timeout=5)

    def set_vlan(self, name: str, vlan: int) -> None:
        dev = self.mapping[name]
        old = self.state(name).vlan
        subprocess.run(["bridge", "vlan", "add", "dev", dev, "vid", str(vlan), "pvid", "untagged"],
                       check=True, timeout=5)
        if old != vlan:
            subprocess.run(["bridge", "vlan", "del", "dev", dev, "vid", str(old)], check=True, timeout=5)


# ----------------------------------------------------------------------------------- dialects


def _dotted(mac: str) -> str:
    d = mac.replace(":", "").lower()
    return f"{d[0:4]}.{d[4:8]}.{d[8:12]}"


def _hp_mac(mac: str) -> str:
    d = mac.replace(":", "").lower()
    return f"{d[0:6]}-{d[6:12]}"


class Session:
    """One interactive shell: prompt, mode, and the command interpreter of one dialect."""

    def __init__(self, server: FakeSwitchServer, chan: paramiko.Channel) -> None:
        self.server = server
        self.chan = chan
        self.mode = "exec"        # exec | config | config-if
        self.privileged = server.start_privileged
        self.iface: str | None = None
        self.commands = 0

    # ------------------------------------------------------------------ I/O
    def send(self, text: str) -> None:
        self.chan.sendall(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())

    def prompt(self) -> str:
        host = self.server.hostname
        if self.mode == "config":
            return f"{host}(config)#"
        if self.mode == "config-if":
            suffix = "(config-if)#" if self.server.dialect == "ios" else f"(eth-{self.iface})#"
            return f"{host}{suffix}"
        return f"{host}{'#' if self.privileged else '>'}"

    def run(self) -> None:
        try:
            self.banner()
            buf = b""
            while True:
                data = self.chan.recv(4096)
                if not data:
                    return
                if self.server.hang:
                    continue
                buf += data
                while True:
                    m = re.search(rb"\r\n|\n|\r", buf)
                    if m is None:
                        break
                    line, buf = buf[:m.start()].decode(errors="replace"), buf[m.end():]
                    if self.server.hang:
                        break
                    self.send(line + "\n")          # echo, as a terminal does
                    if not self.handle(line.strip()):
                        self.chan.close()
                        return
                    self.commands += 1
                    if self.server.hang_after is not None and self.commands >= self.server.hang_after:
                        self.server.hang = True
        except (OSError, EOFError):
            return

    def banner(self) -> None:
        if self.server.dialect == "procurve":
            self.send("HP J9773A 2530-24G-PoEP Switch\nSoftware revision YA.16.10.0003\n\n"
                      "(C) Copyright 2020 Hewlett Packard Enterprise Development LP\n\n"
                      "Press any key to continue\n")
            while True:
                data = self.chan.recv(16)
                if not data:
                    raise EOFError
                if not self.server.hang:
                    break
            self.send("\n")
        self.send(self.prompt())

    # ------------------------------------------------------------------ interpreter
    def handle(self, line: str) -> bool:
        """Answer one line; False ends the session."""
        try:
            out = self.dispatch(line)
        except KeyError:
            out = self.invalid_port()
        if out is None:
            return False
        if out:
            self.send(out if out.endswith("\n") else out + "\n")
        self.send(self.prompt())
        return True

    def invalid(self) -> str:
        if self.server.dialect == "ios":
            return "                 ^\n% Invalid input detected at '^' marker.\n"
        return "Invalid input: command not recognised\n"

    def invalid_port(self) -> str:
        if self.server.dialect == "ios":
            return "                 ^\n% Invalid input detected at '^' marker.\n"
        return "Module not present for port or invalid port\n"

    def dispatch(self, line: str) -> str | None:
        words = line.split()
        if not words:
            return ""
        low = line.lower()
        if re.fullmatch(r"terminal (length|width) \d+|no page|terminal length 0", low):
            return ""
        if low in ("exit", "logout", "quit"):
            if self.mode == "config-if":
                self.mode, self.iface = "config", None
                return ""
            if self.mode == "config":
                self.mode = "exec"
                return ""
            if self.server.dialect == "procurve" and low == "logout":
                self.send("Do you want to log out [y/n]? ")
                self.chan.recv(16)
            return None
        if low == "end":
            self.mode, self.iface = "exec", None
            return ""
        if low == "enable":
            if not self.privileged and self.server.enable_secret:
                self.send("Password: ")
                secret = self._read_line()
                if secret != self.server.enable_secret:
                    return "% Access denied"
            self.privileged = True
            return ""
        if low == "disable":
            self.privileged = False
            return ""
        if low in ("configure terminal", "configure", "conf t", "config"):
            if not self.privileged:
                return self.invalid()
            self.mode = "config"
            return "Enter configuration commands, one per line.  End with CNTL/Z." \
                if self.server.dialect == "ios" else ""
        if low in ("write memory", "write mem", "copy running-config startup-config"):
            self.server.saves += 1
            return "Building configuration...\n[OK]" if self.server.dialect == "ios" else ""
        if low.startswith("show "):
            return self.show(low)
        if self.mode in ("config", "config-if"):
            return self.config(line)
        return self.invalid()

    def _read_line(self) -> str:
        buf = b""
        while not re.search(rb"[\r\n]", buf):
            data = self.chan.recv(64)
            if not data:
                raise EOFError
            buf += data
        self.send("\n")
        return re.split(rb"[\r\n]", buf)[0].decode(errors="replace")

    # ------------------------------------------------------------------ config mode
    def port_name(self, raw: str) -> str:
        """Accept the spellings a device accepts (``GigabitEthernet1/0/5``, ``gi1/0/5``, ``Gi1/0/5``)."""
        raw = raw.replace(" ", "")
        m = re.fullmatch(r"(?i)g(?:i(?:gabit(?:ethernet)?)?)?([\d/]+)", raw)
        name = f"Gi{m.group(1)}" if m and self.server.dialect == "ios" else raw
        if name not in self.server.backend.names():
            raise KeyError(name)
        return name

    def config(self, line: str) -> str:
        backend = self.server.backend
        low = line.lower()
        if self.server.dialect == "ios":
            m = re.fullmatch(r"(?i)interface\s+(\S+(?:\s+\S+)?)", line)
            if m:
                self.iface, self.mode = self.port_name(m.group(1)), "config-if"
                return ""
            if self.mode == "config-if" and self.iface:
                if low == "shutdown":
                    backend.set_admin(self.iface, False)
                    return ""
                if low == "no shutdown":
                    backend.set_admin(self.iface, True)
                    return ""
                m = re.fullmatch(r"switchport access vlan (\d+)", low)
                if m and 1 <= int(m.group(1)) <= 4094:
                    backend.set_vlan(self.iface, int(m.group(1)))
                    return ""
                if low == "switchport mode access":
                    return ""
            return self.invalid()
        # ProCurve
        m = re.fullmatch(r"interface\s+(\S+)\s+(disable|enable)", low)
        if m:
            backend.set_admin(self.port_name(m.group(1)), m.group(2) == "enable")
            return ""
        m = re.fullmatch(r"interface\s+(\S+)", low)
        if m:
            self.iface, self.mode = self.port_name(m.group(1)), "config-if"
            return ""
        if self.mode == "config-if" and self.iface and low in ("disable", "enable"):
            backend.set_admin(self.iface, low == "enable")
            return ""
        m = re.fullmatch(r"vlan\s+(\d+)\s+untagged\s+(\S+)", low)
        if m and 1 <= int(m.group(1)) <= 4094:
            backend.set_vlan(self.port_name(m.group(2)), int(m.group(1)))
            return ""
        return self.invalid()

    # ------------------------------------------------------------------ show
    def show(self, low: str) -> str:
        backend = self.server.backend
        states = {n: backend.state(n) for n in backend.names()}
        if self.server.dialect == "ios":
            if low in ("show interfaces status", "show interface status", "show int status"):
                lines = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
                for n, s in states.items():
                    status = "disabled" if not s.admin_up else ("connected" if s.oper_up else "notconnect")
                    # IOS cuts the description to the 18-character Name column
                    lines.append(f"{n:<9} {s.description[:18]:<18} {status:<12} {s.vlan:<10} {'a-full':>6} "
                                 f"{'a-1000':>6} 10/100/1000BaseTX")
                return "\n".join(lines)
            m = re.fullmatch(r"show interfaces? (\S+) switchport", low)
            if m:
                name = self.port_name(m.group(1))
                s = states[name]
                long = name.replace("Gi", "GigabitEthernet", 1)
                return (f"Name: {name}\nSwitchport: Enabled\nAdministrative Mode: static access\n"
                        f"Operational Mode: static access\nAdministrative Trunking Encapsulation: dot1q\n"
                        f"Negotiation of Trunking: Off\nAccess Mode VLAN: {s.vlan} (VLAN{s.vlan:04d})\n"
                        "Trunking Native Mode VLAN: 1 (default)\nAdministrative Native VLAN tagging: enabled\n"
                        "Voice VLAN: none\n").replace(f"Name: {name}", f"Name: {long}")
            if low in ("show mac address-table", "show mac-address-table"):
                lines = ["          Mac Address Table", "-------------------------------------------", "",
                         "Vlan    Mac Address       Type        Ports",
                         "----    -----------       --------    -----"]
                count = 0
                for n, s in states.items():
                    for mac in s.macs:
                        lines.append(f"{s.vlan:>4}    {_dotted(mac)}    DYNAMIC     {n}")
                        count += 1
                lines.append(f"Total Mac Addresses for this criterion: {count}")
                return "\n".join(lines)
            if low.startswith("show version"):
                return "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4"
            return self.invalid()
        if low in ("show interfaces brief", "show interface brief"):
            lines = ["", " Status and Counters - Port Status", "",
                     "                          | Intrusion                           MDI  Flow Bcast",
                     "  Port         Type       | Alert     Enabled Status Mode       Mode Ctrl Limit",
                     "  ------------ ---------- + --------- ------- ------ ---------- ---- ---- -----"]
            for n, s in states.items():
                lines.append(f"  {n:<12} 100/1000T  | No        {'Yes' if s.admin_up else 'No':<7} "
                             f"{'Up' if s.oper_up else 'Down':<6} 1000FDx    MDIX off  0")
            return "\n".join(lines)
        if low in ("show interfaces status", "show interface status"):
            # ProVision 16.x: the Name column carries the description
            lines = ["", "  Port     Name       Status  Config-mode   Speed    Type       Tagged Untagged",
                     "  -------- ---------- ------- ------------- -------- ---------- ------ --------"]
            for n, s in states.items():
                name = s.description if len(s.description) <= 10 else s.description[:7] + "..."
                lines.append(f"  {n:<8} {name:<10} {'Up' if s.oper_up else 'Down':<7} Auto          "
                             f"1000FDx  100/1000T  No     {s.vlan}")
            return "\n".join(lines)
        if low in ("show mac-address", "show mac-address-table"):
            lines = ["", " Status and Counters - Port Address Table", "",
                     "  MAC Address   Port  VLAN", "  ------------- ----- ----"]
            for n, s in states.items():
                for mac in s.macs:
                    lines.append(f"  {_hp_mac(mac)} {n:<5} {s.vlan}")
            return "\n".join(lines)
        if low.startswith("show version"):
            return "Image stamp:    /ws/swbuildm/rel_ukiah_qaoff/code/build/bom"
        return self.invalid()


# ------------------------------------------------------------------------------------- server


class _Auth(paramiko.ServerInterface):
    def __init__(self, server: FakeSwitchServer) -> None:
        self.server = server
        self.shell_event = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if username == self.server.user and password == self.server.password:
            return paramiko.AUTH_SUCCESSFUL
        self.server.auth_failures += 1
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell_event.set()
        return True


class FakeSwitchServer:
    """A listening SSH server; one thread per connection; ``close()`` stops it."""

    def __init__(self, backend: PortBackend, *, dialect: str = "ios", host: str = "127.0.0.1", port: int = 0,
                 user: str = "admin", password: str = "secret", hostname: str = "",
                 start_privileged: bool = True, enable_secret: str = "",
                 hang_after: int | None = None) -> None:
        if dialect not in ("ios", "procurve"):
            raise ValueError(f"unknown dialect {dialect!r} (ios, procurve)")
        self.backend = backend
        self.dialect = dialect
        self.user = user
        self.password = password
        self.hostname = hostname or ("Switch" if dialect == "ios" else "HP-2530-24G")
        self.start_privileged = start_privileged
        self.enable_secret = enable_secret
        self.hang = False
        self.hang_after = hang_after
        self.saves = 0
        self.auth_failures = 0
        self.connections = 0
        self.host_key = paramiko.ECDSAKey.generate()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.address: tuple[str, int] = self.sock.getsockname()
        self._closed = False
        self._transports: list[paramiko.Transport] = []
        self._thread = threading.Thread(target=self._accept, name="fake-switch-cli", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.address[1]

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        self._transports.append(transport)
        transport.add_server_key(self.host_key)
        auth = _Auth(self)
        try:
            transport.start_server(server=auth)
            chan = transport.accept(20)
            if chan is None or not auth.shell_event.wait(10):
                transport.close()
                return
            Session(self, chan).run()
        except (paramiko.SSHException, OSError, EOFError):
            pass
        finally:
            if not self.hang:
                time.sleep(0.05)
                transport.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.close()
        for t in self._transports:
            t.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--dialect", choices=("ios", "procurve"), default="ios")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--bridge", help="Linux bridge whose ports --map refers to (else: in-memory ports)")
    ap.add_argument("--map", action="append", default=[], metavar="VENDORNAME=LINUXPORT")
    ap.add_argument("--ports", type=int, default=8, help="in-memory mode: number of ports")
    ap.add_argument("--describe", action="append", default=[], metavar="VENDORNAME=TEXT",
                    help="a port description, shown in its column like a real switch")
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    backend: PortBackend
    if args.bridge:
        backend = LinuxBridgePorts(dict(m.split("=", 1) for m in args.map), args.bridge,
                                   dict(d.split("=", 1) for d in args.describe))
    else:
        names = [f"Gi1/0/{i}" if args.dialect == "ios" else str(i) for i in range(1, args.ports + 1)]
        descriptions = dict(d.split("=", 1) for d in args.describe)
        backend = MemoryPorts({n: SimPort(description=descriptions.get(n, "")) for n in names})
    server = FakeSwitchServer(backend, dialect=args.dialect, host=host, port=int(port),
                              user=args.user, password=args.password)
    print(f"listening {server.address[0]}:{server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
