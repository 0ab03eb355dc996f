"""docs/ARCHITECTURE.md says what the code does: every journal kind the code writes is listed there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _written_kinds() -> set[str]:
    """First arguments (string literals, or the literal head of an f-string) of journal appends."""
    kinds: set[str] = set()
    for pkg in ("controller", "api", "policies"):
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                    continue
                owner = ast.unparse(node.func.value)
                if not ((node.func.attr == "append" and "journal" in owner) or node.func.attr == "_journal"):
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    kinds.add(first.value)
                elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                    kinds.add(str(first.values[0].value) + "*")
    return kinds


def _documented() -> tuple[set[str], set[str]]:
    """Kinds named in the doc (``a.b|c`` -> a.b, a.c) and the prefixes it covers with ``x.*``."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for token in re.findall(r"`([a-z_]+(?:\.[a-z_*|]+)?)`", DOC.read_text(encoding="utf-8")):
        head, _, tail = token.partition(".")
        if tail == "*":
            prefixes.add(head + ".")
            continue
        names.add(head)
        for part in tail.split("|") if tail else []:
            names.add(f"{head}.{part}")
    return names, prefixes


def test_the_kinds_are_read() -> None:
    assert {"panic.request", "device.result", "checklist.tick"} <= _written_kinds()


def test_every_journal_kind_is_documented() -> None:
    names, prefixes = _documented()
    missing = sorted(k for k in _written_kinds()
                     if k.rstrip("*") not in names and not any(k.startswith(p) for p in prefixes))
    assert missing == [], f"journal kinds missing in docs/ARCHITECTURE.md: {missing}"
