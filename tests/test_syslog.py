"""Journal events reach a syslog receiver on loopback as valid RFC 5424 (UDP and TCP)."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from notaus.controller.journal import Journal
from notaus.controller.syslog import SyslogForwarder, sd_escape

# RFC 5424 §6 ABNF as a regex (header + one SD-ELEMENT + BOM MSG), written from the RFC text.
RFC5424 = re.compile(
    rb"^<(?P<pri>\d{1,3})>1 "
    rb"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) "
    rb"(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
    rb"(?P<sd>\[[^ =\]\"]{1,32}(?: [^ =\]\"]{1,32}=\"(?:[^\"\\\]]|\\[\"\\\]])*\")*\]) "
    rb"\xef\xbb\xbf(?P<msg>.*)$", re.S)
SD_PARAM = re.compile(r' ([^ =\]"]+)="((?:[^"\\\]]|\\["\\\]])*)"')


def parse(raw: bytes) -> dict[str, Any]:
    m = RFC5424.match(raw)
    assert m, f"not RFC 5424: {raw[:200]!r}"
    sd = m["sd"].decode()
    params = {k: re.sub(r'\\(["\\\]])', r"\1", v) for k, v in SD_PARAM.findall(sd)}
    return {"pri": int(m["pri"]), "ts": m["ts"].decode(), "msgid": m["msgid"].decode(),
            "sd_id": sd[1:].split(" ", 1)[0], "params": params, "data": json.loads(m["msg"].decode("utf-8"))}


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


def test_udp_events_are_valid_rfc5424(journal: Journal) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    fwd = SyslogForwarder("127.0.0.1", rx.getsockname()[1], "udp", hostname="praxis-box")
    journal.add_listener(fwd)
    try:
        e1 = journal.append("panic.result", {"outcome": "done", "note": 'Empfang "PC" ] \\ ü'}, actor="staff:empfang")
        e2 = journal.append("health", {"device": "fritzbox", "ok": True, "message": "ok"})
        assert fwd.flush()
        got = [parse(rx.recv(65535)) for _ in range(2)]
    finally:
        fwd.close()
        rx.close()
    first, second = got
    assert first["pri"] == 16 * 8 + 1                       # local0.alert for a panic result
    assert second["pri"] == 16 * 8 + 6                      # local0.info for a healthy device
    assert first["ts"] == e1.ts and first["msgid"] == "panic.result" and first["sd_id"] == "notaus@32473"
    assert first["params"] == {"seq": str(e1.seq), "kind": "panic.result", "actor": "staff:empfang",
                               "hash": e1.hash, "prev": e1.prev_hash}
    assert first["data"] == {"outcome": "done", "note": 'Empfang "PC" ] \\ ü'}
    assert second["params"]["prev"] == e1.hash and second["params"]["hash"] == e2.hash


def test_tcp_octet_counting_frames(journal: Journal) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    frames: list[bytes] = []
    done = threading.Event()

    def receive() -> None:
        conn, _ = server.accept()
        buf = b""
        with conn:
            while len(frames) < 3:
                chunk = conn.recv(65535)
                if not chunk:
                    break
                buf += chunk
                while b" " in buf:
                    length, rest = buf.split(b" ", 1)
                    if len(rest) < int(length):
                        break
                    frames.append(rest[: int(length)])
                    buf = rest[int(length):]
        done.set()

    threading.Thread(target=receive, daemon=True).start()
    fwd = SyslogForwarder("127.0.0.1", server.getsockname()[1], "tcp")
    journal.add_listener(fwd)
    try:
        for i in range(3):
            journal.append("drift", {"device": "fritzbox", "what": "wan", "n": i})
        assert done.wait(10)
    finally:
        fwd.close()
        server.close()
    parsed = [parse(f) for f in frames]
    assert [p["data"]["n"] for p in parsed] == [0, 1, 2]
    assert all(p["pri"] == 16 * 8 + 4 for p in parsed)      # drift is a warning


def test_independent_parser_accepts_the_messages(journal: Journal) -> None:
    parser = pytest.importorskip("syslog_rfc5424_parser")
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    fwd = SyslogForwarder("127.0.0.1", rx.getsockname()[1], "udp")
    journal.add_listener(fwd)
    try:
        journal.append("policy.rejected", {"reason": "bad_signature", "detail": 'a "quoted" ] thing'})
        raw = rx.recv(65535)
    finally:
        fwd.close()
        rx.close()
    msg = parser.SyslogMessage.parse(raw.decode("utf-8")).as_dict()
    assert msg["severity"] == "err" and msg["facility"] == "local0" and msg["msgid"] == "policy.rejected"
    assert msg["sd"]["notaus@32473"]["kind"] == "policy.rejected"
    assert json.loads(msg["msg"].lstrip("\ufeff"))["reason"] == "bad_signature"


def test_unreachable_siem_never_blocks_the_journal(journal: Journal) -> None:
    fwd = SyslogForwarder("127.0.0.1", 9, "tcp", timeout=1, queue_size=2)   # nothing listens on port 9
    journal.add_listener(fwd)
    try:
        for i in range(20):
            journal.append("detection", {"i": i})
        assert journal.count() == 20
        fwd.flush()
        assert fwd.sent == 0 and fwd.errors + fwd.dropped == 20
    finally:
        fwd.close()


def test_sd_escape() -> None:
    assert sd_escape('a"b\\c]d') == 'a\\"b\\\\c\\]d'
