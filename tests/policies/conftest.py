from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .policy_helpers import Box, make_box


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = make_box(tmp_path)
    yield b
    b.journal.close()
