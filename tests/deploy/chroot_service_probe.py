"""Start notaus inside the throwaway root exactly as the installed unit says, poke it over HTTPS, stop it.

Run by ``test_install_chroot`` with the installed venv's Python, inside the chroot and inside a private
network namespace that has only loopback (``chroot-test.sh run --net``), so the service cannot reach
for the real router. It reads ``User=``, ``Group=``, ``WorkingDirectory=``, ``Environment=``,
``UMask=`` and ``ExecStart=`` from /etc/systemd/system/notaus.service and starts that command line
with the unit's user (``setpriv``, no new privileges), adding only ``--listen 127.0.0.1:PORT``. Only
the standard library is used, so a broken venv shows up as a failed service, not as a failed probe.

Prints one JSON document with what it saw; the test makes the assertions.

    python chroot_service_probe.py STAFF_TOKEN
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

UNIT = "/etc/systemd/system/notaus.service"
PORT = 8443
START_TIMEOUT = 60.0


def unit_settings(path: str = UNIT) -> dict[str, str]:
    """The [Service] keys of the installed unit (last assignment wins, Environment= lines joined)."""
    out: dict[str, str] = {}
    section = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                out[key] = f"{out[key]} {value}" if key == "Environment" and key in out else value
    return out


def get(url: str, ctx: ssl.SSLContext, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")


def served_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=10)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest().hex(":").upper()


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def proc_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main(staff_token: str) -> dict[str, Any]:
    unit = unit_settings()
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for assignment in shlex.split(unit.get("Environment", "")):
        key, _, value = assignment.partition("=")
        env[key] = value
    argv = [*shlex.split(unit["ExecStart"]), "--listen", f"127.0.0.1:{PORT}"]
    cmd = ["setpriv", f"--reuid={unit['User']}", f"--regid={unit.get('Group', unit['User'])}", "--init-groups",
           "--no-new-privs", "--", *argv]
    os.umask(int(unit.get("UMask", "0022"), 8))
    log_path = "/tmp/notaus-probe.log"
    result: dict[str, Any] = {"argv": argv}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=unit.get("WorkingDirectory", "/"), env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        result["listening"] = wait_listening(PORT, proc)
        if result["listening"]:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE     # self-signed: trust comes from the fingerprint, as on the tablet
            base = f"https://127.0.0.1:{PORT}"
            result["uid"] = proc_uid(proc.pid)
            result["fingerprint"] = served_fingerprint(PORT)
            result["healthz"] = get(f"{base}/healthz", ctx)[0]
            code, body = get(f"{base}/api/v1/status", ctx, {"Authorization": f"Bearer {staff_token}"})
            result["status_with_token"] = code
            result["status_keys"] = sorted(json.loads(body)) if code == 200 else body[:500]
            result["status_without_token"] = get(f"{base}/api/v1/status", ctx)[0]
            code, body = get(f"{base}/login", ctx)
            result["login"] = code
            result["login_links_css"] = "app.css" in body
            result["css"] = get(f"{base}/static/app.css", ctx)[0]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        result["exit_code"] = proc.returncode
        with open(log_path, encoding="utf-8", errors="replace") as f:
            result["log_tail"] = f.read()[-3000:]
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
