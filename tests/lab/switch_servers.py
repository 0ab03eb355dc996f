"""Real switch-side servers for tests and benchmarks: snmpd with the bridge FDB pass_persist script,
sshd in the lab's switch namespace, and the fake vendor CLI mapped to bridge ports.

Why here: unit tests (loopback snmpd), the lab tests and ``bench/bench_switch.py`` start the same
servers the same way. Nothing touches the host: loopback snmpd serves a simulated port model (the
IF-MIB modules of snmpd are switched off, so a SET can never reach a host interface); the lab
servers run inside the lab's switch namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PASS_SCRIPT = REPO_ROOT / "drivers" / "sim" / "bridge_fdb_passpersist.py"
RW_COMMUNITY = "notaus-rw"
V3_USER, V3_AUTH, V3_PRIV = "notausv3", "authpass-123", "privpass-123"


def snmpd_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "snmpd tests need root (snmpd runs as root), run the suite as root"
    if shutil.which("snmpd") is None:
        return "snmpd is not installed (apt-get install snmpd)"
    return None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def snmpd_conf(listen: str, pass_args: list[str], *, if_mib: bool) -> str:
    """snmpd.conf: write community + v3 authPriv user, BRIDGE-MIB (and, simulated, IF-MIB) via pass_persist."""
    cmd = " ".join([sys.executable, str(PASS_SCRIPT), *pass_args])
    lines = [f"agentAddress udp:{listen}", f"rwcommunity {RW_COMMUNITY} default",
             f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"', f"rwuser {V3_USER} priv",
             f"pass_persist .1.3.6.1.2.1.17 {cmd}"]
    if if_mib:
        lines += [f"pass_persist .1.3.6.1.2.1.2.2 {cmd}", f"pass_persist .1.3.6.1.2.1.31.1.1.1.1 {cmd}"]
    return "\n".join(lines) + "\n"


class LoopbackSnmpd:
    """A real snmpd on 127.0.0.1:<free port> serving a simulated switch from a JSON state file."""

    def __init__(self, ports: dict[int, dict[str, Any]], *, ignore_sets: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="notaus-snmpd-"))
        self.state_path = self.dir / "state.json"
        self.write_state({"ports": {str(k): v for k, v in ports.items()}, "ignore_sets": ignore_sets})
        self.port = free_udp_port()
        conf = self.dir / "snmpd.conf"
        conf.write_text(snmpd_conf(f"127.0.0.1:{self.port}", ["--state", str(self.state_path)], if_mib=True))
        env = dict(os.environ, SNMP_PERSISTENT_DIR=str(self.dir / "persist"), MIBS="")
        self.log = self.dir / "snmpd.log"
        # -I: no IF-MIB/interfaces modules of snmpd itself, so no SET can ever reach a host interface.
        self.proc = subprocess.Popen(
            ["snmpd", "-f", "-C", "-c", str(conf), "-Lf", str(self.log), "-M", str(self.dir), "-m", "",
             "-I", "-ifTable,ifXTable,interfaces", "-p", str(self.dir / "pid")],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"snmpd exited: {self.log.read_text(errors='replace')[-2000:]}")
            out = subprocess.run(["snmpget", "-v2c", "-c", RW_COMMUNITY, "-t", "0.3", "-r", "0", "-On",
                                  f"127.0.0.1:{self.port}", ".1.3.6.1.2.1.17.1.2.0"],
                                 capture_output=True, text=True, check=False, env=dict(os.environ, MIBS=""))
            if out.returncode == 0 and "INTEGER" in out.stdout:
                return
            time.sleep(0.1)
        self.close()
        raise RuntimeError("snmpd did not answer within 10 s")

    def read_state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def write_state(self, data: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state_path)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=3)
        shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------------------------------- lab servers
#: fake IOS interface names for the lab's bridge ports
IOS_PORT_MAP = {"Gi1/0/1": "ctrl", "Gi1/0/2": "ws1", "Gi1/0/3": "ws2", "Gi1/0/4": "phone", "Gi1/0/5": "ti",
                "Gi1/0/24": "uplink"}
FAKE_CLI_PORT = 2201


def start_lab_fake_cli(lab: Any, dialect: str = "ios", *, descriptions: dict[str, str] | None = None,
                       listen_port: int | None = None) -> Any:
    """The fake vendor CLI inside the switch namespace, driving the real bridge ports.

    ``descriptions`` maps a Linux bridge port to the description the fake switch shows in its column.
    """
    mapping = IOS_PORT_MAP if dialect == "ios" else {str(i + 1): p for i, p in enumerate(IOS_PORT_MAP.values())}
    tcp = listen_port or (FAKE_CLI_PORT if dialect == "ios" else FAKE_CLI_PORT + 1)
    args = [sys.executable, "-m", "notaus.drivers.sim.fake_switch_cli", "--dialect", dialect,
            "--listen", f"{lab.switch_ip}:{tcp}", "--bridge", "br0"]
    for vendor, linux in mapping.items():
        args += ["--map", f"{vendor}={linux}"]
        if descriptions and linux in descriptions:
            args += ["--describe", f"{vendor}={descriptions[linux]}"]
    proc = lab.popen(lab.SWITCH, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening"):
        raise RuntimeError(f"fake CLI did not start: {line!r} {proc.stderr.read() if proc.poll() else ''}")
    return proc


def start_lab_snmpd(lab: Any) -> Any:
    """A real snmpd (root) in the switch namespace: IF-MIB of the namespace + bridge FDB pass_persist."""
    assert lab.workdir is not None
    workdir = Path(lab.workdir) / "snmpd"
    workdir.mkdir(exist_ok=True)
    conf = workdir / "snmpd.conf"
    conf.write_text(snmpd_conf(f"{lab.switch_ip}:161", ["--bridge", "br0"], if_mib=False))
    env = dict(lab.env, SNMP_PERSISTENT_DIR=str(workdir / "persist"), MIBS="")
    proc = lab.popen(lab.SWITCH, "snmpd", "-f", "-C", "-c", str(conf), "-Lf", str(workdir / "log"),
                     "-M", str(workdir), "-m", "", "-p", str(workdir / "pid"), env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = lab.run(lab.SWITCH, "snmpget", "-v2c", "-c", RW_COMMUNITY, "-t", "0.3", "-r", "0", "-On",
                      f"{lab.switch_ip}:161", ".1.3.6.1.2.1.17.1.2.0", check=False, env=dict(lab.env, MIBS=""))
        if out.returncode == 0 and "INTEGER" in out.stdout:
            return proc
        time.sleep(0.2)
    raise RuntimeError(f"snmpd in the switch namespace did not answer: {(workdir / 'log').read_text()[-1500:]}")


def start_lab_sshd(lab: Any) -> tuple[Any, Path]:
    """Real OpenSSH in the switch namespace: private /run (``unshare -m`` + tmpfs), own host key and
    config in the lab workdir, root by key only (``PermitRootLogin prohibit-password``), listening on
    the switch's management address only. Returns (process, client key file)."""
    assert lab.workdir is not None
    d = Path(lab.workdir) / "sshd"
    d.mkdir(exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True,
                       capture_output=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    conf = d / "sshd_config"
    conf.write_text("\n".join([
        f"ListenAddress {lab.switch_ip}", "Port 22", f"HostKey {d / 'host_key'}",
        "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes", f"AuthorizedKeysFile {d / 'authorized_keys'}", "StrictModes no",
        "UsePAM no", "PidFile none", "PrintMotd no", "Banner none", ""]))
    script = ("mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && chmod 755 /run/sshd && "
              f"exec /usr/sbin/sshd -D -e -f {conf}")
    proc = lab.popen(lab.SWITCH, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = lab.run_python("ctrl", f"import socket; socket.create_connection(('{lab.switch_ip}', 22), 1)",
                               check=False)
        if probe.returncode == 0:
            return proc, d / "client_key"
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"sshd in the switch namespace did not start: {lab.log_of(proc)[-1500:]}")
