"""Keeps containment true and the box healthy, on a schedule that survives restarts.

Jobs (stable ids, persisted with APScheduler's SQLAlchemy job store in the state database):

``enforce``            every ``schedules.enforce_seconds``: while anything is contained or isolated,
                       ``engine.enforce()`` re-applies drifted devices (router rebooted, someone
                       pressed reconnect, a port re-enabled); the engine journals each drift.
``health``             every ``schedules.health_minutes``: ``engine.health()`` — a wrong password
                       shows up in the UI and ``notaus status`` before an emergency finds it.
``deadlines``          every minute: 72-hour reporting reminders (``deadline.reminder``).
``policy.pull``        every ``schedules.policy_pull_minutes`` if ``schedules.policy_url`` is set.
``detection.refresh``  detection windows / allowlist refresh hook (set by the detection module).
``drill.scheduled``    ``schedules.drill_cron``: a real, announced drill.
``drill.restore``      one-off date job: ends a drill even if the box restarted meanwhile.

Periodic jobs are re-added with ``replace_existing`` on every start, so a restart neither loses
nor duplicates them; one-off jobs stay in the store until they ran. Job functions are referenced
by name (``notaus.controller.scheduler:run_job``) with plain arguments, and find the live scheduler in a
per-process registry keyed by the database path.

Only one process may run the scheduler of a state directory (an ``flock`` on a lock file); a
second one gets :class:`SchedulerBusy`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from notaus.controller.deadlines import DeadlineStore
from notaus.policies.schema import Policy
from notaus.policies.store import atomic_write

log = logging.getLogger(__name__)

JOB_TABLE = "scheduler_jobs"
STATUS_FILE = "scheduler-status.json"
DRILL_KEY = "drill"

_INSTANCES: dict[str, Scheduler] = {}
_INSTANCES_LOCK = threading.Lock()


class SchedulerBusy(RuntimeError):
    """Another process already runs the scheduler for this state directory."""


def _now() -> datetime:
    return datetime.now(UTC)


def _key(path: Path) -> str:
    return str(path.resolve())


def run_job(key: str, task: str) -> None:
    """Entry point of every persisted job: dispatch to the live scheduler of this process."""
    with _INSTANCES_LOCK:
        sched = _INSTANCES.get(key)
    if sched is None:
        log.warning("job %s for %s fired without a running scheduler; ignored", task, key)
        return
    sched.dispatch(task)


def _jobstore(db_path: Path) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(url=f"sqlite:///{db_path}", tablename=JOB_TABLE,
                              engine_options={"connect_args": {"timeout": 30}})


def read_status(state_dir: str | Path) -> dict[str, Any]:
    """The last status the running scheduler wrote (for ``notaus status`` in another process)."""
    try:
        data: dict[str, Any] = json.loads((Path(state_dir) / STATUS_FILE).read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return {}


class Scheduler:
    """``Scheduler(engine, state_db_path).start()``; ``run_*_once()`` run a job synchronously (tests)."""

    def __init__(self, engine: Any, state_db_path: str | Path, *, policy: Policy | None = None,
                 policy_store: Any = None, provider_keys: dict[str, Any] | None = None,
                 baseline: Policy | None = None, pull_verify: bool | str = True,
                 on_policy_applied: Callable[[Policy, Any], None] | None = None,
                 detection_hook: Callable[[], Any] | None = None,
                 hooks: dict[str, tuple[float, Callable[[], Any]]] | None = None) -> None:
        self.engine = engine
        self.db_path = Path(state_db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.key = _key(self.db_path)
        self.policy: Policy = policy or engine.policy
        self.policy_store = policy_store
        self.provider_keys = provider_keys or {}
        self.baseline = baseline
        self.pull_verify = pull_verify
        self.on_policy_applied = on_policy_applied
        self.detection_hook = detection_hook
        #: other components' periodic work, name -> (interval seconds, function); e.g. the API's
        #: ``{"auto_release": (30, gate.release_due)}``. Persisted as job ``hook.<name>``.
        self.hooks = dict(hooks or {})
        self.deadlines = DeadlineStore(self.db_path)
        self._status_lock = threading.Lock()
        self._status: dict[str, Any] = {"enforce": {}, "health": {}, "deadlines": {}, "pull": {}, "drill": {}}
        self._lock_fd: int | None = None
        self._sched: BackgroundScheduler | None = None
        self._stopping = False
        self._inflight = 0
        self._inflight_cond = threading.Condition()

    # ------------------------------------------------------------------------ life cycle
    def _acquire_lock(self) -> None:
        path = self.db_path.with_name(self.db_path.name + ".scheduler.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise SchedulerBusy(f"the notaus service (pid {holder or '?'}) already runs the scheduler for "
                                f"{self.db_path.parent}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def start(self) -> Scheduler:
        self._acquire_lock()
        self._stopping = False
        self._sched = BackgroundScheduler(
            jobstores={"default": _jobstore(self.db_path)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})
        with _INSTANCES_LOCK:
            _INSTANCES[self.key] = self
        self._sched.start(paused=True)
        self.sync_jobs()
        self._sched.resume()       # due one-off jobs (a drill restore missed while down) run now
        return self

    def shutdown(self, wait: bool = True, timeout: float = 60.0) -> None:
        """Stop; with ``wait`` let running jobs finish first.

        APScheduler's own ``shutdown(wait=True)`` waits while holding its job-store lock, which
        deadlocks a running job that touches the store (a drill restore removing itself, a pull
        re-planning jobs). So: stop the scheduler without waiting, then wait for our jobs.
        """
        self._stopping = True
        if self._sched is not None and self._sched.running:
            self._sched.shutdown(wait=False)
        if wait:
            with self._inflight_cond:
                self._inflight_cond.wait_for(lambda: self._inflight == 0, timeout=timeout)
        self._sched = None
        with _INSTANCES_LOCK:
            if _INSTANCES.get(self.key) is self:
                del _INSTANCES[self.key]
        # else the status file keeps saying "running" and `notaus status` shows a stopped service as up
        self._write_status()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.deadlines.close()

    @property
    def running(self) -> bool:
        return self._sched is not None and self._sched.running

    def _add(self, job_id: str, task: str, trigger: Any, **kw: Any) -> None:
        assert self._sched is not None, "start() first"
        self._sched.add_job("notaus.controller.scheduler:run_job", trigger, args=[self.key, task], id=job_id,
                            name=task, replace_existing=True, **kw)

    def _remove(self, job_id: str) -> None:
        assert self._sched is not None
        if not self._stopping and self._sched.get_job(job_id) is not None:
            self._sched.remove_job(job_id)

    def sync_jobs(self, policy: Policy | None = None) -> None:
        """(Re)plan the periodic jobs from the policy; idempotent, keeps one-off jobs."""
        if policy is not None:
            self.policy = policy
        s = self.policy.schedules
        self._add("enforce", "enforce", "interval", seconds=s.enforce_seconds,
                  misfire_grace_time=max(1, int(s.enforce_seconds)))
        self._add("health", "health", "interval", minutes=s.health_minutes, next_run_time=_now() + timedelta(
            seconds=2))
        self._add("deadlines", "deadlines", "interval", minutes=1)
        if self.detection_hook is not None:
            self._add("detection.refresh", "detection", "interval", minutes=10)
        else:
            self._remove("detection.refresh")
        if s.policy_url and self.policy_store is not None:
            self._add("policy.pull", "pull", "interval", minutes=s.policy_pull_minutes, jitter=60)
        else:
            self._remove("policy.pull")
        if s.drill_cron:
            self._add("drill.scheduled", "drill", CronTrigger.from_crontab(s.drill_cron), misfire_grace_time=600)
        else:
            self._remove("drill.scheduled")
        for name, (seconds, _fn) in self.hooks.items():
            self._add(f"hook.{name}", f"hook:{name}", "interval", seconds=seconds)
        assert self._sched is not None
        for job in self._sched.get_jobs():
            if job.id.startswith("hook.") and job.id[5:] not in self.hooks:
                self._sched.remove_job(job.id)       # a component that no longer registers its hook
        self._write_status()

    def jobs(self) -> list[dict[str, Any]]:
        if self._sched is None or self._stopping:
            return []
        return [{"id": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
                for j in self._sched.get_jobs()]

    # ------------------------------------------------------------------------ jobs
    def dispatch(self, task: str) -> None:
        handlers: dict[str, Callable[[], Any]] = {
            "enforce": self.run_enforcement_once, "health": self.run_health_once,
            "deadlines": self.run_deadlines_once, "pull": self.run_pull_once,
            "detection": self.run_detection_refresh_once, "drill": self._scheduled_drill,
            "drill.restore": lambda: self.end_drill(actor="drill"),
        }
        with self._inflight_cond:
            if self._stopping:
                return
            self._inflight += 1
        try:
            if task.startswith("hook:"):
                hook = self.hooks.get(task[5:])
                if hook is not None:
                    hook[1]()
                    self._set("hooks", **{task[5:]: _iso()})
            else:
                handlers[task]()
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others
            log.exception("scheduler job %s failed", task)
            self._set(task.split(".")[0], last_error=f"{type(exc).__name__}: {exc}", last_error_at=_iso())
        finally:
            with self._inflight_cond:
                self._inflight -= 1
                self._inflight_cond.notify_all()

    def _set(self, section: str, **values: Any) -> None:
        with self._status_lock:
            self._status.setdefault(section, {}).update(values)
        self._write_status()

    def run_enforcement_once(self) -> list[dict[str, Any]]:
        """One enforcement pass; does nothing (no device traffic) unless something is contained."""
        if not self.engine.state.is_active():
            self._set("enforce", last_run=_iso(), active=False)
            return []
        drifts: list[dict[str, Any]] = self.engine.enforce()
        values: dict[str, Any] = {"last_run": _iso(), "active": True}
        if drifts:
            with self._status_lock:
                total = int(self._status["enforce"].get("drift_total", 0)) + len(drifts)
            values.update(last_drift_at=_iso(), last_drifts=drifts, drift_total=total)
        self._set("enforce", **values)
        return drifts

    def run_health_once(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = self.engine.health()
        warnings = [{k: v for k, v in r.items() if k != "facts"} for r in results if not r.get("ok")]
        self._set("health", last_run=_iso(), ok=not warnings, warnings=warnings)
        return results

    def run_deadlines_once(self, now: datetime | None = None) -> list[dict[str, Any]]:
        hours = self.policy.schedules.report_reminders_hours
        sent = []
        for deadline, point in self.deadlines.due_reminders(hours, now):
            info = deadline.to_dict(now)
            left_h = max(0, info["seconds_left"]) // 3600
            data = {**info, "reminder_hours": point,
                    "message_de": f"Meldefrist: noch {left_h} Stunden bis {info['due_at']} für die Meldung an "
                                  "die Datenschutz-Aufsichtsbehörde. Nach der Meldung hier bestätigen.",
                    "message_en": f"Reporting deadline: {left_h} hours left until {info['due_at']}."}
            self.engine.journal.append("deadline.reminder", data, actor="scheduler")
            self.deadlines.mark_sent(deadline, point, hours)
            sent.append(data)
        self._set("deadlines", last_run=_iso(), open=[d.to_dict(now) for d in self.deadlines.open_deadlines()],
                  **({"last_reminders": sent} if sent else {}))
        return sent

    def run_pull_once(self) -> Any:
        from notaus.policies.pull import pull_once

        url = self.policy.schedules.policy_url
        if not url or self.policy_store is None:
            return None

        def applied(policy: Policy, version: Any) -> None:
            if self.on_policy_applied is not None:
                self.on_policy_applied(policy, version)
            self.sync_jobs(policy)

        result = pull_once(url, store=self.policy_store, keys=self.provider_keys, journal=self.engine.journal,
                           baseline=self.baseline, verify=self.pull_verify, actor="scheduler",
                           on_applied=applied)
        self._set("pull", last_run=_iso(), status=result.status, message=result.message)
        return result

    def run_detection_refresh_once(self) -> None:
        if self.detection_hook is not None:
            self.detection_hook()
            self._set("detection", last_run=_iso())

    # ------------------------------------------------------------------------ drills
    def _scheduled_drill(self) -> None:
        s = self.policy.schedules
        self.start_drill(s.drill_minutes, profile=s.drill_profile, actor="scheduler")

    def start_drill(self, minutes: float, *, profile: str = "full", actor: str) -> dict[str, Any]:
        """Announce, cut for real through ``engine.panic``, and persist the automatic restore."""
        desired = self.engine.state.desired()
        if desired["containment"] is not None or self.engine.state.get(DRILL_KEY):
            msg = ("Keine Übung: Die Praxis ist bereits getrennt oder eine Übung läuft. Erst wiederherstellen.")
            self.engine.journal.append("drill.refused", {"reason": msg}, actor=actor)
            return {"ok": False, "message": msg}
        until = _now() + timedelta(minutes=minutes)
        local_until = until.astimezone().strftime("%H:%M")
        announcement = (f"ÜBUNG: Die Praxis wird jetzt für {minutes:g} Minuten vom Internet getrennt "
                        f"(Profil {profile}). Automatische Wiederherstellung um {local_until} Uhr. "
                        "Bitte wie im Ernstfall vorgehen.")
        self.engine.journal.append("drill.start", {"minutes": minutes, "profile": profile,
                                                   "until": until.isoformat(), "announcement_de": announcement},
                                   actor=actor)
        result = self.engine.panic(profile, actor=f"drill:{actor}")
        if result.outcome == "refused":
            self.engine.journal.append("drill.end", {"outcome": "refused", "message": result.message}, actor=actor)
            return {"ok": False, "message": result.message, "panic": result.to_dict()}
        containment = self.engine.state.desired()["containment"] or {}
        record = {"since": _iso(), "until": until.isoformat(), "profile": profile, "actor": actor,
                  "containment_since": containment.get("since"), "containment_actor": containment.get("actor"),
                  "announcement_de": announcement}
        self.engine.state.put(DRILL_KEY, record)
        if self._sched is not None:
            self._add("drill.restore", "drill.restore", "date", run_date=until, misfire_grace_time=None)
        else:
            schedule_restore_in_store(self.db_path, self.key, until)
        self._set("drill", active=True, **record)
        return {"ok": True, "message": announcement, "until": until.isoformat(), "panic": result.to_dict()}

    def end_drill(self, *, actor: str = "drill", early: bool = False) -> dict[str, Any]:
        """Restore after a drill — unless a real panic happened meanwhile (then a person decides)."""
        drill = self.engine.state.get(DRILL_KEY)
        if self._sched is not None:
            self._remove("drill.restore")
        if not drill:
            return {"ok": True, "message": "no drill active"}
        containment = self.engine.state.desired()["containment"]
        ours = (drill.get("containment_since"), drill.get("containment_actor"))
        if containment is not None and (containment.get("since"), containment.get("actor")) != ours:
            msg = ("Übung nicht automatisch beendet: Während der Übung wurde echt getrennt. "
                   "Wiederherstellung nur durch den IT-Dienstleister.")
            self.engine.journal.append("drill.restore_skipped", {"reason": msg, "containment": containment},
                                       actor=actor)
            outcome: dict[str, Any] = {"ok": False, "message": msg}
        elif containment is None:
            self.engine.journal.append("drill.end", {"outcome": "already_restored", "early": early}, actor=actor)
            outcome = {"ok": True, "message": "already restored"}
        else:
            result = self.engine.restore(actor=actor, reason="Übung beendet – automatische Wiederherstellung",
                                         stage="all")
            self.engine.journal.append("drill.end", {"outcome": result.outcome, "early": early}, actor=actor)
            outcome = {"ok": result.outcome == "done", "message": result.message, "restore": result.to_dict()}
        self.engine.state.put(DRILL_KEY, None)
        self._set("drill", active=False, ended_at=_iso(), last_outcome=outcome["message"])
        return outcome

    # ------------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """For the UI, ``/metrics`` and ``notaus status``: jobs, drift, health warnings, deadlines, drill."""
        with self._status_lock:
            doc = json.loads(json.dumps(self._status, default=str))
        doc["running"] = self.running and not self._stopping
        doc["jobs"] = self.jobs()
        doc["updated"] = _iso()
        return doc

    def _write_status(self) -> None:
        try:
            atomic_write(self.db_path.parent / STATUS_FILE,
                         json.dumps(self.status(), indent=1, default=str).encode("utf-8"), mode=0o644)
        except OSError:
            log.warning("could not write %s", STATUS_FILE)


def schedule_restore_in_store(db_path: Path, key: str, until: datetime) -> None:
    """Put a drill restore job into the store without running a scheduler (the service picks it up)."""
    sched = BackgroundScheduler(jobstores={"default": _jobstore(db_path)})
    sched.start(paused=True)
    try:
        sched.add_job("notaus.controller.scheduler:run_job", "date", run_date=until, args=[key, "drill.restore"],
                      id="drill.restore", name="drill.restore", replace_existing=True, misfire_grace_time=None)
    finally:
        sched.shutdown(wait=False)


def _iso() -> str:
    return _now().isoformat(timespec="seconds")


def start_service_scheduler(engine: Any, config_path: str | Path, **kwargs: Any) -> Scheduler:
    """Everything ``notaus serve`` needs in one call: policy store, pinned keys, syslog, scheduler.

    ``kwargs`` go to :class:`Scheduler` (``on_policy_applied``, ``hooks``, ``pull_verify``, ...).
    """
    from notaus.controller.syslog import forwarder_from_policy
    from notaus.policies.loader import load_policy
    from notaus.policies.signing import load_public_keys
    from notaus.policies.store import PolicyStore
    from notaus.policies.update import provider_key_locations

    state_dir = Path(engine.state_dir)
    forwarder = forwarder_from_policy(engine.policy)
    if forwarder is not None:
        engine.journal.add_listener(forwarder)
    sched = Scheduler(engine, Path(engine.state.path), policy_store=PolicyStore(state_dir),
                      provider_keys=load_public_keys(*provider_key_locations(state_dir)),
                      baseline=load_policy(config_path), **kwargs)
    return sched.start()
