"""``notaus analyze`` end to end through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .corpus import build_practice, practice_hosts

ROOT = Path(__file__).resolve().parents[2]


def _notaus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notaus.controller.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "praxis.pcap"
    build_practice(path, seed=3, copies=1)
    return path


def test_analyze_json_document(pcap: Path) -> None:
    res = _notaus("analyze", str(pcap), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["packets"] > 10_000 and doc["malformed"] == 0 and doc["flows"] > 1000
    assert doc["duration_s"] > 11 * 3600
    top = doc["detections"][0]
    assert {"src", "dst", "dst_port", "proto", "score", "interval_s", "connections", "name", "kind",
            "allowed", "why"} <= set(top)
    scores = [d["score"] for d in doc["detections"] if not d["allowed"]]
    assert scores == sorted(scores, reverse=True)
    # without the inventory the phone's SIP REGISTER loop is recognised by protocol, not by role
    sip = [d for d in doc["detections"] if d["dst_port"] == 5060]
    assert sip and sip[0]["allowed"] and sip[0]["allow_rule"].startswith("bekannt: SIP")


def test_analyze_with_config_applies_roles_and_policy_allowlist(pcap: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "notaus.yaml"
    cfg.write_text(yaml.safe_dump({
        "hosts": [{k: v for k, v in h.items()} for h in practice_hosts()],
        "detection": {"allowlist": [{"name": "Fernwartung", "dst": "203.0.114.0/24"}]},
    }))
    res = _notaus("--config", str(cfg), "analyze", str(pcap), "--json")
    assert res.returncode == 0, res.stderr
    dets = json.loads(res.stdout)["detections"]
    sip = [d for d in dets if d["dst_port"] == 5060]
    assert sip and all(d["allowed"] for d in sip)
    remote = [d for d in dets if d["dst"].startswith("203.0.114.")]
    assert remote and all(d["allowed"] and d["allow_rule"] == "Fernwartung" for d in remote)


def test_analyze_table_and_bad_file(pcap: Path, tmp_path: Path) -> None:
    res = _notaus("analyze", str(pcap), "--min-score", "0.9")
    assert res.returncode == 0
    assert res.stdout.splitlines()[0].split()[:4] == ["Quelle", "Ziel", "Name", "Port"]
    bad = tmp_path / "kaputt.pcap"
    bad.write_bytes(b"no capture here")
    res = _notaus("analyze", str(bad), "--json")
    assert res.returncode == 1 and "pcap" in json.loads(res.stdout)["detail"]
