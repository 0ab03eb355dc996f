"""Live detection end to end: ``notaus sniff`` in the router namespace watches lan0, a beaconing
process in ws1 calls a server in the internet namespace every ~2 s (Cobalt-Strike-style jitter:
sleeps only shortened, up to 30 %), and under an auto-isolate policy notaus isolates ws1 through the
real engine at the TR-064 simulator, whose nftables effects really stop ws1's packets.

At the same time ws2 runs an aperiodic client (pauses from a shuffled ladder 1.2 s ... 7.5 s,
varying sizes): its pair is scored live (the sniffer prints it) but must stay below the alert band,
so nothing is journaled or done about ws2, and ws2's traffic keeps flowing.

Why the sniffer runs in the router namespace: it sees ws1's packets on lan0 before NAT, and the
engine inside it reaches the simulator at the router's LAN address locally.

Automatic isolation goes through the guardrail gate: the policy allows one automatic isolation per
hour, so when the phone starts beaconing after ws1 was isolated, its isolation is *queued* for a
person to approve and the phone keeps its connection. Afterwards the web service (a Flask app over
the same state directory) lists both findings in ``/api/v1/detections`` and on the staff page.

One live run (module fixture) serves all tests, so the module stays around a minute.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.detection.flows import FlowTable, ip_text
from notaus.controller.detection.pcapio import read_file
from notaus.controller.journal import Entry, Journal
from tests.waiting import wait_until

from .netlab import Lab
from .probe import Probe
from .test_lab_panic import SIM_PORT, stopped_after, write_policy

pytestmark = pytest.mark.lab

ALERT, ISOLATE, MIN_CONNECTIONS = 0.7, 0.85, 6
BEACON_PERIOD_S, BEACON_JITTER = 2.0, 0.3
TRAFFIC_SECONDS = 36.0       # the benign client needs this long for ~10 connections
DETECT_TIMEOUT_S = 35.0      # ws1 needs ~9 callbacks (~16 s) for the isolate band

# connect, send, read the echo, close; CS-style sleep: period * (1 - U(0, jitter))
BEACON = """
import random, socket, sys, time
host, port, period, jitter, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), \\
    float(sys.argv[5])
rng = random.Random(4)
end = time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=1.0) as s:
            s.sendall(b"B" * 180)
            s.recv(4096)
        print(f"{time.time():.3f} ok", flush=True)
    except OSError as exc:
        print(f"{time.time():.3f} fail {type(exc).__name__}", flush=True)
    time.sleep(max(0.0, period * (1 - rng.uniform(0, jitter)) - (time.monotonic() - t0)))
"""

# aperiodic: each pause is a rung of 1.2 * 1.3**i (i < 8), shuffled per round - a spread no beacon
# with <= 50 % jitter has; sizes vary from 100 B to 20 kB
BENIGN = """
import random, socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(11)
ladder = [1.2 * 1.3 ** i for i in range(8)]
pauses = []
end = time.monotonic() + seconds
while time.monotonic() < end:
    if not pauses:
        pauses = ladder[:]
        rng.shuffle(pauses)
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=2.0) as s:
            s.sendall(b"b" * rng.randint(100, 20000))
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        print(f"{time.time():.3f} ok", flush=True)
    except OSError as exc:
        print(f"{time.time():.3f} fail {type(exc).__name__}", flush=True)
    time.sleep(max(0.0, pauses.pop() - (time.monotonic() - t0)))
"""


@dataclass
class LiveRun:
    """What one live sniff run produced, for the tests to judge."""

    lab: Lab
    policy: Path
    ws1_ip: str
    ws2_ip: str
    action_seen: float | None = None           # monotonic time detection.action for ws1 was journaled
    detect_seconds: float | None = None        # from the first beacon to that moment
    ws1_stopped: bool = False
    ws2_kept_going: bool = False
    sniff_code: int | None = None
    sniff_log: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)  # JSON lines printed by sniff
    entries: list[Entry] = field(default_factory=list)
    beacon_log: str = ""
    benign_log: str = ""
    phone_ip: str = ""
    phone_action: Entry | None = None          # the phone's detection.action (beyond the budget: queued)
    phone_log: str = ""


def _policy_with_detection(lab: Lab) -> Path:
    policy = write_policy(lab)
    policy.write_text(policy.read_text() + (
        f"detection: {{response: isolate, alert_score: {ALERT}, isolate_score: {ISOLATE},"
        f" min_connections: {MIN_CONNECTIONS}}}\n"
        "guardrails: {max_auto_isolations: 1, window_minutes: 60}\n"), encoding="utf-8")
    return policy


def _entries(lab: Lab) -> list[Entry]:
    path = Path(str(lab.workdir)) / "state" / "journal.sqlite"
    if not path.exists():
        return []
    journal = Journal(path)
    try:
        out: list[Entry] = []
        while True:
            batch = journal.entries(after=out[-1].seq if out else 0, limit=1000)
            out.extend(batch)
            if len(batch) < 1000:
                return out
    finally:
        journal.close()




@pytest.fixture(scope="module")
def live(lab: Lab) -> Iterator[LiveRun]:
    policy = _policy_with_detection(lab)
    run = LiveRun(lab, policy, lab.host_ip("ws1"), lab.host_ip("ws2"))
    sim = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.drivers.sim.tr64",
                    "--listen", f"{lab.router_lan_ip}:{SIM_PORT}", "--user", "notaus", "--password", "lab-secret",
                    "--effects", "nft", "--hosts-from", str(policy), "--hostfilter-delay", "0.2",
                    env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None and "TR-064 simulator" in sim.stdout.readline()
    # stdout: one JSON line per finding; stderr (progress, summary) goes to the lab log
    sniff = lab.popen(Lab.ROUTER, sys.executable, "-u", "-m", "notaus.controller.cli", "--config", str(policy),
                      "sniff", "--interface", "lan0", "--seconds", "90", "--min-score", "0", "--json",
                      "--progress-seconds", "5", stdout=subprocess.PIPE, text=True)
    procs: list[subprocess.Popen[Any]] = []
    try:
        assert wait_until(lambda: "Mitschnitt läuft" in Lab.log_of(sniff) or sniff.poll() is not None, 20,
                          step=0.25), \
            Lab.log_of(sniff)
        assert sniff.poll() is None, Lab.log_of(sniff)
        reader = threading.Thread(target=lambda: run.findings.extend(
            json.loads(line) for line in sniff.stdout if line.startswith("{")), daemon=True)  # type: ignore[union-attr]
        reader.start()
        with Probe(lab, "ws1", (lab.inet_ip, lab.udp_echo_port)) as ws1, \
                Probe(lab, "ws2", (lab.inet_ip, lab.udp_echo_port)) as ws2:
            assert ws1.wait_replies(3) and ws2.wait_replies(3)
            started = time.monotonic()
            procs.append(lab.popen("ws1", sys.executable, "-u", "-c", BEACON, lab.inet_ip, str(lab.tcp_echo_port),
                                   str(BEACON_PERIOD_S), str(BEACON_JITTER), str(TRAFFIC_SECONDS)))
            procs.append(lab.popen("ws2", sys.executable, "-u", "-c", BENIGN, lab.inet_ip, str(lab.tcp_echo_port),
                                   str(TRAFFIC_SECONDS)))

            def acted() -> bool:
                return any(e.kind == "detection.action" and e.data.get("src") == run.ws1_ip for e in _entries(lab))

            if wait_until(acted, DETECT_TIMEOUT_S, step=0.25):
                run.action_seen = time.monotonic()
                run.detect_seconds = round(run.action_seen - started, 1)
                run.ws1_stopped = stopped_after(ws1, run.action_seen)
                run.ws2_kept_going = ws2.wait_replies(5, since=run.action_seen, timeout=5)
                # a second beacon, from the phone, once the hour's budget (1) is spent
                run.phone_ip = lab.host_ip("phone")
                procs.append(lab.popen("phone", sys.executable, "-u", "-c", BEACON, lab.inet_ip,
                                       str(lab.tcp_echo_port), str(BEACON_PERIOD_S), str(BEACON_JITTER),
                                       str(TRAFFIC_SECONDS)))

                def phone_acted() -> Entry | None:
                    return next((e for e in _entries(lab) if e.kind == "detection.action"
                                 and e.data.get("src") == run.phone_ip), None)

                if wait_until(lambda: phone_acted() is not None, DETECT_TIMEOUT_S, step=0.25):
                    run.phone_action = phone_acted()
            for proc in procs:                       # the clients run their full course
                proc.wait(timeout=2 * TRAFFIC_SECONDS + 15)
        time.sleep(1.5)                              # one more poll of the sniffer's loop
        os.kill(sniff.pid, signal.SIGTERM)           # a clean stop, as systemd would do it
        run.sniff_code = sniff.wait(timeout=15)
        reader.join(timeout=5)
        run.sniff_log = Lab.log_of(sniff)
        run.beacon_log, run.benign_log = Lab.log_of(procs[0]), Lab.log_of(procs[1])
        run.phone_log = Lab.log_of(procs[2]) if len(procs) > 2 else ""
        run.entries = _entries(lab)
        yield run
    finally:
        for proc in [*procs, sniff, sim]:
            lab.stop(proc)
        lab.reset()
        subprocess.run(["rm", "-rf", f"{lab.workdir}/state"], check=False)


def _first(entries: list[Entry], after: int, pred: Any) -> Entry | None:
    return next((e for e in entries if e.seq > after and pred(e)), None)


def test_beacon_is_detected_live_and_ws1_isolated_at_the_router(live: LiveRun) -> None:
    run = live
    kinds = [(e.seq, e.kind, e.data.get("src") or e.data.get("host")) for e in run.entries]
    assert run.action_seen is not None, f"no detection.action for ws1 within {DETECT_TIMEOUT_S} s: {kinds}\n" \
                                        f"{run.sniff_log[-2000:]}"
    print(f"\n[lab detection] ws1 isolated {run.detect_seconds} s after its first callback")
    # the real packets: ws1 cut off, ws2 (same switch, same router) unaffected
    assert run.ws1_stopped, "ws1's probe still got answers after the isolation"
    assert run.ws2_kept_going, "ws2 lost its internet connection"
    assert "fail" in run.beacon_log, "the beacon kept reaching its server after the isolation"

    # journal story, in order: detection -> decision(isolate) -> isolate.request -> result(done) -> action
    es = run.entries
    decision = _first(es, 0, lambda e: e.kind == "detection.decision" and e.data["decision"] == "isolate"
                      and e.data["src"] == run.ws1_ip)
    assert decision is not None, kinds
    detection = [e for e in es if e.kind == "detection" and e.seq < decision.seq and e.data["src"] == run.ws1_ip]
    assert detection and detection[-1].data["band"] == "isolate" and detection[-1].data["score"] >= ISOLATE
    assert detection[-1].data["dst"] == run.lab.inet_ip and detection[-1].data["dst_port"] == run.lab.tcp_echo_port
    assert detection[-1].data["kind"] == "beacon" and detection[-1].data["connections"] >= MIN_CONNECTIONS
    # the automatic isolation went through the guardrail gate (budget, protected hosts) first
    gate = _first(es, decision.seq, lambda e: e.kind == "agent.request")
    assert gate is not None and gate.data["host"] == "ws1" and gate.data["decision"] == "isolate", gate
    assert gate.data["source"] == "detection"
    request = _first(es, gate.seq, lambda e: e.kind == "isolate.request")
    assert request is not None and request.data["host"] == "ws1" and request.data["source"] == "detection"
    result = _first(es, request.seq, lambda e: e.kind == "isolate.result")
    assert result is not None and result.data["outcome"] == "done" and result.data["host"] == "ws1", result
    action = _first(es, result.seq, lambda e: e.kind == "detection.action")
    assert action is not None and action.data["src"] == run.ws1_ip and action.data["outcome"] == "done"
    assert action.data["via"] == "guardrails"
    devices = action.data["result"]["devices"]
    assert [(d["device"], d["action"], d["outcome"]) for d in devices] == [("fritzbox", "block_host", "done")]

    # evidence: the pcap named in the decision exists, its SHA-256 is recorded (also in the request),
    # and it holds ws1's beacon connections to the server
    ev = decision.data["evidence"]
    pcap = Path(ev["pcap"])
    assert pcap.is_file() and hashlib.sha256(pcap.read_bytes()).hexdigest() == ev["pcap_sha256"]
    assert request.data["evidence"]["pcap_sha256"] == ev["pcap_sha256"]
    table = FlowTable()
    read_file(pcap, table.feed)
    beacon_pairs = [p for p in table.pairs.values()
                    if ip_text(p.src) == run.ws1_ip and ip_text(p.dst) == run.lab.inet_ip and p.dport == 7
                    and p.proto == 6]
    assert beacon_pairs and beacon_pairs[0].conns >= MIN_CONNECTIONS
    sent = {row["dst"]: row["bytes"] for row in ev["bytes_out_internet"]}
    assert sent.get(run.lab.inet_ip, 0) >= 180 * MIN_CONNECTIONS
    # the isolation is one incident's story
    assert any(e.kind == "incident.open" for e in es)


def test_aperiodic_host_is_scored_but_nothing_is_done(live: LiveRun) -> None:
    run = live
    ok = run.benign_log.count(" ok")
    assert ok >= MIN_CONNECTIONS + 2, f"benign client made too few connections: {run.benign_log}"
    scored = [f for f in run.findings if f["src"] == run.ws2_ip and f["dst_port"] == run.lab.tcp_echo_port]
    assert scored, f"ws2's connections were never scored: {run.findings}"
    print(f"\n[lab detection] benign ws2: {ok} connections, highest score {max(f['score'] for f in scored):.2f}")
    assert all(f["score"] < ALERT and f["decision"] is None for f in scored), scored
    about_ws2 = [(e.kind, e.data) for e in run.entries
                 if (e.kind.startswith("detection") and e.data.get("src") == run.ws2_ip)
                 or (e.kind == "isolate.request" and e.data.get("host") in (run.ws2_ip, "ws2"))]
    assert about_ws2 == []
    assert "fail" not in run.benign_log and run.ws2_kept_going


def test_sniff_stops_cleanly_on_sigterm_with_a_summary(live: LiveRun) -> None:
    run = live
    assert run.sniff_code == 0, run.sniff_log[-2000:]
    assert "Mitschnitt beendet" in run.sniff_log and "2x isolate" in run.sniff_log, run.sniff_log[-2000:]
    progress = [ln for ln in run.sniff_log.splitlines() if " Pakete, " in ln and " s: " in ln]
    assert len(progress) >= 3, run.sniff_log           # a progress line every 5 s while it ran


def test_incident_from_detection_to_report_in_the_lab(live: LiveRun) -> None:
    """Issue 7's end-to-end story on the live lab: the detection isolated ws1 and opened an incident;
    staff then press panic and tick the checklist; the report's timeline is the journal, row for row,
    and its head hash is the one ``notaus journal verify`` confirms."""
    from ..incident.test_incident_e2e import RowParser
    from .test_lab_panic import notaus

    run = live
    lab, policy = run.lab, run.policy
    code, doc = notaus(lab, policy, "panic", "--yes")
    assert code == 0 and doc["outcome"] == "done", doc
    for item in ("calm", "call-provider"):
        code, doc = notaus(lab, policy, "incident", "tick", "current", item)
        assert code == 0, doc
    report = Path(str(lab.workdir)) / "report.html"
    code, doc = notaus(lab, policy, "incident", "report", "current", "--format", "html", "-o", str(report))
    assert code == 0, doc
    parser = RowParser()
    parser.feed(report.read_text(encoding="utf-8"))
    entries = _entries(lab)
    first = next(e for e in entries if e.kind == "detection" and e.data.get("src") == run.ws1_ip)
    timeline = dict(parser.rows)
    kinds = {e.kind for e in entries if e.seq in timeline}
    # the story is all there: detection -> isolation -> panic -> checklist, with the journal's own hashes
    assert first.seq in timeline and {"detection.decision", "isolate.result", "panic.result",
                                      "checklist.tick"} <= kinds, kinds
    assert all(timeline[e.seq] == e.hash for e in entries if e.seq in timeline)
    assert parser.rows == [(e.seq, e.hash) for e in entries if e.seq >= parser.rows[0][0]][:len(parser.rows)]
    code, verify = notaus(lab, policy, "journal", "verify")
    assert code == 0 and verify["ok"] is True
    assert parser.head == verify["head_hash"]


def test_second_automatic_isolation_waits_for_approval_beyond_the_budget(live: LiveRun) -> None:
    """Budget 1 per hour: the phone's beacon is detected in the isolate band, but its isolation is
    queued for a person (not done), and the phone keeps reaching the internet."""
    run = live
    assert run.phone_action is not None, f"no detection.action for the phone: {run.sniff_log[-2000:]}"
    assert run.phone_action.data["outcome"] == "queued" and run.phone_action.data["via"] == "guardrails"
    assert "automatic isolations" in run.phone_action.data["result"]["detail"]
    es = run.entries
    queued = [e for e in es if e.kind == "agent.request" and e.data.get("host") == "phone"]
    assert [e.data["decision"] for e in queued] == ["queued"]
    assert not any(e.kind == "isolate.request" and e.data.get("host") == "phone" for e in es)
    assert run.phone_log.count(" ok") >= MIN_CONNECTIONS and "fail" not in run.phone_log


def test_live_findings_in_the_api_and_on_the_staff_page(live: LiveRun, tmp_path: Path) -> None:
    """The web service reads the detector's findings from the shared journal: JSON, metric, page."""
    from notaus.api.app import create_app
    from notaus.controller.engine import Engine
    from notaus.policies.loader import load_policy

    run = live
    engine = Engine.from_policy(load_policy(run.policy), base_dir=run.policy.parent)
    app = create_app(engine, config={"state_dir": str(tmp_path / "api"), "status_cache_seconds": 0})
    try:
        app.testing = True
        token = app.extensions["notaus"].tokens.create("provider", "lab-test")
        client = app.test_client()
        hdr = {"Authorization": f"Bearer {token}"}
        items = client.get("/api/v1/detections", headers=hdr).get_json()["detections"]
        ws1 = next(d for d in items if d["src"] == run.ws1_ip and d["band"] == "isolate")
        assert ws1["dst"] == run.lab.inet_ip and ws1["decision"] == "isolate" and ws1["outcome"] == "done"
        assert ws1["evidence"] and ws1["score"] >= ISOLATE and ws1["incident"]
        phone = next(d for d in items if d["src"] == run.phone_ip and d["band"] == "isolate")
        assert phone["decision"] == "isolate" and phone["outcome"] == "queued"
        assert not any(d["src"] == run.ws2_ip for d in items)
        metrics = client.get("/metrics", headers=hdr).get_data(as_text=True)
        assert 'notaus_detections{level="isolate"}' in metrics
        page = client.get("/detections", headers=hdr).get_data(as_text=True)
        assert run.ws1_ip in page and run.phone_ip in page and f'/incidents/{ws1["incident"]}' in page
    finally:
        app.extensions["notaus"].close()
        engine.close()
