"""Scheduler against a real engine and the TR-064 simulator: persistence, enforcement, health,
deadlines, drills (incl. a drill restore that survives a restart)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.engine import Engine
from notaus.controller.scheduler import JOB_TABLE, Scheduler, SchedulerBusy, read_status
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import Policy
from tests.waiting import wait_for

HOSTS = [{"ip": "192.168.178.20", "mac": "AA:BB:CC:DD:EE:01", "name": "empfang-pc"}]




@pytest.fixture
def sim() -> Iterator[Tr064Simulator]:
    s = Tr064Simulator("127.0.0.1", 0, user="notaus", password="richtig", hosts=HOSTS).start()
    yield s
    s.stop()


def make_policy(tmp: Path, sim: Tr064Simulator, password: str = "richtig", **schedules: Any) -> Policy:
    return Policy.model_validate({
        "controller": {"state_dir": str(tmp / "var")},
        "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": sim.port,
                     "user": "notaus", "password": password, "timeout": 3}],
        "hosts": [{"name": "empfang-pc", "ip": "192.168.178.20"}],
        "schedules": {"enforce_seconds": 1, "health_minutes": 60, **schedules},
    })


@pytest.fixture
def engine(tmp_path: Path, sim: Tr064Simulator) -> Iterator[Engine]:
    eng = Engine.from_policy(make_policy(tmp_path, sim), base_dir=tmp_path)
    yield eng
    eng.close()


def db_of(engine: Engine) -> Path:
    return Path(engine.state.path)


def stored_job_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return sorted(r[0] for r in con.execute(f"SELECT id FROM {JOB_TABLE}"))


def wan(sim: Tr064Simulator) -> str:
    return str(sim.snapshot()["wan"]["status"])


def test_jobs_survive_restart_without_duplicates(engine: Engine) -> None:
    sched = Scheduler(engine, db_of(engine)).start()
    first = stored_job_ids(db_of(engine))
    assert first == ["deadlines", "enforce", "health"]
    sched.shutdown()
    for _ in range(2):
        sched = Scheduler(engine, db_of(engine)).start()
        assert stored_job_ids(db_of(engine)) == first
        assert sorted(j["id"] for j in sched.jobs()) == first
        sched.shutdown()


def test_second_scheduler_on_same_state_is_refused(engine: Engine) -> None:
    sched = Scheduler(engine, db_of(engine)).start()
    try:
        with pytest.raises(SchedulerBusy):
            Scheduler(engine, db_of(engine)).start()
    finally:
        sched.shutdown()


def test_policy_schedule_changes_replan_jobs(tmp_path: Path, sim: Tr064Simulator, engine: Engine) -> None:
    sched = Scheduler(engine, db_of(engine)).start()
    try:
        sched.sync_jobs(make_policy(tmp_path, sim, drill_cron="30 7 * * 1"))
        assert "drill.scheduled" in stored_job_ids(db_of(engine))
        sched.sync_jobs(make_policy(tmp_path, sim))
        assert "drill.scheduled" not in stored_job_ids(db_of(engine))
    finally:
        sched.shutdown()


def test_enforcement_recuts_after_router_reboot(engine: Engine, sim: Tr064Simulator) -> None:
    sched = Scheduler(engine, db_of(engine))
    assert sched.run_enforcement_once() == []            # nothing contained: no device traffic
    calls_before = sum(sim.snapshot()["calls"].values())
    sched.run_enforcement_once()
    assert sum(sim.snapshot()["calls"].values()) == calls_before

    assert engine.panic("full", actor="test").outcome == "done"
    assert wan(sim) == "Disconnected"
    sim.reboot()
    wait_for(lambda: wan(sim) == "Connected", what="router back online after reboot")
    drifts = sched.run_enforcement_once()
    assert [(d["device"], d["what"], d["reapplied"]) for d in drifts] == [("fritzbox", "wan", "done")]
    assert wan(sim) == "Disconnected"
    status = sched.status()["enforce"]
    assert status["drift_total"] == 1 and status["last_drifts"][0]["observed"] == "up"
    assert [e.data["what"] for e in engine.journal.entries(kind="drift")] == ["wan"]


def test_enforcement_job_runs_on_its_own(engine: Engine, sim: Tr064Simulator) -> None:
    sched = Scheduler(engine, db_of(engine)).start()
    try:
        engine.panic("full", actor="test")
        sim.simulate_user_reconnect()
        wait_for(lambda: engine.journal.entries(kind="drift"), what="drift journaled by the enforce job")
        wait_for(lambda: wan(sim) == "Disconnected", what="WAN cut again")
        # the job writes its status after its read-back: wait for it rather than read once
        wait_for(lambda: read_status(db_of(engine).parent)["enforce"].get("drift_total", 0) >= 1,
                 what="drift counted in the service status")
    finally:
        sched.shutdown()


def test_health_finds_wrong_password_before_a_panic(tmp_path: Path, sim: Tr064Simulator) -> None:
    eng = Engine.from_policy(make_policy(tmp_path, sim, password="falsch"), base_dir=tmp_path)
    try:
        sched = Scheduler(eng, Path(eng.state.path))
        sched.run_health_once()
        status = read_status(Path(eng.state.path).parent)["health"]
        assert status["ok"] is False
        assert [w["device"] for w in status["warnings"]] == ["fritzbox"]
        assert status["warnings"][0]["kind"] == "auth_failed"
    finally:
        eng.close()


def test_deadline_reminders_until_acknowledged(engine: Engine) -> None:
    sched = Scheduler(engine, db_of(engine))
    opened = datetime.now(UTC) - timedelta(hours=50)
    sched.deadlines.open_incident(opened, label="Verschlüsselungstrojaner Empfang")
    sent = sched.run_deadlines_once()
    assert [s["reminder_hours"] for s in sent] == [48]             # 24 and 48 passed: one reminder, not two
    assert sched.run_deadlines_once() == []                         # not repeated
    later = datetime.now(UTC) + timedelta(hours=17)                 # 67 h after opening
    assert [s["reminder_hours"] for s in sched.run_deadlines_once(later)] == [66]
    sched.deadlines.acknowledge_reported(actor="praxis")
    assert sched.run_deadlines_once(datetime.now(UTC) + timedelta(hours=22)) == []
    reminders = engine.journal.entries(kind="deadline.reminder")
    assert [r.data["reminder_hours"] for r in reminders] == [48, 66]
    assert "Meldefrist" in reminders[0].data["message_de"]


def test_drill_restore_survives_restart(engine: Engine, sim: Tr064Simulator) -> None:
    sched = Scheduler(engine, db_of(engine)).start()
    result = sched.start_drill(1 / 60, profile="full", actor="test")    # one second
    assert result["ok"] and wan(sim) == "Disconnected"
    assert "drill.restore" in stored_job_ids(db_of(engine))
    sched.shutdown()                                                   # "power cut" before the restore time
    wait_for(lambda: datetime.now(UTC) > datetime.fromisoformat(result["until"]), what="restore time passing")
    assert wan(sim) == "Disconnected"                                  # nobody restored while down

    sched = Scheduler(engine, db_of(engine)).start()
    try:
        wait_for(lambda: engine.journal.entries(kind="drill.end"), what="drill restored after restart")
        assert engine.journal.entries(kind="drill.end")[0].data["outcome"] == "done"
        assert wan(sim) == "Connected"
        assert "drill.restore" not in stored_job_ids(db_of(engine))
        assert engine.state.desired()["containment"] is None
    finally:
        sched.shutdown()


def test_drill_never_undoes_a_real_panic(engine: Engine, sim: Tr064Simulator) -> None:
    sched = Scheduler(engine, db_of(engine))
    assert sched.start_drill(5, actor="test")["ok"]
    # a real emergency during the drill: staff press the button again
    engine.restore(actor="provider", reason="Übung vorzeitig beendet", stage="all")
    engine.panic("full", actor="staff")
    out = sched.end_drill()
    assert not out["ok"]
    assert wan(sim) == "Disconnected"
    assert engine.journal.entries(kind="drill.restore_skipped")


def test_drill_refused_while_contained(engine: Engine) -> None:
    engine.panic("full", actor="staff")
    sched = Scheduler(engine, db_of(engine))
    assert not sched.start_drill(5, actor="test")["ok"]
    assert engine.journal.entries(kind="drill.refused")


def test_component_hooks_persist_run_and_go_away(engine: Engine) -> None:
    calls: list[str] = []
    sched = Scheduler(engine, db_of(engine), hooks={"auto_release": (3600, lambda: calls.append("x"))}).start()
    try:
        assert "hook.auto_release" in stored_job_ids(db_of(engine))
        sched.dispatch("hook:auto_release")
        assert calls == ["x"] and "auto_release" in sched.status()["hooks"]
    finally:
        sched.shutdown()
    sched = Scheduler(engine, db_of(engine)).start()          # restarted without that component
    try:
        assert stored_job_ids(db_of(engine)) == ["deadlines", "enforce", "health"]
    finally:
        sched.shutdown()


def test_service_scheduler_plans_policy_pull(tmp_path: Path, sim: Tr064Simulator) -> None:
    import yaml

    from notaus.controller.scheduler import start_service_scheduler

    cfg = tmp_path / "praxis.yaml"
    data = make_policy(tmp_path, sim, policy_url="https://127.0.0.1:1/b.json").model_dump(mode="json")
    cfg.write_text(yaml.safe_dump(data))
    eng = Engine.from_policy(make_policy(tmp_path, sim, policy_url="https://127.0.0.1:1/b.json"),
                             base_dir=tmp_path)
    try:
        sched = start_service_scheduler(eng, cfg)
        try:
            assert "policy.pull" in stored_job_ids(Path(eng.state.path))
            result = sched.run_pull_once()
            assert result.status == "error"                       # nothing listens: reported, not raised
            assert sched.status()["pull"]["status"] == "error"
        finally:
            sched.shutdown()
    finally:
        eng.close()
