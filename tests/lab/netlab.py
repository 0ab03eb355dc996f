"""A small doctor's-practice network in Linux network namespaces, for end-to-end tests.

Topology (all addresses exist only inside namespaces this module creates)::

    ctrl  ws1  ws2  phone  ti           host namespaces, each with eth0 = 10.77.0.NN/24,
      |    |    |     |    |            MAC 02:77:00:00:00:NN, default route via the router
    [ctrl][ws1][ws2][phone][ti]         ports of bridge br0 in namespace "switch" (br0 = 10.77.0.2)
                 br0 --[uplink]--+
                                 | lan0 10.77.0.1/24
                              router     ip_forward=1, nftables masquerade on wan0 (table ip notaus_lab)
                                 | wan0 198.18.0.2/30         wlan0: stand-in WLAN link (veth)
                                 | eth0 198.18.0.1/30
                               inet      servers on 198.51.100.10: UDP echo 7, TCP echo 7, "SIP" UDP 5060

Why namespaces: tests must see packets really stop when notaus cuts the WAN, without touching the
machine's own interfaces, routes or firewall. Every namespace name starts with a per-run prefix, and
teardown (context-manager exit, pytest finalizer and ``atexit``) kills the processes it started and
deletes every namespace carrying the prefix, even after a half-finished build.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Lab", "LabHost", "LabUnavailable", "lab_unavailable_reason"]

REPO_ROOT = Path(__file__).resolve().parents[2]

LAN_PREFIX = "10.77.0"
LAN_CIDR = f"{LAN_PREFIX}.0/24"
ROUTER_LAN_IP = f"{LAN_PREFIX}.1"
ROUTER_LAN_MAC = "02:77:00:00:00:01"
SWITCH_IP = f"{LAN_PREFIX}.2"
SWITCH_MAC = "02:77:00:00:00:02"
ROUTER_WAN_IP = "198.18.0.2"
INET_WAN_IP = "198.18.0.1"
INET_IP = "198.51.100.10"
UDP_ECHO_PORT = 7
TCP_ECHO_PORT = 7
SIP_PORT = 5060
LAB_NFT_TABLE = "notaus_lab"
SIM_NFT_TABLE = "notaus_sim"


@dataclass(frozen=True)
class LabHost:
    """One machine in the practice LAN: its namespace short name, address, MAC, bridge port, role."""

    name: str
    octet: int
    role: str

    @property
    def ip(self) -> str:
        return f"{LAN_PREFIX}.{self.octet}"

    @property
    def mac(self) -> str:
        # The octet's decimal digits double as the MAC's last byte, so 10.77.0.11 <-> ...:00:11.
        return f"02:77:00:00:00:{self.octet:02d}"

    @property
    def port(self) -> str:
        """Bridge port name in the switch namespace (same as the host name)."""
        return self.name


DEFAULT_HOSTS: tuple[LabHost, ...] = (
    LabHost("ctrl", 5, "controller"),
    LabHost("ws1", 11, "workstation"),
    LabHost("ws2", 12, "workstation"),
    LabHost("phone", 20, "phone"),
    LabHost("ti", 50, "ti-konnektor"),
)


class LabUnavailable(RuntimeError):
    """This machine cannot run the lab (not root, no netns, no nft); the message says why."""


def lab_unavailable_reason() -> str | None:
    """``None`` if the lab can be built here, else a sentence saying what is missing and what to do.

    Tries the real thing with a throwaway namespace, because being root in a container without
    CAP_SYS_ADMIN still fails at ``ip netns add``.
    """
    if os.geteuid() != 0:
        return "network lab needs root (run the tests as root, e.g. in CI or with sudo)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"network lab needs '{tool}' (install with: sudo deploy/lab-deps.sh)"
    probe = f"naprobe{os.getpid() % 100000}{secrets.token_hex(2)}"
    steps = [
        ["ip", "netns", "add", probe],
        ["ip", "-n", probe, "link", "add", "b0", "type", "bridge"],
        ["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        ["ip", "netns", "exec", probe, "nft", "add", "table", "inet", "t"],
    ]
    try:
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=20)
            if proc.returncode != 0:
                what = proc.stderr.strip() or f"exit code {proc.returncode}"
                return (
                    f"network lab impossible here: '{' '.join(cmd[:4])} ...' failed ({what}); "
                    "needs CAP_SYS_ADMIN/CAP_NET_ADMIN, bridge/veth and nftables in the kernel"
                )
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


class Lab:
    """The practice network; use as ``with Lab() as lab:`` (or ``start()``/``close()``).

    Namespaces are addressed by short name everywhere (``"router"``, ``"switch"``, ``"inet"``,
    ``"ws1"``, ...); :meth:`ns` gives the real netns name for tools that need it.
    """

    ROUTER = "router"
    SWITCH = "switch"
    INET = "inet"
    UPLINK_PORT = "uplink"

    def __init__(self, prefix: str | None = None, *, hosts: Sequence[LabHost] = DEFAULT_HOSTS,
                 start_servers: bool = True) -> None:
        self.prefix = prefix or f"na{os.getpid() % 10000:04d}{secrets.token_hex(1)}-"
        if len(self.prefix) > 12:
            raise ValueError("lab prefix too long: namespace names must stay short and readable")
        self.hosts: dict[str, LabHost] = {h.name: h for h in hosts}
        for h in hosts:
            if len(h.name) > 15 or h.name in (self.ROUTER, self.SWITCH, self.INET, self.UPLINK_PORT):
                raise ValueError(f"unusable lab host name {h.name!r}")
        self.start_servers = start_servers
        self.inet_ip = INET_IP
        self.router_lan_ip = ROUTER_LAN_IP
        self.router_lan_mac = ROUTER_LAN_MAC
        self.router_wan_ip = ROUTER_WAN_IP
        self.switch_ip = SWITCH_IP
        self.switch_mac = SWITCH_MAC
        self.lan_cidr = LAN_CIDR
        self.udp_echo_port = UDP_ECHO_PORT
        self.tcp_echo_port = TCP_ECHO_PORT
        self.sip_port = SIP_PORT
        self.vlan_filtering = False
        self.repo_root = REPO_ROOT
        self.workdir: Path | None = None
        self._procs: list[subprocess.Popen[Any]] = []
        self._created: list[str] = []
        self._closed = False
        self._started = False

    # ------------------------------------------------------------------------------- naming
    @property
    def short_names(self) -> list[str]:
        """All namespaces of this lab, by short name."""
        return [self.ROUTER, self.SWITCH, self.INET, *self.hosts]

    def ns(self, name: str) -> str:
        """Real netns name for a short name (a full name is passed through)."""
        if name.startswith(self.prefix):
            return name
        if name not in self.short_names:
            raise KeyError(f"no namespace {name!r} in this lab (have: {', '.join(self.short_names)})")
        return self.prefix + name

    def host_ip(self, name: str) -> str:
        return self._host(name).ip

    def host_mac(self, name: str) -> str:
        return self._host(name).mac

    def bridge_port(self, host: str) -> str:
        """Name of the bridge port in the switch namespace that ``host`` hangs on (router: ``uplink``)."""
        if host == self.ROUTER:
            return self.UPLINK_PORT
        return self._host(host).port

    def _host(self, name: str) -> LabHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise KeyError(f"no host {name!r} in this lab (have: {', '.join(self.hosts)})") from None

    @property
    def env(self) -> dict[str, str]:
        """Environment for processes in the lab: the repo on PYTHONPATH so ``python3 -m tests.lab...`` works."""
        env = dict(os.environ)
        parts = [str(self.repo_root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
        return env

    # ------------------------------------------------------------------------- run commands
    def run(self, ns: str, *cmd: str, check: bool = True, timeout: float = 30, input: str | None = None,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside namespace ``ns`` and wait; text output captured; raises on failure if ``check``."""
        argv = ["ip", "netns", "exec", self.ns(ns), *cmd]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                              env=dict(env) if env is not None else self.env, cwd=self.repo_root, check=False)
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc

    def run_python(self, ns: str, code: str, *, check: bool = True,
                   timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet inside ``ns`` with the repo importable (e.g. ``drivers.sim.nft_effects``)."""
        return self.run(ns, sys.executable, "-c", code, check=check, timeout=timeout)

    def popen(self, ns: str, *cmd: str, env: Mapping[str, str] | None = None,
              **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` inside ``ns`` in its own session; it is killed (by pid) at teardown.

        ``kwargs`` go to :class:`subprocess.Popen` (e.g. ``stdout=subprocess.PIPE, text=True``). Without
        ``stdout``/``stderr`` they go to ``<workdir>/<ns>-<pid>.log`` (see :meth:`log_of`).
        """
        argv = ["ip", "netns", "exec", self.ns(ns), *cmd]
        kwargs.setdefault("cwd", self.repo_root)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        run_env = dict(env) if env is not None else self.env
        if "stdout" in kwargs and "stderr" in kwargs:
            proc: subprocess.Popen[Any] = subprocess.Popen(argv, env=run_env, start_new_session=True, **kwargs)
        else:
            assert self.workdir is not None, "lab not started"
            fd, name = tempfile.mkstemp(dir=self.workdir, prefix=f"{ns}-", suffix=".log")
            with os.fdopen(fd, "wb") as log:
                kwargs.setdefault("stdout", log)
                kwargs.setdefault("stderr", subprocess.STDOUT if kwargs["stdout"] is log else log)
                proc = subprocess.Popen(argv, env=run_env, start_new_session=True, **kwargs)
            proc.lab_log = Path(name)  # type: ignore[attr-defined]
        self._procs.append(proc)
        return proc

    @staticmethod
    def log_of(proc: subprocess.Popen[Any]) -> str:
        """Output so far of a process started by :meth:`popen` without explicit stdout/stderr."""
        path: Path | None = getattr(proc, "lab_log", None)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def stop(self, proc: subprocess.Popen[Any], timeout: float = 3) -> None:
        """Terminate one tracked process (its whole session) now rather than at teardown."""
        _terminate(proc, timeout)
        if proc in self._procs:
            self._procs.remove(proc)

    # ------------------------------------------------------------------------- lab controls
    def link_up(self, ns: str, ifname: str) -> bool:
        """Administrative state of an interface (``ip link`` flag UP)."""
        out = self.run(ns, "ip", "-o", "link", "show", "dev", ifname).stdout
        flags = out.split("<", 1)[1].split(">", 1)[0].split(",")
        return "UP" in flags

    def set_port(self, host: str, up: bool) -> None:
        """Switch the bridge port of ``host`` up or down in the switch namespace (a pulled cable)."""
        self.run(self.SWITCH, "ip", "link", "set", self.bridge_port(host), "up" if up else "down")

    def reset(self) -> None:
        """Undo what tests commonly change: the simulator's nft table, downed bridge ports, WLAN link."""
        self.run(self.ROUTER, "nft", "-f", "-", check=False,
                 input=f"add table inet {SIM_NFT_TABLE}\ndelete table inet {SIM_NFT_TABLE}\n")
        for host in [*self.hosts, self.ROUTER]:
            self.set_port(host, True)
        self.run(self.ROUTER, "ip", "link", "set", "wlan0", "up")

    # -------------------------------------------------------------------------------- build
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Build the network and start the inet servers; on any failure, tear down and re-raise."""
        if self._started:
            return self
        self._started = True
        atexit.register(self.close)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}lab-"))
        try:
            self._build()
            if self.start_servers:
                self._start_servers()
        except BaseException:
            self.close()
            raise
        return self

    def _ip(self, cmd: str) -> None:
        """Run one ``ip`` command line (kept as text so the build reads like a shell script)."""
        argv = ["ip", *cmd.split()]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
        if proc.returncode != 0:
            raise LabUnavailable(f"lab build failed at 'ip {cmd}': {proc.stderr.strip()}")

    def _batch(self, ns: str, lines: Sequence[str]) -> None:
        """Several ``ip`` commands in one namespace with one process (``ip -n NS -batch -``)."""
        proc = subprocess.run(["ip", "-n", self.ns(ns), "-batch", "-"], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, check=False, timeout=20)
        if proc.returncode != 0:
            raise LabUnavailable(f"lab build failed in {ns}: {proc.stderr.strip()}")

    def _build(self) -> None:
        for short in self.short_names:
            self._ip(f"netns add {self.ns(short)}")
            self._created.append(self.ns(short))
        sw, r, inet = self.ns(self.SWITCH), self.ns(self.ROUTER), self.ns(self.INET)

        # Switch: bridge with a management address (for sshd/snmpd of the switch tests).
        self._batch(self.SWITCH, ["link add br0 type bridge", f"link set br0 address {SWITCH_MAC}"])
        # VLAN filtering is needed for a quarantine VLAN; some kernels lack it (reported, not fatal).
        vf = subprocess.run(["ip", "-n", sw, "link", "set", "br0", "type", "bridge", "vlan_filtering", "1"],
                            capture_output=True, check=False)
        self.vlan_filtering = vf.returncode == 0
        # Veth pairs are created from inside the switch namespace, so nothing ever appears on the host.
        sw_lines: list[str] = []
        for h in self.hosts.values():
            sw_lines += [f"link add {h.port} type veth peer name eth0 netns {self.ns(h.name)}",
                         f"link set {h.port} master br0", f"link set {h.port} up"]
        sw_lines += [f"link add {self.UPLINK_PORT} type veth peer name lan0 netns {r}",
                     f"link set {self.UPLINK_PORT} master br0", f"link set {self.UPLINK_PORT} up",
                     f"addr add {SWITCH_IP}/24 dev br0", "link set br0 up", "link set lo up",
                     f"route add default via {ROUTER_LAN_IP}"]
        self._batch(self.SWITCH, sw_lines)

        for h in self.hosts.values():
            self._batch(h.name, [f"link set eth0 address {h.mac}", f"addr add {h.ip}/24 dev eth0",
                                 "link set eth0 up", "link set lo up", f"route add default via {ROUTER_LAN_IP}"])

        # Router: LAN, WAN towards inet, and a stand-in WLAN link for apply_wlan().
        self._batch(self.ROUTER, [
            f"link set lan0 address {ROUTER_LAN_MAC}", f"addr add {ROUTER_LAN_IP}/24 dev lan0", "link set lan0 up",
            f"link add wan0 type veth peer name eth0 netns {inet}", "link set wan0 address 02:77:ff:00:00:02",
            f"addr add {ROUTER_WAN_IP}/30 dev wan0", "link set wan0 up",
            "link add wlan0 type veth peer name wlan0p", "link set wlan0p up", "link set wlan0 up",
            "link set lo up", f"route add default via {INET_WAN_IP}",
        ])
        self._batch(self.INET, ["link set eth0 address 02:77:ff:00:00:01", f"addr add {INET_WAN_IP}/30 dev eth0",
                                "link set eth0 up", "link set lo up", f"addr add {INET_IP}/32 dev lo",
                                # Answers leave from the server address even for sockets bound to 0.0.0.0,
                                # otherwise they would not match the router's NAT entry.
                                f"route replace 198.18.0.0/30 dev eth0 proto kernel scope link src {INET_IP}"])

        for short in self.short_names:
            # Per-namespace sysctls; IPv6 off keeps router solicitations out of captures.
            subprocess.run(["ip", "netns", "exec", self.ns(short), "sysctl", "-q", "-w",
                            "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                           capture_output=True, check=False)
        fwd = self.run(self.ROUTER, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", check=False)
        if fwd.returncode != 0:
            raise LabUnavailable(f"cannot enable forwarding in the router namespace: {fwd.stderr.strip()}")

        # NAT plus an (empty, accepting) forward chain; the simulator adds its own table on top.
        nat = self.run(self.ROUTER, "nft", "-f", "-", check=False, input=(
            f"table ip {LAB_NFT_TABLE} {{\n"
            "  chain postrouting {\n    type nat hook postrouting priority 100; policy accept;\n"
            '    oifname "wan0" masquerade\n  }\n'
            "  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n"))
        if nat.returncode != 0:
            raise LabUnavailable(f"cannot set up NAT in the router namespace: {nat.stderr.strip()}")

    def _start_servers(self) -> None:
        proc = self.popen(self.INET, sys.executable, "-m", "tests.lab.servers", "--bind", "0.0.0.0",
                          "--udp-echo", str(UDP_ECHO_PORT), "--tcp-echo", str(TCP_ECHO_PORT),
                          "--sip", str(SIP_PORT), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        line = proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None and proc.stderr else ""
            raise LabUnavailable(f"inet servers did not start: {line!r} {err}")
        self.servers = proc

    # ----------------------------------------------------------------------------- teardown
    def close(self) -> None:
        """Kill what the lab started and delete its namespaces; safe to call repeatedly and after failures."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        for proc in reversed(self._procs):
            with contextlib.suppress(Exception):
                _terminate(proc, timeout=2)
        self._procs.clear()
        names = set(self._created) | set(self.existing_namespaces())
        for name in sorted(names):
            # Anything still running inside a namespace this lab created was started for this lab.
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def existing_namespaces(self) -> list[str]:
        """Namespaces that currently exist with this lab's prefix (empty after :meth:`close`)."""
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
        return [ln.split()[0] for ln in out.splitlines() if ln.strip() and ln.split()[0].startswith(self.prefix)]


def _terminate(proc: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM the process's own session (started with start_new_session), then SIGKILL if needed."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the session, e.g. forked daemons
    with contextlib.suppress(Exception):
        proc.wait(timeout=2)
    for stream in (proc.stdout, proc.stderr, proc.stdin):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
