"""Shared test practice: the TR-064 simulator's hosts and a policy that drives it (not a fixture module)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from notaus.drivers.sim.tr64 import Tr064Simulator  # noqa: E402
from notaus.policies.schema import Policy  # noqa: E402

ROLES = ("staff", "agent", "provider", "admin")

#: the simulator's default hosts plus eight workstations for flood tests
EXTRA_HOSTS = [{"ip": f"192.168.178.{100 + i}", "mac": f"AA:BB:CC:DD:EF:{i:02X}", "name": f"ws{i:02d}"}
               for i in range(1, 9)]
SIM_HOSTS = [
    {"ip": "192.168.178.20", "mac": "AA:BB:CC:DD:EE:01", "name": "empfang-pc"},
    {"ip": "192.168.178.21", "mac": "AA:BB:CC:DD:EE:02", "name": "sprechzimmer-1"},
    {"ip": "192.168.178.50", "mac": "AA:BB:CC:DD:EE:50", "name": "ti-konnektor"},
    {"ip": "192.168.178.60", "mac": "AA:BB:CC:DD:EE:60", "name": "voip-empfang"},
    *EXTRA_HOSTS,
]


def practice_policy(sim_port: int, state_dir: Path, *, password: str = "notaus", **guardrails: Any) -> Policy:
    hosts: list[dict[str, Any]] = [
        {"name": "empfang-pc", "ip": "192.168.178.20", "mac": "aa:bb:cc:dd:ee:01"},
        {"name": "sprechzimmer-1", "ip": "192.168.178.21", "mac": "aa:bb:cc:dd:ee:02"},
        {"name": "ti-konnektor", "ip": "192.168.178.50", "mac": "aa:bb:cc:dd:ee:50", "role": "ti-konnektor"},
        {"name": "voip-empfang", "ip": "192.168.178.60", "mac": "aa:bb:cc:dd:ee:60", "role": "phone"},
        {"name": "praxisserver", "ip": "192.168.178.10", "role": "server", "protected": True},
    ]
    hosts += [{"name": h["name"], "ip": h["ip"], "mac": h["mac"].lower()} for h in EXTRA_HOSTS]
    return Policy.model_validate({
        "practice": "Praxis Dr. Test",
        "controller": {"state_dir": str(state_dir), "ip": "192.168.178.2", "verify_timeout": 5,
                       "parallel_timeout": 15, "retries": 1},
        "devices": [{"name": "fritzbox", "driver": "fritzbox", "address": "127.0.0.1", "port": sim_port,
                     "user": "notaus", "password": password, "timeout": 5}],
        "hosts": hosts,
        "guardrails": {"max_auto_isolations": 2, "window_minutes": 60, "auto_release_minutes": 30,
                       **guardrails},
        "contacts": {"it_provider": {"name": "IT Müller", "phone": "0301112233"}},
    })

#: the practice server as the router lists it; with it the router knows every PC, so keep-phones can
#: block (and verify) all of them
SERVER_HOST = {"ip": "192.168.178.10", "mac": "AA:BB:CC:DD:EE:10", "name": "praxisserver"}


def sim_with_server(delay: float) -> Iterator[Tr064Simulator]:
    """A started simulator whose host list includes the practice server (for a ``sim`` fixture)."""
    s = Tr064Simulator(hosts=[*SIM_HOSTS, SERVER_HOST], hostfilter_delay=delay, reconnect_delay=delay).start()
    try:
        yield s
    finally:
        s.stop()
