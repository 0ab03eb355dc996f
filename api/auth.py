"""Bearer tokens with roles, kiosk enrolment codes, and the ``notaus token`` CLI.

Only the SHA-256 of a token is stored, so a copy of the state directory does not hand out working
credentials. Tokens are random (``secrets.token_urlsafe``) and therefore need no slow KDF: a plain
hash is enough to make the stored value useless to an attacker. The plaintext is shown exactly once.

Roles and what they may do (enforced by :func:`allowed`, documented in the OpenAPI spec):

``staff``     panic, isolate, status, journal, checklist, approve agent requests
``agent``     isolate only (through the guardrails in :mod:`api.guardrails`)
``provider``  everything, including restore, release, kiosk enrolment and metrics
``admin``     everything
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notaus.controller.sqlite import SqliteStore

ROLES: tuple[str, ...] = ("staff", "agent", "provider", "admin")

#: permission -> roles that hold it. One table, so the authorization matrix test can read it too.
PERMISSIONS: dict[str, frozenset[str]] = {
    "status": frozenset({"staff", "provider", "admin"}),
    "panic": frozenset({"staff", "provider", "admin"}),
    "isolate": frozenset({"staff", "agent", "provider", "admin"}),
    "release": frozenset({"provider", "admin"}),
    "restore": frozenset({"provider", "admin"}),
    "checklist": frozenset({"staff", "provider", "admin"}),
    "approve": frozenset({"staff", "provider", "admin"}),
    "journal": frozenset({"staff", "provider", "admin"}),
    "metrics": frozenset({"provider", "admin"}),
    "kiosk": frozenset({"provider", "admin"}),
    "policy": frozenset({"provider", "admin"}),
    "incident": frozenset({"staff", "provider", "admin"}),
    "incident_deadline": frozenset({"provider", "admin"}),   # moves the legal 72-hour clock
}

#: who may read and replace the policy (provider, admin)
POLICY_PERMISSION = "policy"
#: read incidents, open one, notes, photos, checklist ticks, report drafts (staff, provider, admin)
INCIDENT_PERMISSION = "incident"
#: move the moment of knowledge, record the authority report as filed - the legal 72-hour clock (provider, admin)
DEADLINE_PERMISSION = "incident_deadline"

ENROLL_MINUTES = 30


#: roles that are programs, not people: they act only through the guardrails (api.guardrails), are
#: rate-limited per token, and get no web page
AGENT_ROLES: frozenset[str] = frozenset({"agent"})


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def permissions_of(role: str | None) -> list[str]:
    """Every permission ``role`` holds, sorted (for ``whoami`` and the UI's buttons)."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


def is_agent(role: str | None) -> bool:
    """True for a program's token (see :data:`AGENT_ROLES`)."""
    return role in AGENT_ROLES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created: str
    last_used: str | None
    kiosk: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "created": self.created,
                "last_used": self.last_used, "kiosk": self.kiosk}


def _now() -> datetime:
    return datetime.now(UTC)


class TokenStore(SqliteStore):
    """SQLite-backed token store in the state directory; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, """
            CREATE TABLE IF NOT EXISTS tokens (
                name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL, last_used TEXT, kiosk INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS enrollments (
                hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_by TEXT NOT NULL,
                expires TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS sessions (
                hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created TEXT NOT NULL);
            """)
        self._last_used_written: dict[str, datetime] = {}

    # ------------------------------------------------------------------------------ tokens
    def create(self, role: str, name: str, *, kiosk: bool = False) -> str:
        """Create a token and return its plaintext (the only time it exists outside the caller)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        if not name or len(name) > 100:
            raise ValueError("a token needs a name of 1-100 characters (e.g. 'empfang' or 'wazuh')")
        token = secrets.token_urlsafe(32)
        with self.tx() as db:
            if db.execute("SELECT 1 FROM tokens WHERE name=?", (name,)).fetchone():
                raise ValueError(f"a token named {name!r} exists already; revoke it first or pick another name")
            db.execute("INSERT INTO tokens(name, role, hash, created, kiosk) VALUES (?,?,?,?,?)",
                       (name, role, hash_token(token), _now().isoformat(), int(kiosk)))
        return token

    def verify(self, token: str | None) -> tuple[str, str] | None:
        """``(name, role)`` for a valid token, else ``None``. Constant-time comparison of the hash."""
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        with self._lock:
            row = self._db.execute("SELECT name, role, hash FROM tokens WHERE hash=?", (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row[2], digest):
            return None
        self._touch(row[0])
        return row[0], row[1]

    def _touch(self, name: str) -> None:
        # last_used is informative; write it at most once a minute per token to keep status fast.
        now = _now()
        last = self._last_used_written.get(name)
        if last is not None and now - last < timedelta(minutes=1):
            return
        self._last_used_written[name] = now
        with self._lock:
            self._db.execute("UPDATE tokens SET last_used=? WHERE name=?", (now.isoformat(), name))

    def revoke(self, name: str) -> bool:
        with self.tx() as db:
            db.execute("DELETE FROM sessions WHERE token_hash IN (SELECT hash FROM tokens WHERE name=?)", (name,))
            cur = db.execute("DELETE FROM tokens WHERE name=?", (name,))
        return cur.rowcount > 0

    # ------------------------------------------------------------------------------ browser sessions
    def create_session(self, token: str) -> str | None:
        """A browser session for a valid ``token``: the cookie carries this secret, never the token itself.

        Only its hash is stored; :meth:`end_session` (logout) deletes it, so a copied cookie is useless
        after logout, and revoking the token ends all its sessions.
        """
        if self.verify(token) is None:
            return None
        secret = secrets.token_urlsafe(32)
        with self.tx() as db:
            db.execute("INSERT INTO sessions(hash, token_hash, created) VALUES (?,?,?)",
                       (hash_token(secret), hash_token(token), _now().isoformat()))
        return secret

    def verify_session(self, secret: str | None) -> tuple[str, str] | None:
        """``(name, role)`` of the token behind a live session, else ``None``."""
        if not secret or len(secret) > 200:
            return None
        with self._lock:
            row = self._db.execute("SELECT t.name, t.role FROM sessions s JOIN tokens t ON t.hash = s.token_hash "
                                   "WHERE s.hash=?", (hash_token(secret),)).fetchone()
        if row is None:
            return None
        self._touch(row[0])
        return row[0], row[1]

    def end_session(self, secret: str | None) -> bool:
        if not secret:
            return False
        with self.tx() as db:
            cur = db.execute("DELETE FROM sessions WHERE hash=?", (hash_token(secret),))
        return cur.rowcount > 0

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, role, created, last_used, kiosk FROM tokens ORDER BY created").fetchall()
        return [TokenInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -------------------------------------------------------------------------- kiosk enrolment
    def create_enrollment(self, name: str, *, created_by: str, minutes: int = ENROLL_MINUTES) -> str:
        """A one-time code that turns one browser into a kiosk (staff role) within ``minutes``."""
        if not name or len(name) > 80:
            raise ValueError("a kiosk needs a name of 1-80 characters (e.g. 'empfang-tablet')")
        code = secrets.token_urlsafe(24)
        expires = (_now() + timedelta(minutes=minutes)).isoformat()
        with self.tx() as db:
            db.execute("INSERT INTO enrollments(hash, name, created_by, expires) VALUES (?,?,?,?)",
                       (hash_token(code), name, created_by, expires))
        return code

    def peek_enrollment(self, code: str) -> str | None:
        """The kiosk name if ``code`` is valid and unused (does not consume it)."""
        with self._lock:
            row = self._db.execute("SELECT name, expires, used FROM enrollments WHERE hash=?",
                                   (hash_token(code or ""),)).fetchone()
        if row is None or row[2] or datetime.fromisoformat(row[1]) < _now():
            return None
        return str(row[0])

    def redeem_enrollment(self, code: str) -> tuple[str, str] | None:
        """Consume ``code`` and create the kiosk's staff token; ``(name, token)`` or ``None``."""
        digest = hash_token(code or "")
        token = secrets.token_urlsafe(32)
        with self.tx() as db:
            row = db.execute("SELECT name, expires, used FROM enrollments WHERE hash=?", (digest,)).fetchone()
            if row is None or row[2] or datetime.fromisoformat(row[1]) < _now():
                return None
            db.execute("UPDATE enrollments SET used=1 WHERE hash=?", (digest,))
            name = f"kiosk:{row[0]}"
            # re-enrolling the same tablet replaces its old cookie token
            db.execute("DELETE FROM tokens WHERE name=?", (name,))
            db.execute("INSERT INTO tokens(name, role, hash, created, kiosk) VALUES (?,?,?,?,1)",
                       (name, "staff", hash_token(token), _now().isoformat()))
        return name, token


# ------------------------------------------------------------------------------------------ CLI
def add_token_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``token create|list|revoke|kiosk`` to the main CLI; the handler is stored as ``func``.

    The handler expects ``args.state_dir`` (or ``args.tokens``) to locate ``tokens.sqlite``; the
    main CLI resolves the state directory from the policy and sets it before calling ``func``.
    """
    p = subparsers.add_parser("token", help="manage API tokens (staff, agent, provider, admin)")
    sub = p.add_subparsers(dest="token_cmd", required=True)
    c = sub.add_parser("create", help="create a token and print it once")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--name", required=True, help="who or what uses it, e.g. empfang, wazuh, it-mueller")
    sub.add_parser("list", help="list token names and roles (never the tokens)")
    r = sub.add_parser("revoke", help="revoke a token by name")
    r.add_argument("--name", required=True)
    k = sub.add_parser("kiosk", help="one-time link that turns a tablet into the staff panic button")
    k.add_argument("--name", required=True, help="name of the tablet, e.g. empfang-tablet")
    k.add_argument("--base-url", default="", help="e.g. https://notaus.praxis.lan:8443")
    for sp in (c, r, k, sub.choices["list"]):
        sp.add_argument("--tokens", default=None, help="path of tokens.sqlite (default: <state_dir>/tokens.sqlite)")
    p.set_defaults(func=run_token_command)
    return p


def tokens_path(args: argparse.Namespace) -> Path:
    if getattr(args, "tokens", None):
        return Path(args.tokens)
    return Path(getattr(args, "state_dir", None) or "./var") / "tokens.sqlite"


def run_token_command(args: argparse.Namespace) -> int:
    """Token CLI; with ``--json`` each command prints one JSON document (for provider scripts)."""
    as_json = bool(getattr(args, "json", False))

    def out(doc: dict[str, Any], *lines: str) -> None:
        if as_json:
            print(json.dumps(doc, ensure_ascii=False))
        else:
            for line in lines:
                print(line)

    store = TokenStore(tokens_path(args))
    try:
        if args.token_cmd == "create":
            try:
                token = store.create(args.role, args.name)
            except ValueError as exc:
                out({"error": "invalid", "detail": str(exc)}, f"Fehler: {exc}")
                return 1
            out({"name": args.name, "role": args.role, "token": token},
                f"Token für {args.name} (Rolle {args.role}) – wird nur jetzt angezeigt, bitte sicher ablegen:", token)
            return 0
        if args.token_cmd == "list":
            infos = store.list()
            out({"tokens": [{"name": i.name, "role": i.role, "kiosk": i.kiosk, "created": i.created,
                             "last_used": i.last_used} for i in infos]},
                *(f"{i.name}\t{i.role}{' (kiosk)' if i.kiosk else ''}\tcreated {i.created}\t"
                  f"last used {i.last_used or '-'}" for i in infos))
            return 0
        if args.token_cmd == "revoke":
            if store.revoke(args.name):
                out({"revoked": args.name}, f"Token {args.name} widerrufen.")
                return 0
            out({"error": "not_found", "detail": f"no token named {args.name}"},
                f"Kein Token namens {args.name}. 'notaus token list' zeigt die vorhandenen.")
            return 1
        if args.token_cmd == "kiosk":
            code = store.create_enrollment(args.name, created_by="cli")
            link = f"{args.base_url.rstrip('/')}/kiosk/enroll?token={code}"
            out({"name": args.name, "link": link, "valid_minutes": ENROLL_MINUTES},
                f"Diesen Link innerhalb von {ENROLL_MINUTES} Minuten einmal auf dem Tablet öffnen:", link)
            return 0
        return 2
    finally:
        store.close()


def kiosk_names(state_dir: Path | None) -> set[str]:
    """Names of enrolled kiosk tablets (tokens ``kiosk:<name>``), for ``notaus discover``."""
    if state_dir is None:
        return set()
    db = state_dir / "tokens.sqlite"
    if not db.exists():
        return set()
    try:
        store = TokenStore(db)
        return {t.name.split(":", 1)[1] for t in store.list() if t.kiosk and ":" in t.name}
    except Exception:  # noqa: BLE001 - a token store we cannot read only loses the kiosk hint
        return set()
