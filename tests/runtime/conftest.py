"""Fixtures shared by the runtime tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.daemon_rig import Daemons


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Daemons]:
    """Start ``alvh run`` processes with ``daemons.start(config, name)``; each one still
    running when the test ends (passed or failed) is killed and waited for."""
    with Daemons(tmp_path) as started:
        yield started
