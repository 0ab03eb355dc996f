"""What `make run` and `make test` would install, read from make's own dry run of the real Makefile.

`make run` must set up only what running notaus needs (runtime dependencies, python3-venv where it
is missing); the test tooling (`.[test]` extras, Chromium, the lab's Debian packages) belongs to
`make test`. `make -n` prints every command a target would run, without running any.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not shutil.which("make") or not shutil.which("sha1sum"), reason="needs make")


def dry_run(target: str, tmp_path: Path) -> str:
    """Commands of ``target`` for a checkout without a venv yet (a fresh clone)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under `make test`
    proc = subprocess.run(["make", "-s", "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_run_installs_no_test_tooling(tmp_path: Path) -> None:
    run = dry_run("run", tmp_path)
    assert "pip install --quiet -e .\n" in run and "run-deps.sh" in run
    assert "[test]" not in run and "test-deps.sh" not in run and "lab-deps.sh" not in run, run
    assert "serve --with-simulator" in run


def test_make_test_adds_the_test_tooling(tmp_path: Path) -> None:
    test = dry_run("test", tmp_path)
    assert "pip install --quiet -e .\n" in test and "test-deps.sh" in test
    assert "pip install --quiet -e '.[test]'" in test
    assert test.index("-e .\n") < test.index("'.[test]'") < test.index("-m pytest")


def test_make_clean_removes_the_caches(tmp_path: Path) -> None:
    clean = dry_run("clean", tmp_path)
    for cache in (".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache", "test-artifacts"):
        assert cache in clean.split(), cache
