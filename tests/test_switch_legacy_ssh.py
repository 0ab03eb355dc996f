"""Legacy SSH per device, proven against a real OpenSSH sshd on 127.0.0.1 that offers only what old switches
offer: ``KexAlgorithms diffie-hellman-group14-sha1`` and ``HostKeyAlgorithms ssh-rsa``.

Debian's OpenSSH (9.x) still has both, switched off by default, so a config can switch them on. sshd runs in
its own mount namespace (``unshare -m`` + tmpfs on /run for its privilege-separation directory) so nothing on
the host changes; it listens on a free loopback port only. Needs root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from notaus.drivers.base import DriverError
from notaus.drivers.netmiko_switch import NetmikoSwitchDriver

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists()
                                or shutil.which("unshare") is None or shutil.which("ssh-keygen") is None,
                                reason="needs root, /usr/sbin/sshd, unshare and ssh-keygen")
HAS_SHA1_KEX = "diffie-hellman-group14-sha1" in paramiko.Transport._kex_info


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def old_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    d = tmp_path_factory.mktemp("legacy-sshd")
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(d / "host_rsa")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client")], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port = _free_port()
    conf = d / "sshd_config"
    conf.write_text("\n".join([
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {d / 'host_rsa'}",
        "KexAlgorithms diffie-hellman-group14-sha1", "HostKeyAlgorithms ssh-rsa",
        "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes", f"AuthorizedKeysFile {d / 'authorized_keys'}", "StrictModes no",
        "UsePAM no", "PidFile none", "PrintMotd no", "Banner none", ""]))
    check = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            f"mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && /usr/sbin/sshd -t -f {conf}"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"this OpenSSH rejects the legacy settings: {check.stderr.strip()}")
    script = f"mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f {conf}"
    log = (d / "sshd.log").open("w")
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"sshd ended: {(d / 'sshd.log').read_text()[-1500:]}")
                time.sleep(0.1)
        yield port, d / "client"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _driver(port: int, key: Path, legacy: bool) -> NetmikoSwitchDriver:
    return NetmikoSwitchDriver("old-sw", "127.0.0.1", port=port, user="root", timeout=8,
                               options={"device_type": "linux", "key_file": str(key), "legacy_ssh": legacy})


def test_without_the_setting_the_error_names_the_mismatch_and_the_setting(old_sshd: tuple[int, Path]) -> None:
    drv = _driver(*old_sshd, legacy=False)
    with pytest.raises(DriverError) as err:
        drv._run(lambda conn: conn.send_command("echo hello"), change=False)
    msg = str(err.value)
    assert err.value.kind == "not_supported"          # permanent: not retried, not "check the cable"
    assert "no common key exchange algorithm" in msg and "options.legacy_ssh: true" in msg
    assert "check cable" not in msg


@pytest.mark.skipif(not HAS_SHA1_KEX, reason="installed paramiko has no SHA-1 kex (see the next test)")
def test_legacy_ssh_logs_in_to_a_sha1_only_server(old_sshd: tuple[int, Path]) -> None:
    drv = _driver(*old_sshd, legacy=True)
    try:
        out = drv._run(lambda conn: conn.send_command("echo legacy-$((20+22))"), change=False)
        assert "legacy-42" in out
        transport = drv._conn.remote_conn.get_transport()
        assert transport.host_key_type == "ssh-rsa"   # the only kex the server offers is group14-sha1
    finally:
        drv.close()


@pytest.mark.skipif(HAS_SHA1_KEX, reason="installed paramiko still has SHA-1 kex")
def test_legacy_ssh_on_a_paramiko_without_sha1_says_what_to_install(old_sshd: tuple[int, Path]) -> None:
    with pytest.raises(DriverError, match="paramiko < 5"):
        _driver(*old_sshd, legacy=True)._run(lambda conn: conn.send_command("echo x"), change=False)
