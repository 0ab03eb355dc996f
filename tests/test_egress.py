"""Proof from the data plane: only loopback targets here (nothing leaves the machine)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from notaus.controller.egress import MESSAGE_DE, dns_query, parse_target, probe
from notaus.controller.engine import Engine
from notaus.drivers.sim.tr64 import Tr064Simulator
from notaus.policies.schema import ControllerSettings, EgressProbe


@pytest.fixture
def listener() -> Iterator[str]:
    """A TCP service on loopback standing in for 'the internet answers' (a second uplink)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    srv.close()


@pytest.fixture
def closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


@pytest.fixture
def resolver() -> Iterator[str]:
    """A UDP 'resolver' on loopback that answers any query with the same id and the QR bit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except OSError:
                continue
            sock.sendto(data[:2] + struct.pack("!H", 0x8180) + data[4:], peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    t.join()
    sock.close()


def _settings(**probe_cfg: object) -> ControllerSettings:
    return ControllerSettings(egress_probe=EgressProbe(**probe_cfg))  # type: ignore[arg-type]


def test_targets_are_parsed_and_bad_ones_refused() -> None:
    assert parse_target("1.1.1.1:443") == ("1.1.1.1", 443)
    assert parse_target("[2606:4700:4700::1111]:443") == ("2606:4700:4700::1111", 443)
    assert parse_target("9.9.9.9", default_port=53) == ("9.9.9.9", 53)
    for bad in ("example.com:443", "1.1.1.1", "1.1.1.1:0", "[::1"):
        with pytest.raises(ValueError):
            parse_target(bad)
    with pytest.raises(ValueError, match="IP address"):
        EgressProbe(tcp=["dns.google:443"])


def test_nothing_is_sent_when_no_target_is_configured() -> None:
    assert probe(_settings()) is None
    assert ControllerSettings().egress_probe.tcp == [] and ControllerSettings().egress_probe.dns == []


def test_a_completed_handshake_counts_a_refusal_does_not(listener: str, closed_port: str) -> None:
    proof = probe(_settings(tcp=[listener, closed_port], timeout=0.5))
    assert proof is not None and proof["reachable"] is True and proof["answered"] == [listener]
    refused = next(a for a in proof["attempts"] if a["target"] == closed_port)
    assert refused["answered"] is False


def test_dns_answer_with_our_id_counts(resolver: str) -> None:
    proof = probe(_settings(dns=[resolver], timeout=0.5))
    assert proof is not None and proof["answered"] == [resolver]
    assert dns_query("example.com", 0x1234)[:2] == b"\x12\x34"


def _engine_with_probe(make_engine: Callable[..., Engine], sim: Tr064Simulator, targets: list[str]) -> Engine:
    engine = make_engine(sim.port)
    engine.settings.egress_probe = EgressProbe(tcp=targets, timeout=0.5)
    return engine


def test_full_panic_with_a_second_way_out_says_so_in_result_and_journal(
        fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine], listener: str) -> None:
    engine = _engine_with_probe(make_engine, fritz_sim, [listener])
    result = engine.panic("full", actor="test")
    assert all(d.outcome == "done" for d in result.devices)
    assert result.outcome == "partial" and result.exit_code == 2
    assert result.message == MESSAGE_DE and "Kabel ziehen" in result.message
    assert result.data["egress"]["answered"] == [listener]
    warnings = [e for e in engine.journal.entries() if e.kind == "warning" and e.data.get("what") == "second_path"]
    assert warnings and warnings[0].data["answered"] == [listener]
    status = engine.status()
    assert status["contained"] is False and status["egress"]["reachable"] is True
    assert MESSAGE_DE in status["warnings"]


def test_full_panic_without_a_second_way_stays_done(fritz_sim: Tr064Simulator, make_engine: Callable[..., Engine],
                                                    closed_port: str) -> None:
    engine = _engine_with_probe(make_engine, fritz_sim, [closed_port])
    result = engine.panic("full", actor="test")
    assert result.outcome == "done" and result.data["egress"]["reachable"] is False
    assert engine.status()["contained"] is True
