"""The book rule: the condor's calendar, its strikes by delta, its size; the CSV book."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from daemon.core.models import Right
from daemon.errors import ConfigError
from daemon.replay.book import (
    choose_condor,
    is_roll_day,
    next_standard_expiry,
    read_positions_csv,
)
from daemon.replay.chain import Strike, option
from daemon.replay.params import BookRuleParams

EXPIRY = date(2025, 2, 21)


def _strike(k: float, right: Right, delta: float, mid: float) -> Strike:
    return Strike(option("SPX", "SPX", EXPIRY, k, right), mid - 0.05, mid + 0.05, delta)


# A hand-made chain around 6000: (strike, delta, mid).
PUTS = [
    _strike(5000, Right.PUT, -0.02, 1.0),
    _strike(5200, Right.PUT, -0.045, 2.0),
    _strike(5300, Right.PUT, -0.07, 3.0),
    _strike(5700, Right.PUT, -0.18, 12.0),
    _strike(5750, Right.PUT, -0.21, 15.0),
    _strike(5800, Right.PUT, -0.26, 19.0),
]
CALLS = [
    _strike(6150, Right.CALL, 0.24, 14.0),
    _strike(6200, Right.CALL, 0.19, 10.0),
    _strike(6400, Right.CALL, 0.06, 2.5),
    _strike(6450, Right.CALL, 0.035, 1.5),
]


def test_roll_days_are_the_standard_monthly_expiries() -> None:
    """Third Fridays are roll days; a Good Friday holiday moves it to the Thursday."""
    assert is_roll_day(date(2025, 1, 17))
    assert not is_roll_day(date(2025, 1, 10))
    assert is_roll_day(date(2025, 4, 17))  # 2025-04-18 is Good Friday
    assert next_standard_expiry(date(2025, 1, 17)) == date(2025, 2, 21)
    assert next_standard_expiry(date(2025, 1, 2)) == date(2025, 1, 17)
    assert next_standard_expiry(date(2025, 12, 19)) == date(2026, 1, 16)


def test_condor_strikes_are_nearest_the_deltas_and_size_fits_the_loss_budget() -> None:
    """Shorts nearest 20 delta, longs nearest 5 delta beyond them; as many condors as
    max loss = (widest wing - credit) x 100 allows within max_loss_frac x equity."""
    params = BookRuleParams(max_loss_frac=0.10)
    choice = choose_condor(PUTS, CALLS, params, equity_usd=1_000_000.0)
    assert choice is not None
    strikes = [leg.contract.strike for leg in choice.legs]
    assert strikes == [5200, 5750, 6200, 6400]
    credit = 15.0 + 10.0 - 2.0 - 2.5  # by hand from the mids
    assert choice.credit_mid_usd == pytest.approx(credit)
    assert choice.width_pts == 550  # put wing 5750-5200 is wider than 6400-6200
    assert choice.quantity == math.floor(100_000 / ((550 - credit) * 100))  # = 1


def test_no_condor_when_one_exceeds_the_budget() -> None:
    """A book too small for one condor sells none rather than an oversized one."""
    assert choose_condor(PUTS, CALLS, BookRuleParams(max_loss_frac=0.01), 100_000.0) is None


def test_positions_csv_reads_and_names_a_bad_line(tmp_path: Path) -> None:
    """The documented CSV format loads; a bad right is an error naming file and line."""
    good = tmp_path / "book.csv"
    good.write_text(
        "trading_class,expiry,strike,right,quantity\nSPX,2025-02-21,5750,P,-3\n"
        "SPX,2025-02-21,5200,P,3\n"
    )
    rows = read_positions_csv(good)
    assert [(r.contract.strike, r.contract.right, r.quantity) for r in rows] == [
        (5750, Right.PUT, -3),
        (5200, Right.PUT, 3),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("trading_class,expiry,strike,right,quantity\nSPX,2025-02-21,5750,X,-3\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_positions_csv(bad)


def test_a_csv_book_is_opened_on_the_first_session_and_held(tmp_path: Path) -> None:
    """source csv: the file's positions are opened by one order per expiry on the first
    session, and the broker then holds exactly them."""
    import asyncio
    import sqlite3

    from tests.replay.replay_rig import quick_config, run_replay

    book = tmp_path / "book.csv"
    book.write_text(
        "trading_class,expiry,strike,right,quantity\n"
        "SPX,2025-02-21,5600,P,-4\nSPX,2025-02-21,5500,P,4\n"
        "SPX,2025-02-21,6400,C,-2\nSPX,2025-02-21,6500,C,2\n"
    )
    config = quick_config(book=BookRuleParams(source="csv", positions_csv=book))
    outcome, market = run_replay("none", config, date(2025, 1, 6), date(2025, 1, 10), tmp_path)
    assert outcome.sessions_done == 4  # 2025-01-09: markets closed (national mourning)
    conn = sqlite3.connect(tmp_path / "none.sqlite")
    orders = conn.execute("SELECT order_ref, trading_day, status, quantity FROM orders").fetchall()
    conn.close()
    assert orders == [("book-csv-2025-02-21", "2025-01-06", "FILLED", 2)]  # ratios 2:2:1:1

    async def held() -> dict[str, int]:
        await market.broker.connect()
        try:
            return {p.contract.key: p.quantity for p in await market.broker.positions()}
        finally:
            await market.broker.close()

    assert asyncio.run(held()) == {
        "SPX 2025-02-21 5600 P": -4,
        "SPX 2025-02-21 5500 P": 4,
        "SPX 2025-02-21 6400 C": -2,
        "SPX 2025-02-21 6500 C": 2,
    }
