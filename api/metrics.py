"""Prometheus text exposition (format 0.0.4) of what monitoring needs to alert on.

Containment state, device reachability, journal length, detections, isolations and the agent
queue. Built from the same (cached) status document the UI polls, so scraping costs no extra
device calls.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notaus.api.app import Services


def _esc(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metric(lines: list[str], name: str, help_text: str, kind: str,
            samples: list[tuple[dict[str, Any], float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        lab = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{lab}}} {value:g}" if lab else f"{name} {value:g}")


def render_metrics(svc: Services) -> str:
    status = svc.status()
    engine = svc.engine
    lines: list[str] = []
    state = str(status.get("state", ""))
    _metric(lines, "notaus_containment_state", "1 for the current state (verbunden/getrennt/teilweise)", "gauge",
            [({"state": s}, 1.0 if state == s else 0.0) for s in ("verbunden", "getrennt", "teilweise", "unbekannt")])
    _metric(lines, "notaus_contained", "1 if a panic is in force and every device confirms it", "gauge",
            [({}, 1.0 if status.get("contained") else 0.0)])
    devices = status.get("devices") or []
    _metric(lines, "notaus_device_reachable", "1 if the device answered the last status reading", "gauge",
            [({"device": d.get("name", "?"), "driver": d.get("driver", "?")}, 1.0 if d.get("reachable") else 0.0)
             for d in devices])
    _metric(lines, "notaus_device_wan_up", "1 WAN up, 0 down, -1 unknown (routers)", "gauge",
            [({"device": d.get("name", "?")}, {"up": 1.0, "down": 0.0}.get(str(d.get("wan")), -1.0))
             for d in devices if d.get("wan") not in (None, "unknown") or d.get("driver") in ("fritzbox", "speedport")])
    observation = status.get("observation")
    if observation:   # served with the one observer (controller.observer): how old the reading is
        _metric(lines, "notaus_status_age_seconds", "age of the device reading behind this status", "gauge",
                [({}, float(observation.get("age_seconds", 0.0)))])
        _metric(lines, "notaus_status_stale", "1 if the observer fell behind or a device's reading is stale",
                "gauge", [({}, 1.0 if observation.get("stale") else 0.0)])
    _metric(lines, "notaus_drift", "desired facts the devices do not confirm", "gauge",
            [({}, float(len(status.get("drift") or [])))])
    _metric(lines, "notaus_isolations", "machines isolated now", "gauge",
            [({}, float(len(status.get("isolations") or [])))])
    _metric(lines, "notaus_agent_requests_pending", "agent isolation requests waiting for approval", "gauge",
            [({}, float(len(svc.gate.pending())))])
    _metric(lines, "notaus_journal_entries", "entries in the tamper-evident journal", "gauge",
            [({}, float(engine.journal.count()))])
    from notaus.controller.detection.store import store_for_engine

    by_level: Counter[str] = Counter(store_for_engine(engine).counts())
    _metric(lines, "notaus_detections", "findings of the detector (journal), by band: alert, isolate, allowed", "gauge",
            [({"level": k}, float(v)) for k, v in sorted(by_level.items())] or [({"level": "detection"}, 0.0)])
    return "\n".join(lines) + "\n"
