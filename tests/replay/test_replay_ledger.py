"""The replay's account: hand-computed cash, P&L split and settlement; identities under
random trading (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.calendar import NY
from daemon.core.models import Position, Right
from daemon.replay.chain import option
from daemon.replay.ledger import BOOK, HEDGE, Ledger, LedgerError

PUT = option("SPX", "SPX", date(2025, 1, 17), 5800.0, Right.PUT)
CALL = option("VIX", "VIX", date(2025, 1, 22), 20.0, Right.CALL)


def test_hand_computed_account() -> None:
    """Sell 2 puts at 10, buy 3 VIX calls at 1.5, fee 1 a contract; marks 12 and 2;
    then the puts settle at 30 (SPX 5770)."""
    ledger = Ledger(initial_usd=100_000.0, commission_per_contract_usd=1.0)
    ledger.trade(BOOK, PUT, -2, 10.0)
    ledger.trade(HEDGE, CALL, 3, 1.5)
    assert ledger.cash_usd == pytest.approx(100_000 + 2_000 - 450 - 5)
    acc = ledger.mark({PUT.key: 12.0, CALL.key: 2.0})
    assert acc.marks_usd == pytest.approx(-2 * 12 * 100 + 3 * 2 * 100)
    assert acc.book_pnl_usd == pytest.approx(2_000 - 2_400)
    assert acc.hedge_pnl_usd == pytest.approx(-450 + 600)
    assert acc.costs_usd == 5.0
    settled = ledger.settle_due(datetime(2025, 1, 17, 10, 0, tzinfo=NY), lambda c: 30.0)
    assert settled == 1
    acc = ledger.mark({CALL.key: 2.0})
    assert acc.book_pnl_usd == pytest.approx(2_000 - 6_000)
    assert acc.equity_usd == pytest.approx(100_000 + 2_000 - 450 - 5 - 6_000 + 600)


def test_positions_that_disagree_with_the_broker_stop_the_replay() -> None:
    """A ledger that holds what the broker does not is a bug, raised at once."""
    ledger = Ledger(100_000.0, 0.0)
    ledger.trade(BOOK, PUT, -1, 10.0)
    ledger.check_against([Position(PUT, -1)])
    with pytest.raises(LedgerError):
        ledger.check_against([Position(PUT, -2)])


trades = st.lists(
    st.tuples(
        st.sampled_from([BOOK, HEDGE]),
        st.sampled_from([PUT, CALL]),
        st.integers(-20, 20).filter(bool),
        st.floats(0.05, 200.0),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(trades=trades, put_mid=st.floats(0.0, 500.0), call_mid=st.floats(0.0, 50.0))
def test_identities_hold_under_any_trading(
    trades: list[tuple[str, object, int, float]], put_mid: float, call_mid: float
) -> None:
    """cash + marks = equity and equity - initial = book + hedge - costs, to the cent."""
    ledger = Ledger(1_000_000.0, 0.65)
    for purpose, contract, qty, price in trades:
        ledger.trade(purpose, contract, qty, price)  # type: ignore[arg-type]
    acc = ledger.mark({PUT.key: put_mid, CALL.key: call_mid})
    assert abs(acc.cash_usd + acc.marks_usd - acc.equity_usd) < 0.005
    pnl = acc.book_pnl_usd + acc.hedge_pnl_usd - acc.costs_usd
    assert abs(acc.equity_usd - 1_000_000.0 - pnl) < 0.005
