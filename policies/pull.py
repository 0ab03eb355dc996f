"""Pull signed policy bundles from the provider's HTTPS server, so a box behind NAT needs no open port.

The box asks with ``If-None-Match`` (the last ETag), so an unchanged bundle costs one small
``304 Not Modified``. A downloaded bundle goes through :func:`policies.update.apply_bundle` like
any other; the server is not trusted, the signature is. A bundle already seen (same SHA-256, for
servers without ETags) is skipped silently, so the journal is not flooded with replays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from notaus.policies.schema import Policy
from notaus.policies.signing import MAX_BUNDLE_BYTES
from notaus.policies.store import PolicyStore, atomic_write
from notaus.policies.update import ApplyResult, JournalLike, apply_bundle

USER_AGENT = "notaus-policy-pull/1"


@dataclass
class PullResult:
    status: str                    # not_modified | unchanged | applied | rejected | error
    message: str
    http_status: int | None = None
    etag: str | None = None
    apply: ApplyResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "http_status": self.http_status,
                "etag": self.etag, "apply": self.apply.to_dict() if self.apply else None}


class PullState:
    """ETag and digest of the last bundle fetched from one URL (``<state>/policy/pull.json``)."""

    def __init__(self, store: PolicyStore) -> None:
        self.path = store.dir / "pull.json"

    def load(self, url: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if data.get("url") == url else {}

    def save(self, data: dict[str, Any]) -> None:
        atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))


def pull_once(url: str, *, store: PolicyStore, keys: dict[str, Ed25519PublicKey], journal: JournalLike | None,
              baseline: Policy | None = None, verify: bool | str = True, timeout: float = 20.0,
              session: requests.Session | None = None, **apply_kwargs: Any) -> PullResult:
    """One conditional GET; apply what is new. Network trouble is reported, never raised.

    ``verify`` is passed to requests: ``True`` (system CAs) or the path of a CA/certificate file
    the provider pinned at install.
    """
    if not url.lower().startswith("https://"):
        return PullResult("error", f"policy_url must start with https:// (got {url!r}); fix schedules.policy_url")
    state = PullState(store)
    last = state.load(url)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if last.get("etag"):
        headers["If-None-Match"] = last["etag"]
    http = session or requests.Session()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with http.get(url, headers=headers, timeout=timeout, verify=verify, stream=True) as resp:
            if resp.status_code == 304:
                state.save({**last, "url": url, "last_checked": now, "last_status": "not_modified"})
                return PullResult("not_modified", "unchanged on the server (304)", 304, last.get("etag"))
            if resp.status_code != 200:
                return PullResult("error", f"server answered HTTP {resp.status_code} for {url}; check the URL "
                                           "and that the provider published the bundle", resp.status_code)
            body = resp.raw.read(MAX_BUNDLE_BYTES + 1, decode_content=True)
            etag = resp.headers.get("ETag")
    except requests.exceptions.SSLError as exc:
        return PullResult("error", f"TLS check of {url} failed ({exc.__class__.__name__}); is the provider's "
                                   "certificate/CA installed?")
    except requests.RequestException as exc:
        return PullResult("error", f"cannot reach {url}: {exc.__class__.__name__}; the box retries on schedule")
    if len(body) > MAX_BUNDLE_BYTES:
        return PullResult("error", f"bundle at {url} is larger than {MAX_BUNDLE_BYTES} bytes", 200, etag)
    digest = hashlib.sha256(body).hexdigest()
    if digest == last.get("sha256"):
        state.save({**last, "url": url, "etag": etag, "last_checked": now, "last_status": "unchanged"})
        return PullResult("unchanged", "same bundle as last time", 200, etag)
    result = apply_bundle(body, store=store, keys=keys, journal=journal, baseline=baseline,
                          source=f"pull {url}", **apply_kwargs)
    if result.code != "store_failed":       # a transient local failure is retried next time
        state.save({"url": url, "etag": etag, "sha256": digest, "last_checked": now,
                    "last_status": result.code, "version": result.version})
    status = "applied" if result.ok else "rejected"
    return PullResult(status, result.message, 200, etag, result)
