"""The default install (real venv, ``pip install`` from PyPI) on a fresh Debian bookworm, as CI runs it.

``deploy/chroot-test.sh`` makes a minimal bookworm root with debootstrap (cached as a tarball in
/var/cache/notaus-test, so only the first run on a machine pays for it); the repository is copied in and
``deploy/install.sh --provider-key KEY --no-start`` runs inside it unchanged: no ``--root``, no
``--link-source``; python3-venv comes from apt, the packages from PyPI. Then, all inside the root: the venv works,
secrets belong to the ``notaus`` user with mode 0600, the first tokens are printed once and verify,
``systemd-analyze verify``/``security`` accept the unit, the service starts the way the unit says (as
``notaus``, in a network namespace with only loopback) and answers over HTTPS with the certificate whose
fingerprint install.sh printed, and upgrade, backup/restore, uninstall and ``--purge`` behave.

Skips (with the reason) when not root, or when debootstrap, the Debian mirror or PyPI cannot be had
here; every network step is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROOT_TEST = REPO / "deploy" / "chroot-test.sh"
SRC_IN_ROOT = "/usr/local/src/notaus"          # where a provider would clone it
VENV = "/opt/notaus/venv"
NOTAUS = f"{VENV}/bin/notaus"
TOKEN_LINE = re.compile(r"^([A-Za-z0-9_-]{40,})$", re.M)
SKIP = 77                                       # chroot-test.sh: cannot be done on this machine

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: debootstrap, chroot and the installer's useradd/chown"),
    pytest.mark.lab,
    pytest.mark.timeout(1500),  # the first test also builds the cached root (cold: ~2-3 minutes)
]


def run_bounded(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``cmd`` in its own process group; on timeout (or pytest-timeout) the whole group is killed, so no
    debootstrap or pip is left running behind a failed test."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@dataclass
class Box:
    """A prepared bookworm root with notaus installed by install.sh's default mode."""

    root: Path
    install_out: str
    uid: int
    gid: int

    def run(self, *argv: str, net: bool = False, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """``argv`` inside the root (own mount/PID namespace; ``net``: own network namespace too)."""
        cmd = [str(CHROOT_TEST), "run", str(self.root), *(["--net"] if net else []), "--", *argv]
        proc = run_bounded(cmd, timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{argv} in the root failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")


def copy_repo(dest: Path) -> None:
    """The files git knows (tracked and new, not ignored) as they are in the work tree; else the tree
    without the usual build and state directories."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
                             capture_output=True, check=True, timeout=60).stdout.decode()
        names = [n for n in out.split("\0") if n and (REPO / n).is_file()]
    except (OSError, subprocess.SubprocessError):
        names = []
    if not names:
        skip = {".git", ".venv", "var", "test-artifacts", "__pycache__", ".mypy_cache", ".ruff_cache",
                ".pytest_cache", ".hypothesis", "bench-results"}
        names = [str(p.relative_to(REPO)) for p in REPO.rglob("*")
                 if p.is_file() and not skip.intersection(p.relative_to(REPO).parts)]
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def box() -> Iterator[Box]:
    root = Path(tempfile.mkdtemp(prefix="notaus-chroot-", dir="/var/tmp"))
    try:
        prep = run_bounded([str(CHROOT_TEST), "prepare", str(root)], timeout=840)
        if prep.returncode == SKIP:
            pytest.skip(prep.stderr.strip().splitlines()[-1] if prep.stderr.strip() else "chroot unavailable")
        assert prep.returncode == 0, prep.stderr
        copy_repo(root / SRC_IN_ROOT.lstrip("/"))
        sys.path.insert(0, str(REPO))
        from notaus.policies.signing import generate_keypair

        generate_keypair(root / "root" / "it-mueller")
        new = Box(root, "", -1, -1)
        inst = new.run(f"{SRC_IN_ROOT}/deploy/install.sh", "--provider-key", "/root/it-mueller.pub", "--no-start",
                       timeout=600)
        new.install_out = inst.stdout
        entry = next(ln for ln in (root / "etc/passwd").read_text().splitlines() if ln.startswith("notaus:"))
        new.uid, new.gid = int(entry.split(":")[2]), int(entry.split(":")[3])
        yield new
    finally:
        subprocess.run([str(CHROOT_TEST), "cleanup", str(root)], timeout=300, check=False)


def test_default_install_is_a_real_venv_that_works(box: Box) -> None:
    # the root is a fresh bookworm with python3 but without python3-venv: install.sh fetched it itself
    assert "notaus: installing Debian packages: python3-venv" in box.install_out, box.install_out
    cfg = box.path(f"{VENV}/pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg, cfg
    # the package itself lives in the venv (not a link to the source tree), with its data files
    where = box.run(f"{VENV}/bin/python", "-c",
                    "import notaus.controller as c, notaus.api as a; print(c.__file__, a.__file__)")
    assert all(p.startswith(f"{VENV}/lib/python3.11/site-packages/notaus/") for p in where.stdout.split()), where.stdout
    # one namespaced package: nothing named api, controller, drivers or policies at the top of site-packages
    for top in ("api", "controller", "drivers", "policies"):
        bare = box.run(f"{VENV}/bin/python", "-c", f"import {top}", check=False)
        assert bare.returncode != 0 and "No module named" in bare.stderr, (top, bare.stderr)
    site = box.path(f"{VENV}/lib/python3.11/site-packages/notaus")
    for data in ("api/templates/base.html", "api/templates/incidents/detail.html", "api/static/app.css",
                 "policies/default.yaml", "drivers/sim/data/fritzbox7590_description.json"):
        assert (site / data).is_file(), data
    assert not list(box.path("/opt/notaus/src").glob("*.egg-info")) and not box.path("/opt/notaus/src/build").exists()
    assert "usage: notaus" in box.run(NOTAUS, "--help").stdout
    check = box.run(NOTAUS, "policy", "check", "/etc/notaus/policy.yaml")
    assert check.stdout.startswith("OK: /etc/notaus/policy.yaml"), check.stdout
    assert box.run(f"{VENV}/bin/python", "-m", "pip", "check").returncode == 0
    # every module of the four packages imports with only the declared dependencies installed
    walk = ("import importlib, pkgutil\nbad = []\n"
            "for top in ('notaus.controller', 'notaus.api', 'notaus.drivers', 'notaus.policies'):\n"
            "    for m in pkgutil.walk_packages(importlib.import_module(top).__path__, top + '.'):\n"
            "        try:\n            importlib.import_module(m.name)\n"
            "        except Exception as exc:\n            bad.append(f'{m.name}: {exc!r}')\n"
            "print('\\n'.join(bad))\n")
    assert box.run(f"{VENV}/bin/python", "-c", walk).stdout.strip() == ""


def test_user_and_secrets(box: Box) -> None:
    entry = next(ln for ln in box.path("/etc/passwd").read_text().splitlines() if ln.startswith("notaus:"))
    assert entry.endswith(":/var/lib/notaus:/usr/sbin/nologin") and box.uid < 1000, entry
    assert re.search(rf"^notaus:x:{box.gid}:$", box.path("/etc/group").read_text(), re.M)
    for secret in ("/etc/notaus/policy.yaml", "/etc/notaus/tls/key.pem", "/etc/notaus/secrets/fritzbox.password",
                   "/var/lib/notaus/tokens.sqlite"):
        st = box.path(secret).lstat()
        assert (mode(box.path(secret)), st.st_uid, st.st_gid) == (0o600, box.uid, box.gid), secret
    for directory, want in (("/etc/notaus", 0o750), ("/etc/notaus/secrets", 0o700), ("/etc/notaus/tls", 0o700),
                            ("/var/lib/notaus", 0o750)):
        assert mode(box.path(directory)) == want and box.path(directory).stat().st_uid == box.uid, directory
    assert mode(box.path("/etc/notaus/tls/cert.pem")) == 0o644
    pinned = box.path("/etc/notaus/provider_keys/it-mueller.pub")
    assert pinned.read_bytes() == (box.root / "root/it-mueller.pub").read_bytes()
    # root-only elsewhere in the box: the secrets are not readable by an ordinary account
    probe = box.run("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat",
                    "/etc/notaus/secrets/fritzbox.password", check=False)
    assert probe.returncode != 0 and "Permission denied" in probe.stderr


def test_first_tokens_printed_once_and_verify(box: Box) -> None:
    tokens = TOKEN_LINE.findall(box.install_out)
    assert len(tokens) == 2, box.install_out
    verify = ("import sys\nfrom notaus.api.auth import TokenStore\ns = TokenStore('/var/lib/notaus/tokens.sqlite')\n"
              "print([s.verify(t) for t in sys.argv[1:]])\n")
    out = box.run(f"{VENV}/bin/python", "-c", verify, *tokens, tokens[0][:-1] + ("A" if tokens[0][-1] != "A" else "B"))
    assert out.stdout.strip() == "[('praxis', 'staff'), ('it-dienstleister', 'provider'), None]", out.stdout
    cert = box.path("/etc/notaus/tls/cert.pem").read_bytes()
    # a repair run, this time without --no-start: no systemd runs in the root (as when building an SD-card
    # image), so the unit is enabled for the next boot instead of failing on daemon-reload/start
    again = box.run(f"{SRC_IN_ROOT}/deploy/install.sh", timeout=600)
    assert not TOKEN_LINE.findall(again.stdout), "tokens must be printed only once"
    assert "enabled, starts at the next boot" in again.stdout, again.stdout
    assert box.path("/etc/systemd/system/multi-user.target.wants/notaus.service").is_symlink()
    assert box.path("/etc/notaus/tls/cert.pem").read_bytes() == cert
    assert len(re.findall(r"^notaus:", box.path("/etc/passwd").read_text(), re.M)) == 1


def test_systemd_accepts_the_unit(box: Box) -> None:
    unit = "/etc/systemd/system/notaus.service"
    assert box.path(unit).read_bytes() == (REPO / "deploy/notaus.service").read_bytes()
    ok = box.run("systemd-analyze", "verify", unit, check=False)
    assert ok.returncode == 0 and "notaus" not in ok.stderr, ok.stderr
    # the same check on a unit whose program is missing fails: verify really looks into the box
    broken = box.path("/etc/systemd/system/notaus-broken.service")
    broken.write_text(box.path(unit).read_text().replace(f"ExecStart={NOTAUS} ", f"ExecStart={VENV}/bin/gone "))
    try:
        bad = box.run("systemd-analyze", "verify", "/etc/systemd/system/notaus-broken.service", check=False)
        assert bad.returncode != 0 and "gone" in bad.stderr, bad.stderr
    finally:
        broken.unlink()
    # exposure on systemd's 0-10 scale; --threshold is the same in tenths (fails above 5.0)
    sec = box.run("systemd-analyze", "security", "--offline=yes", "--threshold=50", unit, check=False)
    level = re.search(r"Overall exposure level for notaus\.service: ([\d.]+)", sec.stdout)
    assert sec.returncode == 0 and level and float(level.group(1)) <= 5.0, sec.stdout[-2000:] + sec.stderr


def test_service_starts_as_the_unit_says(box: Box) -> None:
    staff = TOKEN_LINE.findall(box.install_out)[0]
    printed = re.search(r"^notaus:\s+((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$", box.install_out, re.M)
    assert printed, box.install_out
    out = box.run(f"{VENV}/bin/python", f"{SRC_IN_ROOT}/tests/deploy/chroot_service_probe.py", staff, net=True,
                  timeout=180)
    seen = json.loads(out.stdout)
    assert seen["listening"], seen["log_tail"]
    assert seen["uid"] == box.uid
    assert seen["fingerprint"] == printed.group(1)
    assert seen["healthz"] == 200, seen
    assert seen["status_with_token"] == 200 and "contained" in seen["status_keys"], seen
    assert seen["status_without_token"] == 401, seen
    assert seen["login"] == 200 and seen["login_links_css"] and seen["css"] == 200, seen
    assert seen["exit_code"] in (0, -15), seen["log_tail"]
    journal = box.path("/var/lib/notaus/journal.sqlite")
    assert journal.stat().st_uid == box.uid and mode(journal) == 0o600
    verified = box.run(NOTAUS, "--config", "/etc/notaus/policy.yaml", "--json", "journal", "verify")
    assert json.loads(verified.stdout)["ok"] is True



@pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdffonts"), reason="needs poppler-utils")
def test_pdf_report_renders_with_what_install_sh_installed(box: Box) -> None:
    # the box has no Chromium and no DejaVu fonts (minbase): the report must come out of the venv alone.
    # Its own state directory, so the service's /var/lib/notaus stays owned by the notaus user.
    policy = box.path("/etc/notaus/policy.yaml").read_text()
    assert "state_dir: /var/lib/notaus" in policy
    box.path("/root/pdf-policy.yaml").write_text(policy.replace("state_dir: /var/lib/notaus",
                                                                "state_dir: /root/pdf-state"))
    assert not box.path("/usr/bin/chromium").exists() and not box.path("/usr/share/fonts/truetype/dejavu").exists()
    cfg = ("--config", "/root/pdf-policy.yaml")
    box.run(NOTAUS, *cfg, "incident", "open")
    box.run(NOTAUS, *cfg, "incident", "note", "current", "Lösegeldforderung am Empfang – Größe unbekannt")
    out = box.run(NOTAUS, *cfg, "--json", "incident", "report", "current", "--format", "pdf", "-o", "/root/bericht.pdf")
    written = json.loads(out.stdout)
    assert written["file"] == "/root/bericht.pdf" and written["format"] == "pdf", written
    pdf = box.path("/root/bericht.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True,
                                   timeout=60).stdout.split())
    assert "Vorfallbericht" in text and "Lösegeldforderung am Empfang – Größe unbekannt" in text, text[:2000]
    assert written["journal_head"] in text.replace(" ", "")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "BitstreamVeraSans" in fonts, fonts             # the font shipped in the ReportLab wheel, embedded
    doctor = box.run(f"{VENV}/bin/python", "-c", "from notaus.controller.doctor import check_pdf; l = check_pdf(); "
                     "print(l.status, l.detail)")
    assert doctor.stdout.startswith("ok ") and "Bitstream Vera" in doctor.stdout, doctor.stdout

def test_upgrade_from_a_newer_tree_keeps_state(box: Box) -> None:
    v2 = box.path(SRC_IN_ROOT + "-v2")
    shutil.copytree(box.path(SRC_IN_ROOT), v2, symlinks=True)
    with (v2 / "controller/__init__.py").open("a") as f:
        f.write('\nUPGRADE_PROBE = "v2"\n')
    tokens_before = box.path("/var/lib/notaus/tokens.sqlite").read_bytes()
    cert_before = box.path("/etc/notaus/tls/cert.pem").read_bytes()
    up = box.run(f"{SRC_IN_ROOT}-v2/deploy/upgrade.sh", "--source", f"{SRC_IN_ROOT}-v2", timeout=600)
    assert "notaus: upgraded" in up.stdout and "Failed to connect to bus" not in up.stderr, up.stderr
    assert list(box.path("/var/lib/notaus/backups").glob("pre-upgrade-*.tar.gz"))
    new = box.run(f"{VENV}/bin/python", "-c", "import notaus.controller as c; print(c.UPGRADE_PROBE)")
    assert new.stdout.strip() == "v2"
    assert box.path("/var/lib/notaus/tokens.sqlite").read_bytes() == tokens_before
    assert box.path("/etc/notaus/tls/cert.pem").read_bytes() == cert_before
    assert not TOKEN_LINE.findall(up.stdout)


def test_backup_and_restore_inside_the_box(box: Box) -> None:
    append = ("from notaus.controller.journal import Journal\nj = Journal('/var/lib/notaus/journal.sqlite')\n"
              "j.append('test.before_backup', {'n': 1}, actor='test')\nh = j.head()\nprint(h.seq, h.hash)\n")
    seq, head = box.run(f"{VENV}/bin/python", "-c", append).stdout.split()
    box.run(f"{SRC_IN_ROOT}/deploy/backup.sh", "-o", "/root/b.tar.gz")
    assert mode(box.path("/root/b.tar.gz")) == 0o600
    box.path("/var/lib/notaus/tokens.sqlite").unlink()
    box.path("/var/lib/notaus/journal.sqlite").unlink()
    back = box.run(f"{SRC_IN_ROOT}/deploy/restore.sh", "/root/b.tar.gz")      # no systemd here: nothing to start
    assert f"notaus: journal OK: {seq} entries, head {head}" in back.stdout, back.stdout
    tokens = box.path("/var/lib/notaus/tokens.sqlite")
    assert tokens.is_file() and tokens.stat().st_uid == box.uid


def test_uninstall_keeps_evidence_and_purge_removes_all(box: Box) -> None:
    box.run("systemctl", "enable", "notaus.service")          # offline in the root, as on an image
    assert box.path("/etc/systemd/system/multi-user.target.wants/notaus.service").is_symlink()
    box.run(f"{SRC_IN_ROOT}/deploy/uninstall.sh")
    assert not box.path("/opt/notaus").exists() and not box.path("/etc/systemd/system/notaus.service").exists()
    assert not box.path("/etc/systemd/system/multi-user.target.wants/notaus.service").is_symlink()
    assert box.path("/var/lib/notaus/journal.sqlite").exists() and box.path("/etc/notaus/policy.yaml").exists()
    assert re.search(r"^notaus:", box.path("/etc/passwd").read_text(), re.M)
    box.run(f"{SRC_IN_ROOT}/deploy/uninstall.sh", "--purge")
    assert not box.path("/var/lib/notaus").exists() and not box.path("/etc/notaus").exists()
    assert not re.search(r"^notaus:", box.path("/etc/passwd").read_text(), re.M)
    assert not re.search(r"^notaus:", box.path("/etc/group").read_text(), re.M)
