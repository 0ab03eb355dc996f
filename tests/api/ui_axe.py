"""axe-core (npm) for the browser tests: fetched once into ``build/npm-axe`` (git-ignored), never shipped.

The UI itself ships its own assets and loads nothing from a CDN; axe is injected by the test through
the DevTools protocol (``page.evaluate``), which the page's CSP does not govern.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / "build" / "npm-axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.1 A/AA and axe's best practices (landmarks, one h1, headings in order)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def axe_source() -> str:
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot fetch axe-core for the accessibility check")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--silent",
                        "axe-core@4"], check=True, timeout=600, capture_output=True)
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (ids, impact and the first offending nodes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
           }""", AXE_TAGS)
    return result
