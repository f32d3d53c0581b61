"""One generated history shared by the replay tests (written once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.replay.data import MarketData, load_market_data
from tests.replay.data_factory import Written, write_market_data


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Written]:
    directory = tmp_path_factory.mktemp("history")
    return directory, write_market_data(directory)


@pytest.fixture(scope="session")
def market_data(history: tuple[Path, Written]) -> MarketData:
    return load_market_data(history[0])
