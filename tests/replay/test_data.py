"""The history loader and `alvh data check` on generated files in the documented formats."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.core.models import EventKind
from daemon.errors import DataError
from daemon.replay.data import MarketData, load_market_data
from tests.replay.data_factory import Written, write_market_data


def test_loader_returns_every_input_value_on_its_session(
    history: tuple[Path, Written], market_data: MarketData
) -> None:
    """Each series read back equals what the factory wrote, day by day."""
    _, w = history
    d = market_data
    assert list(d.days) == w.days
    for i, day in enumerate(d.days):
        assert d.spx_close[i] == pytest.approx(w.spx_close[day], abs=1e-9)
        assert d.spx_open[i] == pytest.approx(w.spx_open[day], abs=1e-9)
        assert d.vix_close[i] == pytest.approx(w.vix_close[day], abs=1e-9)
        assert d.vix_open[i] == pytest.approx(w.vix_open[day], abs=1e-9)
        assert d.vix3m_close[i] == pytest.approx(w.vix3m[day], abs=1e-9)
        assert d.skew[i] == pytest.approx(w.skew[day], abs=1e-9)
        assert tuple(d.breadth[i]) == w.breadth[day]
        assert d.vx_curve(i) == w.vx[day]
    assert d.unavailable == {}
    fomc = [e.day for e in d.events if e.kind is EventKind.FOMC]
    cpi = [e.day for e in d.events if e.kind is EventKind.CPI]
    assert fomc == w.fomc and cpi == w.cpi and fomc and cpi


def test_continuous_futures_take_over_where_the_contracts_end(tmp_path: Path) -> None:
    """After the per-contract file ends, VXk is the k-th expiry after the day, as written."""
    w = write_market_data(
        tmp_path, date(2019, 1, 2), date(2019, 3, 29), vx_contract_until=date(2019, 2, 1)
    )
    d = load_market_data(tmp_path)
    for day in (date(2019, 1, 31), date(2019, 2, 4), date(2019, 3, 20)):
        assert d.vx_curve(d.index_of(day)) == w.vx[day]


@pytest.mark.parametrize(
    ("skipped", "series"),
    [
        ({"vix3m_daily_cboe.csv"}, "vix3m"),
        ({"skew_daily_cboe.csv"}, "skew"),
        ({"nyse_declining_issues.csv"}, "breadth"),
        (
            {
                "vx_futures_contracts_2004_2014_cboe.csv",
                "vix_futures_vx1_vx8_continuous.csv",
                "vix_futures_ux1_ux2_bloomberg.csv",
            },
            "vx",
        ),
    ],
)
def test_a_missing_series_is_unavailable_with_its_reason(
    tmp_path: Path, skipped: set[str], series: str
) -> None:
    """Without a file the history still loads and names what is missing and why."""
    write_market_data(tmp_path, date(2019, 1, 2), date(2019, 2, 28), skip=frozenset(skipped))
    d = load_market_data(tmp_path)
    assert series in d.unavailable
    assert "absent" in d.unavailable[series] or "file" in d.unavailable[series]
    assert len(d.days) > 30


def test_spx_or_vix_missing_is_a_data_error(tmp_path: Path) -> None:
    """SPX and VIX are the market itself: without them loading fails, naming the file."""
    write_market_data(
        tmp_path, date(2019, 1, 2), date(2019, 1, 31), skip=frozenset({"vix_daily_cboe.csv"})
    )
    with pytest.raises(DataError, match=r"vix_daily_cboe\.csv"):
        load_market_data(tmp_path)


def _corrupt(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines))


def test_data_check_passes_good_data(
    history: tuple[Path, Written], capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean directory exits 0 and says so."""
    assert main(["data", "check", str(history[0])]) == 0
    assert "data ok: 0 errors" in capsys.readouterr().out


def test_data_check_names_each_bad_file_and_row(
    history: tuple[Path, Written], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad number, a bad date and a close outside its range: exit 2, each row named."""
    bad = tmp_path / "bad"
    shutil.copytree(history[0], bad)
    _corrupt(bad / "spx_daily_yahoo.csv", 5, ",", ",abc,")  # Open is no number
    _corrupt(bad / "vix_daily_cboe.csv", 7, "/", "-")  # DATE not mm/dd/yyyy
    skew = bad / "skew_daily_cboe.csv"
    _corrupt(skew, 3, ",", ",-")  # a negative SKEW
    assert main(["data", "check", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "spx_daily_yahoo.csv:5: error:" in out
    assert "vix_daily_cboe.csv:7: error: date" in out
    assert "skew_daily_cboe.csv:3: error: SKEW" in out
    assert "data BAD: 3 errors" in out
    # The loader drops exactly those rows and keeps going.
    d = load_market_data(bad)
    assert len(d.days) == len(history[1].days) - 2
    assert math.isnan(d.skew[1])


def test_data_check_warns_on_a_holiday_row_without_failing(
    history: tuple[Path, Written], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row dated on an NYSE holiday is dropped with a warning; the check still passes."""
    bad = tmp_path / "holiday"
    shutil.copytree(history[0], bad)
    path = bad / "vix_daily_cboe.csv"
    path.write_text(path.read_text() + "12/25/2018,20.00,21.00,19.00,20.50\n")
    assert main(["data", "check", str(bad)]) == 0
    assert "2018-12-25 is not an NYSE session" in capsys.readouterr().out


def test_data_check_on_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    """No such directory: exit 2."""
    assert main(["data", "check", str(tmp_path / "nope")]) == 2
