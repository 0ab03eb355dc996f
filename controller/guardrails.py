"""The one guardrail layer between every automated path and the engine.

An EDR agent's webhook, the detection responder (isolation by score) and the scheduler's
auto-release all go through :class:`AgentGate`; only a person (staff/provider, CLI) calls the engine
directly. An agent can be wrong or compromised, a detector can be fooled; neither may switch the
practice off. So:

* the host is resolved to one identity (:mod:`controller.host_identity`) before anything else: an
  address that is not a practice host is refused and never reaches the desired state;
* protected hosts (TI-Konnektor, router, switches, the controller, ``protected: true``) are refused
  here, by resolved identity, and once more by the engine;
* at most ``policy.guardrails.max_auto_isolations`` automatic isolations per ``window_minutes``,
  across all automated sources and processes. A request counts when it is *accepted*, whatever the
  device says: a failed attempt stays in the desired state (the enforcement loop retries it), so it
  used its slot. Beyond the budget the request is *queued* for a person to approve or reject;
* a host that is already isolated or already waiting collapses onto the existing request;
* optional auto-release after ``auto_release_minutes``: the due time is stored, and the scheduler
  calls :meth:`AgentGate.release_due` (no Flask needed);
* every request is journaled with its source and evidence before anything else happens.

The gate keeps its own small SQLite store (``GateStore``) in the state directory.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from notaus.controller.host_identity import HostIdentity, HostResolver, NotPracticeHost
from notaus.controller.sqlite import connect

Decision = Literal["isolated", "partial", "failed", "queued", "duplicate", "refused"]

#: request rows in these states hold the host (isolated or about to be)
ACTIVE = ("isolating", "isolated", "approved")
#: automatic requests in these states used a budget slot (accepted; the device's answer does not matter)
COUNTED = "('isolating','isolated','released','failed')"


class GateConflict(Exception):
    """The approval was already decided (answer 409)."""


@dataclass
class GateDecision:
    decision: Decision
    request_id: str
    host: str
    detail: str
    result: dict[str, Any] | None = None
    auto_release_at: str | None = None
    existing: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "request_id": self.request_id, "host": self.host,
                "detail": self.detail, "result": self.result, "auto_release_at": self.auto_release_at,
                "existing": self.existing}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


class GateStore:
    """Agent requests and their fate, in SQLite (survives a restart, so the window does too)."""

    COLUMNS = ("id", "host", "agent", "reason", "source", "evidence", "created", "status", "automatic",
               "decided_by", "decided_at", "release_due", "released_at", "result")

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._db = connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS agent_requests (id TEXT PRIMARY KEY, host TEXT NOT NULL, "
            "agent TEXT NOT NULL, reason TEXT, source TEXT, evidence TEXT, created TEXT NOT NULL, "
            "status TEXT NOT NULL, automatic INTEGER NOT NULL DEFAULT 0, decided_by TEXT, decided_at TEXT, "
            "release_due TEXT, released_at TEXT, result TEXT)")

    def _row(self, row: tuple[Any, ...]) -> dict[str, Any]:
        out = dict(zip(self.COLUMNS, row, strict=True))
        out["evidence"] = json.loads(out["evidence"]) if out["evidence"] else None
        out["result"] = json.loads(out["result"]) if out["result"] else None
        out["automatic"] = bool(out["automatic"])
        return out

    def insert(self, **values: Any) -> None:
        values = dict(values)
        values["evidence"] = json.dumps(values.get("evidence")) if values.get("evidence") is not None else None
        cols = ",".join(values)
        with self.lock:
            self._db.execute(f"INSERT INTO agent_requests({cols}) VALUES ({','.join('?' * len(values))})",
                             tuple(values.values()))

    def update(self, req_id: str, **values: Any) -> None:
        if "result" in values and values["result"] is not None:
            values["result"] = json.dumps(values["result"])
        sets = ",".join(f"{k}=?" for k in values)
        with self.lock:
            self._db.execute(f"UPDATE agent_requests SET {sets} WHERE id=?", (*values.values(), req_id))

    def get(self, req_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute(f"SELECT {','.join(self.COLUMNS)} FROM agent_requests WHERE id=?",
                                   (req_id,)).fetchone()
        return self._row(row) if row else None

    def select(self, where: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.lock:
            rows = self._db.execute(
                f"SELECT {','.join(self.COLUMNS)} FROM agent_requests WHERE {where} ORDER BY created",
                params).fetchall()
        return [self._row(r) for r in rows]

    def count_auto_since(self, since: datetime) -> int:
        """Automatic isolations accepted since ``since`` - failed ones included (their effect stays wanted)."""
        with self.lock:
            row = self._db.execute(
                f"SELECT COUNT(*) FROM agent_requests WHERE automatic=1 AND created >= ? "
                f"AND status IN {COUNTED}", (_iso(since),)).fetchone()
        return int(row[0])

    def reserve(self, row: dict[str, Any], *, since: datetime, limit: int) -> bool:
        """Take a budget slot and insert ``row`` as ``isolating`` in one write transaction, or return False.

        One transaction (``BEGIN IMMEDIATE``) so that the service and a detection process sharing this
        file can never both take the last slot.
        """
        values = {**row, "status": "isolating", "automatic": 1}
        values["evidence"] = json.dumps(values.get("evidence")) if values.get("evidence") is not None else None
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                used = self._db.execute(
                    f"SELECT COUNT(*) FROM agent_requests WHERE automatic=1 AND created >= ? "
                    f"AND status IN {COUNTED}", (_iso(since),)).fetchone()[0]
                if int(used) >= limit:
                    self._db.execute("ROLLBACK")
                    return False
                cols = ",".join(values)
                self._db.execute(f"INSERT INTO agent_requests({cols}) VALUES ({','.join('?' * len(values))})",
                                 tuple(values.values()))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return True

    def close(self) -> None:
        with self.lock:
            self._db.close()


class AgentGate:
    """Decide what happens to an agent's isolation request; independent of Flask."""

    def __init__(self, policy: Any, journal: Any, engine: Any, store: GateStore) -> None:
        self.policy = policy
        self.journal = journal
        self.engine = engine
        self.store = store

    # ------------------------------------------------------------------------------ helpers
    def _resolver(self) -> HostResolver:
        planner = getattr(self.engine, "_planner", None)
        if planner is not None and hasattr(planner, "resolver"):
            return cast(HostResolver, planner.resolver())
        return HostResolver(self.policy)

    def _canonical(self, host: str) -> tuple[str, Any]:
        try:
            ident = self._resolver().resolve(host)
        except NotPracticeHost:
            return host.strip(), None
        return ident.name, ident

    def _agent_may_auto(self, agent: str) -> bool:
        agents = getattr(self.policy, "agents", {}) or {}
        if agent in agents:
            return bool(agents[agent].auto_isolate)
        for cfg in agents.values():
            if cfg.token_name == agent:
                return bool(cfg.auto_isolate)
        return True

    def _engine_isolations(self) -> dict[str, Any]:
        """What the engine holds isolated right now (desired state), whoever asked for it."""
        state = getattr(self.engine, "state", None)
        if state is None:
            return {}
        return dict(state.desired().get("isolations") or {})

    def _journal(self, kind: str, data: dict[str, Any], actor: str) -> None:
        self.journal.append(kind, data, actor=actor)

    def pending(self) -> list[dict[str, Any]]:
        return self.store.select("status='queued'")

    def active(self) -> list[dict[str, Any]]:
        return self.store.select("status IN ('isolating','isolated','approved') AND released_at IS NULL")

    # ------------------------------------------------------------------------------ request
    def request(self, host: str, *, agent: str, reason: str = "", source: str = "agent",
                evidence: dict[str, Any] | None = None, now: datetime | None = None,
                actor: str | None = None) -> GateDecision:
        """Decide one automated isolation request (agent webhook or detection) and carry it out."""
        now = now or datetime.now(UTC)
        req_id = secrets.token_hex(8)
        actor = actor or f"agent:{agent}"
        resolver = self._resolver()
        try:
            ident: HostIdentity | None = resolver.resolve(host)
        except NotPracticeHost as exc:
            ident, not_ours = None, str(exc)
        name = ident.name if ident is not None else host.strip()[:200]
        base = {"request_id": req_id, "host": name, "requested": host[:200], "agent": agent, "reason": reason,
                "source": source, "evidence": evidence}
        g = self.policy.guardrails
        with self.store.lock:
            # 1. not a practice host / protected: refuse before anything reaches a device or the desired state
            guard, detail = "", ""
            if ident is None:
                guard, detail = "not_practice_host", not_ours
            else:
                why = resolver.guard_reason(ident)
                if why:
                    guard = "protected_host"
                    detail = (f"{why}. Agents may never isolate it; if it really is infected, the IT provider "
                              "isolates it by hand.")
            if guard:
                self.store.insert(id=req_id, host=name, agent=agent, reason=reason, source=source,
                                  evidence=evidence, created=_iso(now), status="refused")
                self._journal("agent.request", {**base, "decision": "refused", "detail": detail}, actor)
                self._journal("guard.refused", {"host": name, "guard": guard, "detail": detail}, actor)
                return GateDecision("refused", req_id, name, detail)
            # 2. duplicates collapse onto the existing request
            existing = self.store.select("host=? AND ((status IN ('isolating','isolated','approved','failed') "
                                         "AND released_at IS NULL) OR status='queued')", (name,))
            existing = [r for r in existing if r["status"] != "failed" or name in self._engine_isolations()]
            if not existing and name in self._engine_isolations():
                iso = self._engine_isolations()[name]
                self._journal("agent.request", {**base, "decision": "duplicate", "existing": "engine"}, actor)
                return GateDecision("duplicate", req_id, name, f"{name} is already isolated "
                                    f"(since {iso.get('since')}, by {iso.get('actor')})",
                                    existing={"host": name, "status": "isolated", "since": iso.get("since"),
                                              "source": iso.get("source")})
            if existing:
                ex = existing[-1]
                self._journal("agent.request", {**base, "decision": "duplicate", "existing": ex["id"]}, actor)
                return GateDecision("duplicate", ex["id"], name,
                                    f"{name} is already {ex['status']} (request {ex['id']})", existing=ex)
            # 3. rate guardrail: beyond the window budget a person decides (count + insert in one transaction)
            may_auto = self._agent_may_auto(agent)
            row = {"id": req_id, "host": name, "agent": agent, "reason": reason, "source": source,
                   "evidence": evidence, "created": _iso(now)}
            accepted = may_auto and self.store.reserve(row, since=now - timedelta(minutes=g.window_minutes),
                                                       limit=g.max_auto_isolations)
            if not accepted:
                why = (f"limit of {g.max_auto_isolations} automatic isolations per {g.window_minutes} min reached"
                       if may_auto else f"{agent} may not isolate automatically")
                self.store.insert(**row, status="queued")
                self._journal("agent.request", {**base, "decision": "queued", "detail": why}, actor)
                return GateDecision("queued", req_id, name, f"waiting for approval: {why}")
            self._journal("agent.request", {**base, "decision": "isolate"}, actor)
        # the engine call runs outside the lock; the "isolating" row already holds the budget slot
        return self._run_isolation(req_id, name, actor=actor, reason=reason, source=source,
                                   evidence=evidence, now=now, final_status="isolated")

    def _run_isolation(self, req_id: str, host: str, *, actor: str, reason: str, source: str,
                       evidence: dict[str, Any] | None, now: datetime, final_status: str) -> GateDecision:
        try:
            result = self.engine.isolate(host, actor=actor, reason=reason, source=source, evidence=evidence)
        except Exception as exc:
            self.store.update(req_id, status="failed", result={"error": str(exc)})
            return GateDecision("failed", req_id, host, f"isolation failed: {exc}")
        rd = result.to_dict()
        outcome = result.outcome
        if outcome == "refused":
            self.store.update(req_id, status="refused", result=rd)
            return GateDecision("refused", req_id, host, _first_message(rd) or "refused by the engine", rd)
        due = None
        minutes = self.policy.guardrails.auto_release_minutes
        if minutes:
            due = _iso(now + timedelta(minutes=minutes))
        if outcome == "failed":
            # authorised and kept in the desired state: enforcement retries it, auto-release still applies
            self.store.update(req_id, status="failed", result=rd, release_due=due)
            kept = host in self._engine_isolations()
            detail = _first_message(rd) or "isolation failed"
            if kept:
                detail += ("; the isolation stays wanted (counted against the budget) and is re-applied "
                           "as soon as the device answers")
            return GateDecision("failed", req_id, host, detail, rd, auto_release_at=due if kept else None)
        self.store.update(req_id, status=final_status, result=rd, release_due=due)
        decision: Decision = "isolated" if outcome == "done" else "partial"
        return GateDecision(decision, req_id, host, f"{host}: {outcome}", rd, auto_release_at=due)

    # ------------------------------------------------------------------------------ approvals
    def _decide(self, req_id: str, status: str, actor: str, now: datetime) -> dict[str, Any]:
        """A person decides a queued request (caller holds the store lock); only queued ones can be decided."""
        row = self.store.get(req_id)
        if row is None:
            raise KeyError(req_id)
        if row["status"] != "queued":
            raise GateConflict(f"request {req_id} is already {row['status']}")
        self.store.update(req_id, status=status, decided_by=actor, decided_at=_iso(now))
        return row

    def approve(self, req_id: str, *, actor: str, now: datetime | None = None) -> GateDecision:
        now = now or datetime.now(UTC)
        with self.store.lock:
            row = self._decide(req_id, "isolating", actor, now)
            self._journal("agent.approved", {"request_id": req_id, "host": row["host"], "agent": row["agent"]},
                          actor)
        return self._run_isolation(req_id, row["host"], actor=actor,
                                   reason=row["reason"] or f"approved request from {row['agent']}",
                                   source=row["source"] or "agent", evidence=row["evidence"], now=now,
                                   final_status="approved")

    def reject(self, req_id: str, *, actor: str, reason: str = "", now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        with self.store.lock:
            row = self._decide(req_id, "rejected", actor, now)
            self._journal("agent.rejected", {"request_id": req_id, "host": row["host"], "agent": row["agent"],
                                             "reason": reason}, actor)
        return self.store.get(req_id) or row

    # ------------------------------------------------------------------------------ release
    def mark_released(self, host: str, *, now: datetime | None = None) -> None:
        """A person released ``host`` (API/CLI): close its active requests so a new one can isolate."""
        name, _ = self._canonical(host)
        now = now or datetime.now(UTC)
        for row in self.store.select("host=? AND status IN ('isolated','approved','failed') "
                                     "AND released_at IS NULL",
                                     (name,)):
            self.store.update(row["id"], status="released", released_at=_iso(now))

    def release_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Release every agent isolation whose auto-release time has come; called by the scheduler."""
        now = now or datetime.now(UTC)
        done: list[dict[str, Any]] = []
        due = self.store.select("status IN ('isolated','approved','failed') AND released_at IS NULL "
                                "AND release_due IS NOT NULL AND release_due <= ?", (_iso(now),))
        for row in due:
            minutes = self.policy.guardrails.auto_release_minutes
            result = self.engine.release(row["host"], actor="system:auto-release",
                                         reason=f"auto-release after {minutes} min (request {row['id']})")
            rd = result.to_dict()
            if result.outcome in ("done", "partial") or (
                    result.outcome == "refused" and row["host"] not in self._engine_isolations()):
                self.store.update(row["id"], status="released", released_at=_iso(now))
            self._journal("agent.release", {"request_id": row["id"], "host": row["host"],
                                            "outcome": result.outcome}, "system:auto-release")
            done.append({"request_id": row["id"], "host": row["host"], "outcome": result.outcome, "result": rd})
        return done


def _first_message(result: dict[str, Any]) -> str:
    for key in ("detail", "message", "reason"):
        if result.get(key):
            return str(result[key])
    for dev in result.get("devices") or []:
        if dev.get("message"):
            return str(dev["message"])
    return ""


def gate_for_engine(engine: Any) -> AgentGate:
    """The gate on ``<state_dir>/agents.sqlite`` - the same file the web service uses - for another process.

    The detection process builds its gate with this, so its isolations share the service's budget.
    """
    state_dir = Path(getattr(engine, "state_dir", None) or engine.policy.controller.state_dir)
    return AgentGate(engine.policy, engine.journal, engine, GateStore(state_dir / "agents.sqlite"))
