"""Fixtures of the network lab (tests/lab): build the practice network, skip cleanly where impossible.

Every test collected below this directory gets the ``lab`` marker, so ``pytest -m "not lab"`` leaves
the whole lab out. Where the lab cannot run (not root, no network namespaces, no nft) the tests skip
with the reason, which ``pytest -ra`` (the project default) prints in its summary.

Fixtures:

* ``lab`` (module scope): a started :class:`~.netlab.Lab`; torn down after the module, even on failure.
* ``clean_lab`` (function scope): the module's lab, reset after the test (simulator nft table removed,
  bridge ports and WLAN link up), for tests that cut or block things.
* ``lab_available`` (session): ``None`` or the reason the lab cannot run here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from .netlab import Lab, lab_unavailable_reason

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_available() -> str | None:
    """Why the lab cannot run here (``None`` if it can); ``NOTAUS_SKIP_LAB=1`` forces a skip."""
    if os.environ.get("NOTAUS_SKIP_LAB") == "1":
        return "network lab switched off by NOTAUS_SKIP_LAB=1"
    reason = lab_unavailable_reason()
    if reason:
        print(f"\n[notaus lab] skipping network-lab tests: {reason}", file=sys.stderr)
    return reason


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def lab(lab_available: str | None) -> Iterator[Lab]:
    if lab_available:
        pytest.skip(lab_available)
    # A plain SIGTERM (CI timeout, kill PID) would end Python without finalizers or atexit and leave
    # namespaces behind; turned into KeyboardInterrupt, the lab's teardown still runs.
    previous = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        with Lab() as built:
            print(f"\n[notaus lab] namespaces {built.prefix}* ready", file=sys.stderr, flush=True)
            yield built
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def clean_lab(lab: Lab) -> Iterator[Lab]:
    yield lab
    lab.reset()
