"""Journal events to the provider's SIEM (Wazuh, Graylog) as RFC 5424 syslog over UDP or TCP.

Register with ``journal.add_listener(SyslogForwarder(host, port, proto))``. Each journal entry
becomes one message::

    <PRI>1 TIMESTAMP HOSTNAME notaus PID KIND [notaus@32473 seq="12" kind="panic.result"
    actor="staff:empfang" hash="ab12…" prev="…"] BOM{"outcome":"done",…}

MSGID is the entry kind, STRUCTURED-DATA carries sequence number and hash-chain links (so a SIEM
copy also anchors the journal against truncation), MSG is the entry's data as UTF-8 JSON.
32473 is the private enterprise number reserved for documentation (RFC 5612); a provider with its
own PEN can pass ``sd_id``.

Sending happens on a background thread with a bounded queue: a slow or absent SIEM never delays a
panic. Messages that do not fit into the queue are counted in ``dropped``. TCP uses octet-counting
framing (RFC 6587) and reconnects on the next message after a failure.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import threading
from typing import Any, Literal

log = logging.getLogger(__name__)

FACILITY_LOCAL0 = 16
SEVERITY = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}

#: kind prefix -> severity; the longest matching prefix wins
KIND_SEVERITY: dict[str, str] = {
    "panic": "alert", "panic.request": "alert", "panic.result": "alert", "isolate": "warning",
    "drift": "warning", "guard.refused": "warning", "detection": "warning", "health": "warning",
    "policy.rejected": "err", "policy.applied": "notice", "policy.rollback": "notice",
    "restore": "notice", "release": "notice", "deadline.reminder": "warning", "drill": "notice",
    "incident": "warning",
}

_SD_ESCAPE = re.compile(r'(["\\\]])')


def sd_escape(value: str) -> str:
    """RFC 5424 §6.3.3: escape ``"``, ``\\`` and ``]`` inside PARAM-VALUE."""
    return _SD_ESCAPE.sub(r"\\\1", value)


def _token(value: str, maxlen: int) -> str:
    """PRINTUSASCII without spaces, truncated; empty becomes the NILVALUE ``-``."""
    cleaned = "".join(ch for ch in value if 33 <= ord(ch) <= 126)[:maxlen]
    return cleaned or "-"


def severity_of(kind: str, data: dict[str, Any] | None = None) -> int:
    if kind == "health" and data and data.get("ok"):
        return SEVERITY["info"]
    best = ""
    for prefix in KIND_SEVERITY:
        if (kind == prefix or kind.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return SEVERITY[KIND_SEVERITY[best]] if best else SEVERITY["info"]


def format_rfc5424(entry: Any, *, hostname: str | None = None, app_name: str = "notaus",
                   facility: int = FACILITY_LOCAL0, sd_id: str = "notaus@32473") -> bytes:
    """One journal entry (``seq, ts, kind, actor, data, prev_hash, hash``) as an RFC 5424 message."""
    pri = facility * 8 + severity_of(entry.kind, entry.data)
    host = _token(hostname or socket.gethostname(), 255)
    params = {"seq": str(entry.seq), "kind": entry.kind, "actor": entry.actor, "hash": entry.hash,
              "prev": entry.prev_hash}
    sd = "[" + sd_id + "".join(f' {k}="{sd_escape(v)}"' for k, v in params.items()) + "]"
    header = f"<{pri}>1 {entry.ts} {host} {_token(app_name, 48)} {os.getpid()} {_token(entry.kind, 32)} {sd}"
    body = json.dumps(entry.data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return header.encode("utf-8") + b" \xef\xbb\xbf" + body.encode("utf-8")


class SyslogForwarder:
    """A journal listener that ships each entry to ``host:port`` over ``udp`` or ``tcp``."""

    def __init__(self, host: str, port: int = 514, proto: Literal["udp", "tcp"] = "udp", *,
                 app_name: str = "notaus", hostname: str | None = None, queue_size: int = 10_000,
                 timeout: float = 5.0, max_udp_bytes: int = 8192) -> None:
        if proto not in ("udp", "tcp"):
            raise ValueError(f"syslog proto must be udp or tcp, not {proto!r}")
        self.host, self.port, self.proto = host, port, proto
        self.app_name, self.hostname = app_name, hostname
        self.timeout, self.max_udp_bytes = timeout, max_udp_bytes
        self.sent = 0
        self.dropped = 0
        self.errors = 0
        self.last_error = ""
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=queue_size)
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="notaus-syslog", daemon=True)
        self._thread.start()

    def __call__(self, entry: Any) -> None:
        """Journal listener: enqueue, never block."""
        try:
            self._queue.put_nowait(format_rfc5424(entry, hostname=self.hostname, app_name=self.app_name))
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was handed to the socket (tests, shutdown)."""
        done = threading.Event()

        def wait_empty() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait_empty, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        self.flush(self.timeout)
        self._queue.put(None)
        self._thread.join(timeout=self.timeout)
        if self._sock is not None:
            self._sock.close()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            if self.proto == "udp":
                family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0][0]
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
            else:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        return self._sock

    def _send(self, message: bytes) -> None:
        sock = self._connect()
        if self.proto == "udp":
            sock.sendto(message[: self.max_udp_bytes], (self.host, self.port))
        else:
            sock.sendall(str(len(message)).encode("ascii") + b" " + message)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                if message is None:
                    return
                try:
                    self._send(message)
                    self.sent += 1
                except OSError as exc:
                    self.errors += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if self._sock is not None:
                        self._sock.close()
                        self._sock = None
                    log.warning("syslog to %s:%s failed: %s", self.host, self.port, self.last_error)
            finally:
                self._queue.task_done()

    def to_dict(self) -> dict[str, Any]:
        return {"target": f"{self.proto}://{self.host}:{self.port}", "sent": self.sent, "dropped": self.dropped,
                "errors": self.errors, "last_error": self.last_error}


def forwarder_from_policy(policy: Any) -> SyslogForwarder | None:
    """Build the forwarder the policy's ``syslog:`` section asks for (``None`` if absent)."""
    target = getattr(policy, "syslog", None)
    if target is None:
        return None
    return SyslogForwarder(target.host, target.port, target.proto, app_name=target.app_name)
