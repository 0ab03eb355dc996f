"""The pinned install set covers every runtime dependency, so the install is the same on every box."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_runtime_dependency_is_pinned() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {}
    for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[name.lower().replace("_", "-")] = version
    missing = sorted(_name(d) for d in deps if _name(d) not in pins)
    assert not missing, f"run 'make constraints': not pinned: {missing}"


def test_install_script_uses_the_pins() -> None:
    assert "deploy/constraints.txt" in (ROOT / "deploy" / "install.sh").read_text()
