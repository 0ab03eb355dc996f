"""The containment engine: plan, guard, act on devices in parallel, verify by reading back.

Order of every operation: journal the request, refuse early if a guard says no, record the desired
state, run device steps in parallel (each bounded in time, retried when the failure is transient),
read the device state back, journal each step's result, journal the overall result. "done" is only
ever said of something a device confirmed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notaus.controller.actions import Action, HostAddress, parse_target, subject, undo
from notaus.controller.actions import spec as action_spec
from notaus.controller.attention import Attention
from notaus.controller.consequences import panic_warnings
from notaus.controller.devices import build_driver
from notaus.controller.host_identity import canonical_ip
from notaus.controller.isolation_plan import IsolationPlanner, Refused, safe_mac, vlan_to_restore
from notaus.controller.journal import Journal
from notaus.controller.observe import find_gaps, observe
from notaus.controller.results import DeviceResult, OperationResult, Outcome, Plan, Step
from notaus.controller.state import StateStore
from notaus.drivers.base import (
    Driver,
    DriverError,
    Host,
    NotSupported,
    RouterDriver,
    SwitchDriver,
    Telephony,
    Unreachable,
)
from notaus.policies.context import state_dir as resolve_state_dir
from notaus.policies.schema import HostEntry, Policy

log = logging.getLogger(__name__)

#: failures that another try will not fix
PERMANENT = ("auth_failed", "not_permitted", "not_supported", "not_found", "invalid_argument",
             "timeout")  # a hang is not retried


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Engine:
    def __init__(self, policy: Policy, journal: Journal, state: StateStore, drivers: dict[str, Driver],
                 base_dir: Path | None = None) -> None:
        self.policy = policy
        self.journal = journal
        self.state = state
        self.drivers = drivers
        self.base_dir = base_dir
        self.settings = policy.controller
        self._executor = ThreadPoolExecutor(max_workers=max(48, 3 * len(drivers)), thread_name_prefix="notaus-dev")
        self._dev_locks = {name: threading.RLock() for name in drivers}
        self._op_lock = threading.RLock()
        self._op_depth = 0
        self._lock_fd: int | None = None
        self._telephony: dict[str, Telephony] = {}
        self._router_hosts: dict[str, list[Host]] = {}
        self._open_errors: dict[str, str] = {}
        #: devices that just did not answer: until when further calls fail at once (fail fast, see _call)
        self._silent: dict[str, tuple[float, DriverError]] = {}
        self._health: dict[str, dict[str, Any]] = {}
        self._status_cache: tuple[float, dict[str, Any]] | None = None
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._planner = IsolationPlanner(self)

    # ---------------------------------------------------------------------------- life cycle
    @classmethod
    def from_policy(cls, policy: Policy, base_dir: Path | None = None, *, open_devices: bool = True) -> Engine:
        state_dir = resolve_state_dir(policy, base_dir)
        journal = Journal(state_dir / "journal.sqlite")
        state = StateStore(state_dir / "state.sqlite")
        drivers = {d.name: build_driver(d, base_dir) for d in policy.devices}
        for drv in drivers.values():
            drv.options.setdefault("cache_dir", str(state_dir / "cache" / drv.name))
        engine = cls(policy, journal, state, drivers, base_dir)
        engine.state_dir = state_dir
        if open_devices:
            engine.open()
        return engine

    state_dir: Path = Path("var")

    def open(self, *, fast: bool = False) -> None:
        """Connect every device in parallel and warm the caches the panic path needs.

        ``fast`` is the cold CLI panic: a router's API description comes from the copy on disk
        (written by the service, ``doctor`` or any earlier start); were it missing, loading it over
        the network is bounded by the device's own ``timeout``, not the generous start-up bound, so a
        dead box yields its verdict within ``timeout`` plus a second.
        """
        if fast:
            for drv in self.drivers.values():
                drv.options["open_timeout"] = drv.timeout

        def _open(name: str, drv: Driver) -> None:
            with self._dev_locks[name]:
                drv.open()
                if isinstance(drv, RouterDriver):
                    self._refresh_router_facts(name, drv)

        futures = {name: self._executor.submit(_open, name, drv) for name, drv in self.drivers.items()}
        for name, fut in futures.items():
            try:
                fut.result(timeout=self.settings.parallel_timeout)
                self._open_errors.pop(name, None)
            except FutureTimeout:
                self._open_errors[name] = f"no answer within {self.settings.parallel_timeout:.0f} s"
                self._mark_silent(name, Unreachable(f"{name}: {self._open_errors[name]}", device=name))
            except DriverError as exc:
                self._open_errors[name] = str(exc)
                if isinstance(exc, Unreachable):
                    self._mark_silent(name, exc)
            except Exception as exc:  # noqa: BLE001 - a broken device must not stop the controller
                self._open_errors[name] = f"{type(exc).__name__}: {exc}"
        self.journal.append("engine.start", {"devices": sorted(self.drivers), "open_errors": self._open_errors})

    def _refresh_router_facts(self, name: str, drv: RouterDriver) -> None:
        try:
            self._telephony[name] = drv.telephony()
        except DriverError:
            self._telephony.setdefault(name, Telephony())
        try:
            self._router_hosts[name] = drv.hosts()
        except DriverError:
            self._router_hosts.setdefault(name, [])

    def close(self) -> None:
        for drv in self.drivers.values():
            try:
                drv.close()
            except Exception:  # noqa: BLE001
                log.exception("closing %s", drv.name)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.journal.close()
        self.state.close()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One state-changing operation at a time, across threads *and* processes.

        The CLI and the service each have an engine on the same state; without this, the service's
        enforcement pass could re-cut what a CLI ``restore`` just restored, or journal a panic still
        in progress as drift. A process that hangs must not block a panic: after a bounded wait the
        operation goes ahead and the journal says so.
        """
        with self._op_lock:
            if self._op_depth == 0:
                self._lock_fd = self._file_lock()
            self._op_depth += 1
            try:
                yield
            finally:
                self._op_depth -= 1
                if self._op_depth == 0 and self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    def _file_lock(self) -> int | None:
        path = Path(self.state.path).with_name("operations.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + 2 * self.settings.parallel_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self.journal.append("warning", {"what": "operations.lock", "message": (
                        "another notaus process held the operations lock too long; going ahead without it")})
                    return None
                time.sleep(0.02)

    def reassert(self) -> list[dict[str, Any]]:
        """After a restart: make the devices match the persisted desired state again."""
        if not self.state.is_active():
            return []
        self.journal.append("engine.reassert", {"desired": self.state.desired()})
        return self.enforce()

    # ---------------------------------------------------------------------------- helpers
    def routers(self) -> dict[str, RouterDriver]:
        return {n: d for n, d in self.drivers.items() if isinstance(d, RouterDriver)}

    def switches(self) -> dict[str, SwitchDriver]:
        return {n: d for n, d in self.drivers.items() if isinstance(d, SwitchDriver)}

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event, data)
            except Exception:  # noqa: BLE001
                log.exception("engine listener failed")

    def _call(self, device: str, fn: Callable[[], Any]) -> Any:
        """One device call under that device's lock, retried on transient failures.

        Fail fast: a device that let a call run into its ``timeout`` is not asked again (no retry,
        and every further call for a short while fails at once with the same verdict), so a panic
        against a dead router says "Kabel ziehen" after one ``timeout``, not after one per step and
        retry. Quick failures (connection refused while the box reboots, fault 820) are retried.
        """
        attempts = 1 + self.settings.retries
        last: DriverError | None = None
        for attempt in range(attempts):
            silent = self._silent.get(device)
            if silent is not None and time.monotonic() < silent[0]:
                raise silent[1]
            started = time.monotonic()
            try:
                with self._dev_locks[device]:
                    self._ensure_open(device)
                    if not getattr(self.drivers[device], "parallel_calls", False):
                        return fn()
                return fn()     # the driver serialises what must be (FRITZ!Box: its worker pool)
            except DriverError as exc:
                if exc.kind in PERMANENT:
                    raise
                last = exc
                if isinstance(exc, Unreachable) and time.monotonic() - started >= 0.9 * self.drivers[device].timeout:
                    self._mark_silent(device, exc)
                    raise
                if attempt + 1 < attempts:
                    time.sleep(min(0.2 * (attempt + 1), 1.0))
        assert last is not None
        raise last

    def _mark_silent(self, device: str, exc: DriverError) -> None:
        """Remember that ``device`` did not answer: calls in the next few seconds fail at once."""
        self._silent[device] = (time.monotonic() + max(2.0, self.drivers[device].timeout), exc)

    def _ensure_open(self, device: str) -> None:
        """A device that failed at start-up is opened again before use (e.g. it was rebooting)."""
        if device not in self._open_errors:
            return
        drv = self.drivers[device]
        try:
            drv.open()
        except DriverError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DriverError(f"{device}: cannot connect: {type(exc).__name__}: {exc}", device=device) from exc
        self._open_errors.pop(device, None)
        self._silent.pop(device, None)
        if isinstance(drv, RouterDriver):
            self._refresh_router_facts(device, drv)

    def _poll(self, device: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
        """Read back until the device confirms or ``verify_timeout`` ends (devices apply asynchronously)."""
        deadline = time.monotonic() + self.settings.verify_timeout
        delay = 0.02
        observed = ""
        while True:
            try:
                ok, observed = self._call(device, check)
            except DriverError as exc:
                ok, observed = False, f"read-back failed: {exc}"
                if device in self._silent and time.monotonic() < self._silent[device][0]:
                    return ok, observed      # the device stopped answering: no point in waiting for it
            if ok or time.monotonic() >= deadline:
                return ok, observed
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _step(self, step: Step, act: Callable[[], Any], verify: Callable[[], tuple[bool, str]] | None,
              on_result: Callable[[Any], None] | None = None, operation: str = "") -> DeviceResult:
        started = time.monotonic()
        res = DeviceResult(step.device, step.action, "failed", target=step.target, host=step.host)
        try:
            value = self._call(step.device, act)
            if on_result is not None:
                on_result(value)
            if verify is None:
                res.outcome, res.message = "done", "device confirmed the call"
            else:
                ok, observed = self._poll(step.device, verify)
                res.outcome = "done" if ok else "unverified"
                res.message = observed if ok else f"the device accepted the command but reads back: {observed}"
                if not ok:   # the driver knows the one setting that makes a box accept and ignore (FRITZ!OS 8.25)
                    res.message += getattr(self.drivers[step.device], "unverified_hint", lambda action: "")(
                        step.action)
        except NotSupported as exc:
            res.outcome, res.message, res.error_kind = "not_supported", str(exc), exc.kind
        except DriverError as exc:
            res.outcome, res.message, res.error_kind, res.detail = "failed", str(exc), exc.kind, exc.detail
        except Exception as exc:  # noqa: BLE001 - report, never crash the panic
            log.exception("step %s failed", step)
            res.outcome, res.error_kind = "failed", "internal"
            res.message = f"internal error: {type(exc).__name__}: {exc}"
        res.seconds = round(time.monotonic() - started, 4)
        self.journal.append("device.result", {"operation": operation, **asdict(res)})
        self._emit("device.result", asdict(res))
        return res

    def _run_parallel(self, jobs: dict[str, list[Callable[[], DeviceResult]]], steps_of: dict[str, list[Step]],
                      operation: str) -> list[DeviceResult]:
        """Each device's steps run in order; devices run in parallel; the whole is bounded in time."""
        def run_device(calls: list[Callable[[], DeviceResult]]) -> list[DeviceResult]:
            return [call() for call in calls]

        def wave(calls: list[Callable[[], DeviceResult]]) -> list[DeviceResult]:
            pending = [self._executor.submit(call) for call in calls[1:]]
            first = calls[0]()
            return [first] + [f.result() for f in pending]

        def run_concurrently(dev: str) -> list[DeviceResult]:
            # a router whose driver takes concurrent calls (FRITZ!Box): the WAN and every host block at
            # once (the box applies host filters asynchronously, so one-by-one waits N times), then every
            # WLAN at once - last, so a tablet on the WLAN sees the verified cut before it drops off
            calls, steps = jobs[dev], steps_of[dev]
            last = [i for i, st in enumerate(steps) if st.action == Action.WLAN_OFF]
            first = [i for i in range(len(calls)) if i not in last]
            out: dict[int, DeviceResult] = {}
            for group in (first, last):
                if group:
                    out.update(zip(group, wave([calls[i] for i in group]), strict=True))
            return [out[i] for i in range(len(calls))]

        futures = {dev: (self._executor.submit(run_concurrently, dev)
                         if len(calls) > 1 and getattr(self.drivers[dev], "parallel_calls", False)
                         else self._executor.submit(run_device, calls))
                   for dev, calls in jobs.items() if calls}
        started = time.monotonic()
        deadline = started + self.settings.parallel_timeout
        results: list[DeviceResult] = []
        for dev, fut in futures.items():
            try:
                results.extend(fut.result(timeout=max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                for st in steps_of.get(dev, []):
                    res = DeviceResult(dev, st.action, "failed", target=st.target, host=st.host,
                                       error_kind="timeout",
                                       message=f"{dev}: no answer within {self.settings.parallel_timeout:.0f} s "
                                               "– the device is hanging or unreachable",
                                       seconds=round(time.monotonic() - started, 4))   # real, not 0
                    self.journal.append("device.result", {"operation": operation, **asdict(res)})
                    results.append(res)
        return results

    # ---------------------------------------------------------------------------- panic
    def plan_panic(self, profile: str = "full") -> Plan:
        if profile not in self.policy.profiles:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(self.policy.profiles)}")
        prof = self.policy.profiles[profile]
        plan = Plan(profile=profile)
        routers = self.routers()
        if not routers:
            plan.notes.append("no router configured: the internet cannot be cut")
        for name, drv in routers.items():
            if prof.cut_wan:
                plan.steps.append(Step.of(name, Action.CUT_WAN))
            if prof.block_clients:
                if not drv.supports("block_host"):
                    raise ValueError(f"profile {profile!r} is not possible here: {name} cannot block single "
                                     "machines; use the profile 'full'")
                for host, ip in self._clients_to_block(name, prof.keep_roles, keep_voip=prof.keep_voip_clients):
                    plan.steps.append(Step.of(name, Action.BLOCK_HOST, HostAddress(ip), host=host))
            if prof.wlan_off:
                # last: a tablet on this WLAN sees the verified cut/blocks (journal) before it drops off
                plan.steps.append(Step.of(name, Action.WLAN_OFF))
            if name in self._open_errors:
                plan.notes.append(f"{name}: at start-up: {self._open_errors[name]}")
        if prof.block_clients and not prof.cut_wan:
            from notaus.controller import keep_phones

            plan.notes.extend(keep_phones.ipv6_unverified(self))   # per-host blocks are IPv4 by signature
        plan.warnings = panic_warnings(self.policy, prof, self._telephony)
        return plan

    def _clients_to_block(self, router: str, keep_roles: list[str], *,
                          keep_voip: bool = False) -> list[tuple[str, str]]:
        """Every client the router lists *now* and every policy host, except the kept (by MAC), notaus and the gear.

        ``keep_voip``: the box's registered VoIP clients are kept too, named in the policy or not (issue 17).
        """
        from notaus.controller import keep_phones

        hosts = keep_phones.current_hosts(self, router)
        return [(t.name, t.ip) for t in keep_phones.targets(self, keep_roles, hosts, router=router,
                                                             keep_voip=keep_voip)]

    def panic(self, profile: str = "full", *, actor: str) -> OperationResult:
        started = time.monotonic()
        with self._exclusive():
            self.journal.append("panic.request", {"profile": profile}, actor=actor)
            try:
                plan = self.plan_panic(profile)
            except ValueError as exc:
                self.journal.append("panic.refused", {"reason": str(exc)}, actor=actor)
                return OperationResult("panic", "refused", message=str(exc))
            self.journal.append("panic.plan", plan.to_dict(), actor=actor)

            def record(desired: dict[str, Any]) -> None:
                desired["containment"] = {"profile": profile, "since": _now(), "actor": actor}
                for st in plan.steps:
                    if st.action == Action.CUT_WAN:
                        desired["wan_cut"].setdefault(st.device, {"memo": None, "since": _now()})
                    elif st.action == Action.WLAN_OFF:
                        desired["wlan_off"].setdefault(st.device, {"since": _now()})
                    elif st.action == Action.BLOCK_HOST:
                        desired["router_blocks"].setdefault(
                            st.target, {"router": st.device, "host": st.host, "reason": "panic", "since": _now()})
            self.state.update(record)

            jobs, steps_of = self._jobs_for(plan.steps, "panic")
            results = self._run_parallel(jobs, steps_of, "panic")
            outcome = OperationResult.summarize(results) if plan.steps else "failed"
            from notaus.controller import egress

            # proof from the data plane: a second way out (LTE, second line, hotspot) survives any router cut
            proof = egress.after_panic(self, profile, outcome)
            second_path = bool(proof and proof["reachable"])
            if second_path and outcome == "done":
                outcome = "partial"
            result = OperationResult("panic", outcome, results, plan.warnings,
                                     message=egress.MESSAGE_DE if second_path else _panic_message(outcome, plan)
                                     + ("" if not any("IPv6" in n for n in plan.notes) else
                                        " IPv6 nicht geprüft – siehe Hinweise."),
                                     seconds=round(time.monotonic() - started, 3),
                                     data={"profile": profile, "notes": plan.notes, "egress": proof})
            self.journal.append("panic.result", {"outcome": outcome, "seconds": result.seconds,
                                                 "steps": len(results), "notes": plan.notes}, actor=actor)
            self._status_cache = None
            self._emit("panic.result", result.to_dict())
            return result

    def _jobs_for(self, steps: list[Step], operation: str) -> tuple[dict[str, list[Callable[[], DeviceResult]]],
                                                                     dict[str, list[Step]]]:
        jobs: dict[str, list[Callable[[], DeviceResult]]] = {}
        steps_of: dict[str, list[Step]] = {}
        for st in steps:
            jobs.setdefault(st.device, []).append(self._make_call(st, operation))
            steps_of.setdefault(st.device, []).append(st)
        return jobs, steps_of

    def _make_call(self, st: Step, operation: str) -> Callable[[], DeviceResult]:
        """The step as one call: the registry's driver call and read-back (controller.actions)."""
        name = st.device
        sp = action_spec(st.action)
        drv = self.drivers[name]
        if not isinstance(drv, sp.device):
            raise ValueError(f"{st.action} needs a {sp.device.__name__}, {name} is not one")
        target = parse_target(st.action, st.target)
        memo = self.state.get(f"wan_memo:{name}") if sp.takes_memo else None

        def keep_memo(value: Any) -> None:
            def upd(d: dict[str, Any]) -> None:
                entry = d["wan_cut"].get(name)   # gone if a restore came in between: do not revive it
                if entry is not None and not entry.get("memo") and isinstance(value, dict):
                    entry["memo"] = value   # never overwrite the pre-cut trigger with our own "Manual"
            self.state.update(upd)

        def act() -> Any:
            return sp.act(drv, target, memo)

        def verify() -> tuple[bool, str]:
            return sp.verify(drv, target)
        change = self._saving(name, act) if sp.saves_config else act
        return lambda: self._step(st, change, verify, keep_memo if sp.returns_memo else None, operation)

    def _saving(self, switch: str, change: Callable[[], Any]) -> Callable[[], Any]:
        """Where the policy asks (``save_config``), persist the switch config so a reboot keeps the isolation.

        A failed save is journaled as a warning; the port change itself stands and is verified.
        """
        if not self.policy.device(switch).save_config:
            return change

        def change_and_save() -> Any:
            value = change()
            try:
                self.switches()[switch].save()
            except DriverError as exc:
                self.journal.append("warning", {"device": switch, "what": "save_config", "message": str(exc)})
            return value
        return change_and_save

    # ---------------------------------------------------------------------------- restore
    def restore(self, *, actor: str, reason: str, stage: str = "all") -> OperationResult:
        """Staged: ``wan`` (internet + WLAN back), ``hosts`` (panic blocks lifted one by one), ``all``.

        Isolated hosts stay isolated: each is released on its own after the provider checked it.
        """
        if stage not in ("wan", "hosts", "all"):
            return OperationResult("restore", "refused", message=f"unknown stage {stage!r} (wan, hosts, all)")
        if not any(c.isprintable() and not c.isspace() for c in reason) or any(
                ord(c) < 32 and c not in "\t\n\r" for c in reason):
            return OperationResult("restore", "refused", message="a reason is required to restore "
                                   "(readable text, no control characters)")
        started = time.monotonic()
        with self._exclusive():
            self.journal.append("restore.request", {"reason": reason, "stage": stage}, actor=actor)
            steps: list[Step] = []
            removed: dict[str, Any] = {}

            def change(d: dict[str, Any]) -> None:
                if stage in ("wan", "all"):
                    for router, entry in d["wan_cut"].items():
                        self.state.put(f"wan_memo:{router}", entry.get("memo"))
                        steps.append(Step(router, action_spec(Action.CUT_WAN).inverse))
                    steps.extend(Step(router, action_spec(Action.WLAN_OFF).inverse) for router in d["wlan_off"])
                    d["wan_cut"], d["wlan_off"] = {}, {}
                if stage in ("hosts", "all"):
                    isolated_ips = {i.get("ip") for i in d["isolations"].values()}
                    for ip, entry in list(d["router_blocks"].items()):
                        if entry.get("reason") == "panic" and ip not in isolated_ips:
                            steps.append(Step(entry["router"], *undo(Action.BLOCK_HOST, ip),
                                              host=entry.get("host", "")))
                            del d["router_blocks"][ip]
                if not (d["wan_cut"] or d["wlan_off"] or any(
                        e.get("reason") == "panic" for e in d["router_blocks"].values())):
                    removed["containment"] = d["containment"]
                    d["containment"] = None
            self.state.update(change)
            # Staged: WAN first, then hosts one by one (sequential within the router anyway).
            jobs, steps_of = self._jobs_for(steps, "restore")
            results = self._run_parallel(jobs, steps_of, "restore")
            outcome = OperationResult.summarize(results)
            still = sorted(self.state.desired()["isolations"])
            msg = "restored and verified" if outcome == "done" else "restore incomplete – see devices"
            if still:
                msg += f"; still isolated (release one by one after checking): {', '.join(still)}"
            result = OperationResult("restore", outcome, results, message=msg,
                                     seconds=round(time.monotonic() - started, 3),
                                     data={"stage": stage, "still_isolated": still})
            self.journal.append("restore.result", {"outcome": outcome, "stage": stage, "still_isolated": still},
                                actor=actor)
            self._status_cache = None
            return result

    # ---------------------------------------------------------------------------- isolation
    def resolve_host(self, ident: str) -> HostEntry:
        """HOST = configured name, IPv4 or MAC; unknown IP/MAC are looked up in the router's host list."""
        return self._planner.resolve_host(ident)

    def guard_host(self, host: HostEntry) -> None:
        """Fail closed: protected assets, the controller and the network gear are never isolated."""
        self._planner.guard_host(host)

    def isolate(self, host: str, *, actor: str, reason: str = "", source: str = "manual",
                evidence: dict[str, Any] | None = None, method: str = "auto") -> OperationResult:
        started = time.monotonic()
        with self._exclusive():
            self.journal.append("isolate.request", {"host": host, "reason": reason, "source": source,
                                                    "method": method, "evidence": evidence or {}}, actor=actor)
            try:
                if method not in ("auto", "port", "vlan", "router"):
                    raise Refused(f"unknown method {method!r} (auto, port, vlan, router)")
                entry = self.resolve_host(host)
                self.guard_host(entry)
                steps, notes = self._planner.steps(entry, method)
                if not steps:
                    raise Refused("nothing can isolate this machine here: " + "; ".join(notes))
            except Refused as exc:
                self.journal.append("guard.refused", {"operation": "isolate", "host": host, "reason": str(exc)},
                                    actor=actor)
                return OperationResult("isolate", "refused", message=str(exc), data={"host": host})
            previous_vlans: dict[str, int | None] = {}
            for st in steps:
                if st.action == Action.SET_VLAN:
                    port = st.port
                    previous_vlans[port], why = vlan_to_restore(self, st.device, port)
                    if previous_vlans[port] is None:   # no way back known: refuse rather than strand the PC
                        self.journal.append("guard.refused", {"operation": "isolate", "host": host,
                                                              "reason": why}, actor=actor)
                        return OperationResult("isolate", "refused", message=why, data={"host": host})

            def record(d: dict[str, Any]) -> None:
                d["isolations"][entry.name] = {
                    "host": entry.name, "ip": entry.ip, "mac": entry.mac, "reason": reason, "source": source,
                    "actor": actor, "since": _now(), "evidence": evidence or {},
                    "methods": [{"device": s.device, "action": s.action, "target": s.target,
                                 "previous_vlan": previous_vlans.get(s.port)}
                                for s in steps],
                }
                for s in steps:
                    if s.action == Action.BLOCK_HOST:
                        d["router_blocks"][s.target] = {"router": s.device, "host": entry.name,
                                                        "reason": "isolation", "since": _now()}
            self.state.update(record)
            self.journal.append("isolate.plan", {"host": entry.name, "steps": [asdict(s) for s in steps],
                                                 "notes": notes}, actor=actor)
            jobs, steps_of = self._jobs_for(steps, "isolate")
            results = self._run_parallel(jobs, steps_of, "isolate")
            outcome = OperationResult.summarize(results)
            msg = {"done": f"{entry.name} isolated and verified", "partial": f"{entry.name} only partly isolated",
                   "failed": f"{entry.name} could not be isolated"}.get(outcome, "")
            result = OperationResult("isolate", outcome, results, message=msg,
                                     seconds=round(time.monotonic() - started, 3),
                                     data={"host": entry.name, "ip": entry.ip, "mac": entry.mac, "notes": notes})
            self.journal.append("isolate.result", {"host": entry.name, "outcome": outcome, "notes": notes},
                                actor=actor)
            self._status_cache = None
            return result

    def _port_vlan(self, switch: str, port: str) -> int | None:
        try:
            for p in self._call(switch, self.switches()[switch].ports):
                if p.name == port:
                    return p.vlan
        except DriverError:
            pass
        return None

    def release(self, host: str, *, actor: str, reason: str = "") -> OperationResult:
        started = time.monotonic()
        with self._exclusive():
            self.journal.append("release.request", {"host": host, "reason": reason}, actor=actor)
            desired = self.state.desired()
            key = self._isolation_key(host, desired)
            if key is None:
                msg = f"{host} is not isolated by notaus"
                self.journal.append("release.refused", {"host": host, "reason": msg}, actor=actor)
                return OperationResult("release", "refused", message=msg, data={"host": host})
            iso = desired["isolations"][key]
            steps: list[Step] = []
            blocked: list[str] = []
            for m in iso["methods"]:
                back = m.get("previous_vlan") or (self.policy.device(m["device"]).options.get("access_vlan")
                                                  if m["action"] == Action.SET_VLAN else None)
                try:
                    inverse, target = undo(m["action"], m["target"], back)
                except LookupError as exc:
                    blocked.append(f"{m['device']}: {exc}; set options.access_vlan for {m['device']} "
                                   "(or move the port back by hand)")
                    continue
                steps.append(Step(m["device"], inverse, target, host=key))
            jobs, steps_of = self._jobs_for(steps, "release")
            results = self._run_parallel(jobs, steps_of, "release")
            done = release_done(iso["methods"], results)

            def change(d: dict[str, Any]) -> None:
                # forget only what read-back shows undone: a method still in place on a device stays
                entry = d["isolations"].get(key)
                if entry is None:
                    return
                entry["methods"] = [m for i, m in enumerate(entry["methods"]) if i not in done]
                if not entry["methods"]:
                    d["isolations"].pop(key, None)
                for r in results:   # the router confirmed the unblock, or says it never held the address
                    if r.action == Action.UNBLOCK_HOST and (r.outcome == "done" or r.error_kind in NEVER_HELD) \
                            and d["router_blocks"].get(r.target, {}).get("reason") == "isolation":
                        del d["router_blocks"][r.target]
            self.state.update(change)
            still = len(iso["methods"]) - len(done)
            outcome: Outcome
            if blocked:
                outcome = "partial" if done else "failed"
            else:   # every method undone by read-back (or never held by the device): released
                outcome = "done" if not still else OperationResult.summarize(results)
            message = f"{key} released" if outcome == "done" and not still else \
                f"{key}: release incomplete, {still} isolation step(s) still in place" + \
                (f" ({'; '.join(blocked)})" if blocked else "")
            result = OperationResult("release", outcome if not still else ("partial" if done else "failed"),
                                     results, message=message,
                                     seconds=round(time.monotonic() - started, 3), data={"host": key})
            self.journal.append("release.result", {"host": key, "outcome": result.outcome, "still_in_place": still,
                                                   "blocked": blocked}, actor=actor)
            self._status_cache = None
            return result

    def _isolation_key(self, ident: str, desired: dict[str, Any]) -> str | None:
        isolations = desired["isolations"]
        if ident in isolations:
            return ident
        mac = safe_mac(ident)
        ip = canonical_ip(ident)
        for key, iso in isolations.items():
            if ident == iso.get("ip") or (mac and mac == iso.get("mac")) or key.casefold() == ident.strip().casefold() \
                    or (ip and ip == canonical_ip(iso.get("ip") or "")):
                return key
        found = self.policy.find_host(ident)
        return found.name if found is not None and found.name in isolations else None

    # ---------------------------------------------------------------------------- observation
    def status(self, max_age: float = 0.0, observed: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The documented ``status --json`` document; ``max_age`` lets busy callers share a reading.

        ``observed`` is a reading taken elsewhere (the service's observer, :mod:`controller.observer`);
        without it every device is read now.
        """
        cached = self._status_cache
        if observed is None and max_age > 0 and cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        desired = self.state.desired()
        if observed is None:
            observed = observe(self)
        gaps = find_gaps(desired, observed)
        gap_hosts = {g["step"].host for g in gaps if g["step"].host}
        panic_active = desired["containment"] is not None
        panic_gaps = [g for g in gaps if g["what"] in ("wan", "wlan") or (
            g["what"] == "host_block" and desired["router_blocks"].get(g["step"].target, {}).get("reason") == "panic")]
        attention = Attention(self.state, self.journal).view()
        isolations = []
        for key, iso in sorted(desired["isolations"].items()):
            isolations.append({"host": key, "ip": iso.get("ip"), "mac": iso.get("mac"), "reason": iso.get("reason"),
                               "source": iso.get("source"), "since": iso.get("since"),
                               "methods": [f"{m['device']}:{m['action']}:{m['target']}" for m in iso["methods"]],
                               "verified": key not in gap_hosts,
                               "needs_attention": any(a.get("host") == key for a in attention)})
        devices = []
        for d in self.policy.devices:
            obs = dict(observed.get(d.name, {}))
            obs.pop("port_vlans", None)
            obs.pop("wan_detail", None)
            obs.pop("wan_trigger", None)
            if d.name in self._health and not self._health[d.name].get("ok", True):
                obs["health"] = self._health[d.name].get("message")
            devices.append(obs)
        from notaus.controller import egress

        proof = egress.for_status(self, bool(panic_active and not panic_gaps))
        if proof is not None and proof["reachable"]:
            panic_gaps.append({"what": "second_path"})    # notaus reached the internet: not contained
        ipv6_notes: list[str] = []
        profile = self.policy.profiles.get(str((desired["containment"] or {}).get("profile", "")))
        if panic_active and profile is not None and profile.block_clients and not profile.cut_wan:
            from notaus.controller import keep_phones

            ipv6_notes = keep_phones.ipv6_unverified(self)
            if ipv6_notes:
                panic_gaps.append({"what": "ipv6_unverified"})   # "contained" claims only what was read back
        doc = {
            "contained": bool(panic_active and not panic_gaps),
            "containment": desired["containment"],
            "state": ("getrennt" if panic_active and not panic_gaps else
                      "teilweise" if panic_active or desired["isolations"] else
                      # a router that does not answer is not "verbunden": nobody knows what it does
                      "unbekannt" if any(not observed.get(r, {}).get("reachable", False) for r in self.routers())
                      else "verbunden"),
            "devices": devices,
            "isolations": isolations,
            "drift": [{k: v for k, v in g.items() if k != "step"} for g in gaps],
            "journal_head": (h.hash if (h := self.journal.head()) else None),
            "attention": attention,
        }
        if proof is not None:
            doc["egress"] = proof
            if proof["reachable"]:
                doc["warnings"] = [*doc.get("warnings", []), egress.MESSAGE_DE]
        if ipv6_notes:
            doc["warnings"] = [*doc.get("warnings", []), *ipv6_notes]
        self._status_cache = (time.monotonic(), doc)
        return doc

    def enforce(self) -> list[dict[str, Any]]:
        """Close the gap between desired and observed: journal each drift, then re-apply it."""
        with self._exclusive():
            desired = self.state.desired()
            if not self.state.is_active():
                Attention(self.state, self.journal).prune([])
                return []
            from notaus.controller import keep_phones

            # keep-phones: clients that joined or changed address since the panic become desired blocks
            freed = keep_phones.refresh(self)
            desired = self.state.desired()
            observed = observe(self)
            all_gaps = find_gaps(desired, observed)
            attention = Attention(self.state, self.journal)
            attention.prune(all_gaps)   # device confirms it now, or it is no longer wanted
            gaps = [g for g in all_gaps if observed.get(g["device"], {}).get("reachable")]
            gaps = attention.due(gaps)  # refused steps wait for their backoff: no journal entry per pass
            if not gaps and not freed:
                return []
            drifts = [{k: v for k, v in g.items() if k != "step"} for g in gaps]
            for drift in drifts:
                self.journal.append("drift", drift)
            jobs, steps_of = self._jobs_for([g["step"] for g in gaps] + freed, "enforce")
            results = self._run_parallel(jobs, steps_of, "enforce")
            aligned = _align(gaps, results)
            for drift, res in zip(drifts, aligned, strict=False):
                drift["reapplied"] = res.outcome if res else "unknown"
            attention.record(gaps, aligned)
            self.journal.append("enforce.result", {"drifts": drifts})
            self._status_cache = None
            self._emit("drift", {"drifts": drifts})
            return drifts

    def health(self) -> list[dict[str, Any]]:
        """Read-only check of every device; journals only changes, so a broken box is seen before a panic."""
        def probe(name: str, drv: Driver) -> dict[str, Any]:
            try:
                facts = self._call(name, drv.check)
                if isinstance(drv, RouterDriver):
                    self._refresh_router_facts(name, drv)
                return {"device": name, "ok": True, "message": "ok", "facts": facts}
            except DriverError as exc:
                return {"device": name, "ok": False, "message": str(exc), "kind": exc.kind}
            except Exception as exc:  # noqa: BLE001
                return {"device": name, "ok": False, "message": f"{type(exc).__name__}: {exc}", "kind": "internal"}

        futures = {name: self._executor.submit(probe, name, drv) for name, drv in self.drivers.items()}
        out = []
        for name, fut in futures.items():
            try:
                res = fut.result(timeout=self.settings.parallel_timeout)
            except FutureTimeout:
                res = {"device": name, "ok": False, "kind": "timeout",
                       "message": f"{name}: no answer within {self.settings.parallel_timeout:.0f} s"}
            before = self._health.get(name)
            if before is None or before.get("ok") != res["ok"] or before.get("message") != res["message"]:
                self.journal.append("health", {k: v for k, v in res.items() if k != "facts"})
            self._health[name] = res
            out.append(res)
        self._check_coverage()
        return out

    def _check_coverage(self) -> None:
        """Warn (journal on change) when the router knows devices the policy does not classify (issue 17)."""
        from notaus.controller.coverage import router_findings

        found = []
        for name in self.routers():
            if name in self._router_hosts:
                phones = self._telephony.get(name, Telephony()).phones
                found += [f.en for f in router_findings(self.policy, self._router_hosts[name], phones)]
        before = getattr(self, "_coverage", None)
        if found != before:
            self._coverage = found
            if found or before:
                self.journal.append("health.coverage", {"warnings": found})

    def health_snapshot(self) -> dict[str, dict[str, Any]]:
        return dict(self._health)


#: a router that answers an unblock with these does not know the address at all, so it cannot hold a block for it
#: (an isolation of an address the device refused from the start, see controller.attention)
NEVER_HELD = ("not_found", "invalid_argument")


def release_done(methods: list[dict[str, Any]], results: list[DeviceResult]) -> set[int]:
    """Indexes of isolation methods whose undo the device confirmed by read-back (outcome ``done``), or
    router blocks of an address the router says it does not know (``NEVER_HELD``)."""
    done: set[int] = set()
    for i, m in enumerate(methods):
        inverse, about = action_spec(m["action"]).inverse, subject(m["action"], m["target"])
        for r in results:
            if r.device == m["device"] and r.action == inverse and subject(r.action, r.target) == about \
                    and (r.outcome == "done" or (r.action == Action.UNBLOCK_HOST and r.error_kind in NEVER_HELD)):
                done.add(i)
    return done


def _align(gaps: list[dict[str, Any]], results: list[DeviceResult]) -> list[DeviceResult | None]:
    out: list[DeviceResult | None] = []
    for g in gaps:
        st: Step = g["step"]
        out.append(next((r for r in results if r.device == st.device and r.action == st.action
                         and r.target == st.target), None))
    return out


def _panic_message(outcome: str, plan: Plan) -> str:
    if not plan.steps:
        return "nothing to do: no router configured"
    return {"done": "Praxis ist vom Internet getrennt – am Gerät geprüft.",
            "partial": "Nur teilweise getrennt – bitte IT-Dienstleister anrufen und Netzwerkkabel ziehen.",
            "failed": "Trennen fehlgeschlagen – Netzwerkkabel am Router ziehen!"}.get(outcome, "")


__all__ = ["Engine", "Refused", "build_driver", "Unreachable"]
