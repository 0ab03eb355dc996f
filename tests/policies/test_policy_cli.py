"""`notaus policy …` through the real command line (subprocess), as a provider would type it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .policy_helpers import policy_text

REPO = Path(__file__).resolve().parents[2]


def notaus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NOTAUS_ACTOR": "test-provider"}
    env.pop("NOTAUS_PROVIDER_KEYS", None)
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_check_reports_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "praxis.yaml"
    bad.write_text(policy_text(1) + "guardrails:\n  max_auto_isolations: -1\n  protectd_roles: []\n")
    n = len(policy_text(1).splitlines())
    res = notaus("policy", "check", str(bad), cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert f"{bad}:{n + 2}: guardrails.max_auto_isolations: Input should be greater than or equal to 0" in lines
    assert f"{bad}:{n + 3}: guardrails.protectd_roles: unknown key (typo?)" in lines
    js = notaus("policy", "check", str(bad), "--json", cwd=tmp_path)
    doc = json.loads(js.stdout)
    assert doc["ok"] is False
    assert {"file": str(bad), "line": n + 3, "key": "guardrails.protectd_roles",
            "message": "unknown key (typo?)"} in doc["problems"]


def test_shipped_policies_pass_check(tmp_path: Path) -> None:
    for name in ("default.yaml", "demo.yaml"):
        res = notaus("policy", "check", str(REPO / "policies" / name), "--json", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["ok"] is True
    demo = json.loads(notaus("policy", "check", str(REPO / "policies/demo.yaml"), "--json", cwd=tmp_path).stdout)
    assert "ti-konnektor" in demo["protected"]


def test_keygen_sign_diff_apply_show_rollback(tmp_path: Path) -> None:
    (tmp_path / "installed.yaml").write_text(policy_text(1))
    cfg = ["--config", str(tmp_path / "installed.yaml")]
    assert notaus("policy", "keygen", "--out", str(tmp_path / "prov"), cwd=tmp_path).returncode == 0
    assert (tmp_path / "prov.key").stat().st_mode & 0o077 == 0
    keys = tmp_path / "var" / "provider_keys"
    keys.mkdir(parents=True)
    (keys / "prov.pub").write_bytes((tmp_path / "prov.pub").read_bytes())

    new = tmp_path / "praxis-v2.yaml"
    new.write_text(policy_text(2, isolate_score=0.8,
                               extra_hosts="  - {name: ti-konnektor, ip: 192.168.178.5, role: ti-konnektor}\n"))
    diff = notaus(*cfg, "policy", "diff", str(new), "--lang", "en", cwd=tmp_path)
    assert diff.returncode == 0
    assert "auto-isolate threshold 0.9 → 0.8" in diff.stdout.splitlines()
    assert "new protected host ti-konnektor (ti-konnektor, 192.168.178.5)" in diff.stdout.splitlines()

    signed = notaus("policy", "sign", "--key", str(tmp_path / "prov.key"), str(new), "-o",
                    str(tmp_path / "b2.json"), cwd=tmp_path)
    assert signed.returncode == 0, signed.stderr
    applied = notaus(*cfg, "policy", "apply", str(tmp_path / "b2.json"), "--json", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["version"] == 2
    again = notaus(*cfg, "policy", "apply", str(tmp_path / "b2.json"), "--json", cwd=tmp_path)
    assert again.returncode == 1 and json.loads(again.stdout)["code"] == "replay"

    show = json.loads(notaus(*cfg, "policy", "show", "--json", cwd=tmp_path).stdout)
    assert show["version"] == 2 and show["policy"]["devices"][0]["password"] == "***"
    rb = notaus(*cfg, "policy", "rollback", "--json", cwd=tmp_path)
    assert rb.returncode == 0 and json.loads(rb.stdout)["version"] == 1
    assert json.loads(notaus(*cfg, "policy", "show", "--json", cwd=tmp_path).stdout)["version"] == 1

    journal = json.loads(notaus(*cfg, "journal", "show", "--kind", "policy", "--json", cwd=tmp_path).stdout)
    assert [e["kind"] for e in journal["entries"]] == ["policy.applied", "policy.rejected", "policy.rollback"]
    assert all(e["actor"] == "test-provider" for e in journal["entries"])
