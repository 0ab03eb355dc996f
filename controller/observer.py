"""Status from one observer: one loop reads the devices, every status reader gets its latest reading.

Without it every ``GET /api/v1/status``, every UI poll and every ``/metrics`` scrape read every
device: under 50 pollers the routers answered 3 requests a second with a p95 of 15 s, and only a
1-second time cache hid it. This is the coordinator pattern of Home Assistant's integrations
(``DataUpdateCoordinator``: one poll on an ``update_interval`` that all entities share,
``async_request_refresh`` after a change, ``last_update_success`` so nobody mistakes old data for
new): :class:`StatusObserver` reads each device on its own schedule and keeps the latest reading with
the time it was taken.

Honesty rules:

* Every document says how old it is (``observation.age_seconds``) and each device says how old its
  reading is; ``stale`` is true when the loop has fallen behind (no round finished within
  ``stale_after``) or a device's reading is older than that (a device that hangs).
* A device that does not answer does not stall the others: each device is read in its own worker,
  at most one read per device is in flight, and a round waits for the devices at most one interval.
  A read still running after ``parallel_timeout`` makes the device "not reachable, no answer" (as a
  direct reading would say); until then its previous reading is shown with its age.
* After a state change (an operation's ``*.result`` or ``drift`` in the journal, or
  :meth:`StatusObserver.refresh`) readers wait (bounded) for a round that started afterwards, so
  nobody sees "verbunden" right after a verified panic.

The panic path and ``notaus status`` on the command line still read the devices themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from notaus.controller.observe import observe_device, unanswered

if TYPE_CHECKING:
    from notaus.controller.engine import Engine
    from notaus.controller.journal import Entry

log = logging.getLogger(__name__)

#: journal kinds after which the devices changed (or should have): the next reader waits for a new round
CHANGE_KINDS = ("panic.result", "restore.result", "isolate.result", "release.result", "enforce.result", "drift")


@dataclass(frozen=True)
class Reading:
    """What one device reported, and when (monotonic for ages, wall clock for people)."""

    data: dict[str, Any]
    at: float
    wall: str


@dataclass(frozen=True)
class Observation:
    """One round's status document, built from the latest reading of every device."""

    doc: dict[str, Any]
    started: float
    finished: float
    wall: str
    readings: dict[str, Reading] = field(default_factory=dict)
    overdue: frozenset[str] = frozenset()
    extras: dict[str, Any] = field(default_factory=dict)


def _wall() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StatusObserver:
    """``StatusObserver(engine, interval=5).start()``; ``document()`` is the status with its age.

    ``augment`` is called once per round and its result kept beside the document (the API uses it
    for the service view, which reads the journal and the scheduler; see :mod:`api.status_view`).
    """

    def __init__(self, engine: Engine, *, interval: float = 5.0, stale_after: float | None = None,
                 augment: Callable[[], dict[str, Any]] | None = None) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.engine = engine
        self.interval = float(interval)
        self.timeout = float(engine.settings.parallel_timeout)
        #: a round normally ends within two intervals of the last one; three is "fallen behind"
        self.stale_after = float(stale_after) if stale_after else 3 * self.interval
        self.augment = augment
        # one worker per device: at most one read per device is in flight, so none ever waits for a slot
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(engine.drivers)), thread_name_prefix="notaus-observe")
        self._inflight: dict[str, tuple[Future[dict[str, Any] | None], float]] = {}
        self._readings: dict[str, Reading] = {}
        self._latest: Observation | None = None
        self._want_after = 0.0          # monotonic time of the last refresh request
        self._cond = threading.Condition()
        self._round_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        engine.journal.add_listener(self._on_journal)

    # ------------------------------------------------------------------------------ life cycle
    def start(self) -> StatusObserver:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="notaus-observer", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + self.interval)
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the loop must outlive any one bad round
                log.exception("status observer round failed")
            self._wake.wait(max(0.0, self.interval - (time.monotonic() - began)))
            self._wake.clear()

    def _on_journal(self, entry: Entry) -> None:
        if entry.kind in CHANGE_KINDS:
            self.refresh()

    def refresh(self) -> None:
        """The devices changed: start a round now, and let readers wait for it."""
        with self._cond:
            self._want_after = time.monotonic()
        self._wake.set()

    # ------------------------------------------------------------------------------ one round
    def _read(self, name: str, desired: dict[str, Any]) -> dict[str, Any] | None:
        return observe_device(self.engine, name, desired)

    def _harvest(self) -> None:
        for name, (fut, _submitted) in list(self._inflight.items()):
            if not fut.done():
                continue
            del self._inflight[name]
            try:
                data = fut.result()
            except Exception as exc:  # noqa: BLE001 - a driver bug is an unreadable device, not a dead loop
                data = unanswered(self.engine, name, f"{type(exc).__name__}: {exc}")
            if data is not None:
                self._readings[name] = Reading(data, time.monotonic(), _wall())

    def run_once(self) -> Observation:
        """Read every device whose last read has finished, wait at most one interval, build the document."""
        with self._round_lock:
            started = time.monotonic()
            desired = self.engine.state.desired()
            self._harvest()
            for name in self.engine.drivers:
                if name not in self._inflight:
                    self._inflight[name] = (self._pool.submit(self._read, name, desired), time.monotonic())
            wait_futures([f for f, _ in self._inflight.values()], timeout=min(self.interval, self.timeout))
            self._harvest()
            now = time.monotonic()
            overdue = set()
            for name, (_fut, submitted) in self._inflight.items():
                if now - submitted >= self.timeout:
                    overdue.add(name)
                    self._readings[name] = Reading(unanswered(self.engine, name), now, _wall())
                elif name not in self._readings:     # first round, device still answering
                    self._readings[name] = Reading(
                        unanswered(self.engine, name, "no reading yet (still asking the device)"), now, _wall())
            readings = dict(self._readings)
            doc = self.engine.status(observed={n: r.data for n, r in readings.items()})
            extras: dict[str, Any] = {}
            if self.augment is not None:
                try:
                    extras = dict(self.augment())
                except Exception:  # noqa: BLE001
                    log.exception("status observer: augment failed")
            obs = Observation(doc, started, time.monotonic(), _wall(), readings, frozenset(overdue), extras)
            with self._cond:
                self._latest = obs
                self.rounds += 1
                self._cond.notify_all()
            return obs

    # ------------------------------------------------------------------------------ readers
    def latest(self, *, wait: float | None = None) -> Observation:
        """The newest observation; after a change, one whose round started after it (waits at most ``wait``)."""
        limit = time.monotonic() + (self.timeout + self.interval if wait is None else wait)
        with self._cond:
            while True:
                obs = self._latest
                if obs is not None and obs.started >= self._want_after:
                    return obs
                if not self.running:
                    break
                left = limit - time.monotonic()
                if left <= 0:
                    if obs is not None:
                        return obs      # honest: document() marks it stale by its age
                    break
                self._cond.wait(left)
        return self.run_once()          # no loop (or no first round yet): read once here

    def document(self, obs: Observation | None = None) -> dict[str, Any]:
        """The status document with ``observation`` (age, stale) and each device's reading age."""
        obs = obs or self.latest()
        now = time.monotonic()
        doc = dict(obs.doc)
        stale_devices = []
        devices = []
        for dev in doc.get("devices") or []:
            dev = dict(dev)
            reading = obs.readings.get(str(dev.get("name")))
            if reading is not None:
                age = now - reading.at
                pending = self._inflight.get(str(dev.get("name")))
                hung = pending is not None and now - pending[1] > self.stale_after
                stale = age > self.stale_after or hung or dev.get("name") in obs.overdue
                dev.update(observed_at=reading.wall, age_seconds=round(age, 3), stale=stale)
                if stale:
                    stale_devices.append(dev["name"])
            devices.append(dev)
        doc["devices"] = devices
        age = now - obs.finished
        doc["observation"] = {"source": "observer", "taken_at": obs.wall, "age_seconds": round(age, 3),
                              "interval_seconds": self.interval, "stale_after_seconds": self.stale_after,
                              "stale": age > self.stale_after or bool(stale_devices),
                              "stale_devices": stale_devices, "running": self.running}
        return doc
