"""The IB adapter's pure translation tables, against hand-computed expectations."""

from __future__ import annotations

import ast
import itertools
import math
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.brokers.ib import dates
from daemon.brokers.ib import mapping as m
from daemon.core.broker import ComboLeg, ComboOrder, OrderStatus
from daemon.core.calendar import NY
from daemon.core.models import Action, Contract, Right, SecType

D = date


@pytest.mark.parametrize(
    ("ib_status", "filled", "remaining", "code", "expected"),
    [
        ("PendingSubmit", 0, 2, 0, OrderStatus.PENDING_SUBMIT),
        ("ApiPending", 0, 2, 0, OrderStatus.PENDING_SUBMIT),
        ("PreSubmitted", 0, 2, 0, OrderStatus.SUBMITTED),
        ("Submitted", 0, 2, 0, OrderStatus.SUBMITTED),
        ("Submitted", 1, 1, 0, OrderStatus.PARTIALLY_FILLED),
        ("Submitted", 2, 0, 0, OrderStatus.FILLED),  # the fill arrived before "Filled"
        ("PendingCancel", 1, 1, 0, OrderStatus.PARTIALLY_FILLED),
        ("Filled", 2, 0, 0, OrderStatus.FILLED),
        ("Cancelled", 0, 2, 202, OrderStatus.CANCELLED),
        ("Cancelled", 1, 1, 0, OrderStatus.CANCELLED),
        ("ApiCancelled", 0, 2, 0, OrderStatus.CANCELLED),
        ("Cancelled", 0, 2, 201, OrderStatus.REJECTED),  # the library's view of a 201
        ("Inactive", 0, 2, 0, OrderStatus.REJECTED),
        ("ValidationError", 0, 2, 0, None),
    ],
)
def test_order_status_table(
    ib_status: str, filled: int, remaining: int, code: int, expected: OrderStatus | None
) -> None:
    """IB's order statuses, fills and error codes map to the port's statuses."""
    assert m.order_status(ib_status, filled, remaining, code) is expected


def _error_sets() -> dict[str, frozenset[int]]:
    """Every error-code set of the mapping, found by looking (a new set is included)."""
    return {
        name: value
        for name, value in vars(m).items()
        if name.isupper()
        and isinstance(value, frozenset)
        and value
        and all(isinstance(code, int) for code in value)
    }


ERROR_SETS = {
    "CONNECTIVITY_LOST", "CONNECTIVITY_RESTORED", "SOCKET_LOST", "CLIENT_ID_IN_USE",
    "NO_MARKET_DATA", "HISTORICAL_DATA_ERRORS", "ORDER_REJECTED", "CANCEL_REFUSED", "PACING",
    "INFORMATIONAL",
}  # fmt: skip


def test_error_code_sets_do_not_overlap() -> None:
    """Each IB error code belongs to at most one of the action sets, over every set the
    mapping defines (found by looking, so a new set cannot be forgotten here)."""
    sets = _error_sets()
    assert set(sets) == ERROR_SETS
    for (a, codes_a), (b, codes_b) in itertools.combinations(sorted(sets.items()), 2):
        assert not codes_a & codes_b, f"{a} and {b} share {sorted(codes_a & codes_b)}"
    assert {1100, 1101, 1102, 326, 354, 10089, 10168, 201, 2104, 2106, 2158} <= frozenset().union(
        *sets.values()
    )


def test_every_error_set_is_acted_on() -> None:
    """Each set is read by code: imported by another module of the adapter (the session's
    error handler, market data, history) or read in a function of the mapping itself
    (the order status): none is a list nothing reads."""
    package = Path(m.__file__).parent
    used: set[str] = set()
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        if path.name == "mapping.py":
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
            used.update(n.id for f in functions for n in ast.walk(f) if isinstance(n, ast.Name))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "daemon.brokers.ib.mapping":
                used.update(alias.name for alias in node.names)
    assert set(_error_sets()) - used == set()


@pytest.mark.parametrize(
    ("price", "size", "expected"),
    [
        (10.5, 5.0, 10.5),
        (-1.0, 0.0, None),  # IB's "no bid"
        (2.0, 0.0, None),  # a price with nothing behind it
        (2.0, math.nan, 2.0),  # size unknown: keep the price
        (math.nan, 3.0, None),
        (math.inf, 3.0, None),
        (None, None, None),
        (0.0, 4.0, 0.0),  # a zero bid with size is a real quote
        (1.7976931348623157e308, 1.0, None),  # IB's UNSET_DOUBLE
    ],
)
def test_quote_side(price: float | None, size: float | None, expected: float | None) -> None:
    """Unset prices (-1, NaN) and empty sizes become None; real quotes pass unchanged."""
    assert m.quote_side(price, size) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.213, 0.213), (None, None), (math.nan, None), (-1.0, None), (0.0, None)],
)
def test_model_iv(value: float | None, expected: float | None) -> None:
    """IB's model IV passes through as a decimal; unset markers become None."""
    assert m.model_iv_sigma(value) == expected


@pytest.mark.parametrize(
    ("account", "paper"), [("DU1234567", True), ("DF998877", True), ("U7654321", False)]
)
def test_paper_accounts(account: str, paper: bool) -> None:
    """IB's paper accounts start with DU (or DF for advisors)."""
    assert m.is_paper_account(account) is paper


@pytest.mark.parametrize(
    ("local_symbol", "expected"),
    [
        ("SPX   261218P05800000", D(2026, 12, 18)),
        ("SPXW  261231C06050000", D(2026, 12, 31)),
        ("VIX   261216C00030000", D(2026, 12, 16)),
        ("AAPL", None),
        ("", None),
    ],
)
def test_occ_expiry(local_symbol: str, expected: date | None) -> None:
    """The OCC symbol spells the expiration date (YYMMDD after the padded root)."""
    assert dates.occ_expiry(local_symbol) == expected


@pytest.mark.parametrize(
    ("trading_class", "ib_day", "expected"),
    [
        ("SPX", D(2026, 12, 17), D(2026, 12, 18)),  # Thursday last trade -> Friday
        ("SPX", D(2026, 12, 18), D(2026, 12, 18)),  # already the expiry
        ("SPX", D(2025, 4, 16), D(2025, 4, 17)),  # Good Friday 2025: expiry on Thursday
        ("VIX", D(2026, 12, 15), D(2026, 12, 16)),  # Tuesday -> Wednesday
        ("VIX", D(2026, 12, 16), D(2026, 12, 16)),
        ("VIXW", D(2026, 12, 8), D(2026, 12, 9)),
        ("SPXW", D(2026, 12, 17), D(2026, 12, 17)),  # PM-settled: untouched
        ("SPX", D(2026, 12, 10), D(2026, 12, 10)),  # not next to an expiry: untouched
    ],
)
def test_settlement_from_last_trade(trading_class: str, ib_day: date, expected: date) -> None:
    """AM-settled classes map IB's last trading day to the settlement date."""
    assert dates.settlement_from_last_trade(ib_day, trading_class) == expected


@pytest.mark.parametrize(
    ("last_trade", "real", "expected"),
    [
        ("20261216", "", D(2026, 12, 16)),
        ("20261215", "", D(2026, 12, 16)),  # the Tuesday last trading day
        ("20261215", "20261216", D(2026, 12, 16)),
        ("20261209", "", None),  # a weekly
        ("202612", "", None),  # a month alone
    ],
)
def test_vix_future_expiry(last_trade: str, real: str, expected: date | None) -> None:
    """Monthly VIX futures map to the Cboe final settlement date; others to None."""
    assert dates.vix_future_expiry(last_trade, real) == expected


def test_contract_from_ib_passes_a_stock_through() -> None:
    """A stock is neither index, future nor option: it passes as OTHER with multiplier 1."""
    stock = SimpleNamespace(
        conId=265598, symbol="AAPL", secType="STK", lastTradeDateOrContractMonth="",
        strike=0.0, right="", multiplier="", localSymbol="AAPL", tradingClass="NMS",
    )  # fmt: skip
    assert m.contract_from_ib(stock) == Contract(
        "AAPL", SecType.OTHER, "NMS", multiplier=1, con_id=265598
    )


def test_chain_query_asks_am_classes_by_month() -> None:
    """SPX monthlies are asked by month (IB may file them under Thursday), SPXW by day."""
    spx = m.chain_query_fields("SPX", "SPX", D(2026, 12, 18))
    spxw = m.chain_query_fields("SPX", "SPXW", D(2026, 12, 18))
    assert spx["lastTradeDateOrContractMonth"] == "202612"
    assert spxw["lastTradeDateOrContractMonth"] == "20261218"


def _leg(symbol: str, action: Action, ratio: int = 1, tc: str = "SPXW") -> ComboLeg:
    contract = Contract(symbol, SecType.OPTION, tc, D(2026, 12, 18), 5800.0, Right.PUT)
    return ComboLeg(contract, ratio, action)


def test_order_plan_bag_and_single_leg() -> None:
    """Two legs go as a BUY of the BAG at the combo price; one leg as a plain order whose
    side and price come from the leg (a combo credit of 2.50 is a sale at 2.50)."""
    bag = m.order_plan(
        ComboOrder((_leg("SPX", Action.SELL), _leg("SPX", Action.BUY)), 3, -1.35, "a")
    )
    assert (bag.bag, bag.action, bag.quantity, bag.limit_price) == (True, Action.BUY, 3, -1.35)
    sale = m.order_plan(ComboOrder((_leg("SPX", Action.SELL),), 4, -2.5, "b"))
    assert (sale.bag, sale.action, sale.quantity, sale.limit_price) == (False, Action.SELL, 4, 2.5)
    pair = m.order_plan(ComboOrder((_leg("SPX", Action.BUY, ratio=2),), 3, 3.0, "c"))
    assert (pair.action, pair.quantity, pair.limit_price) == (Action.BUY, 6, 1.5)


def test_order_plan_refuses_mixed_underlyings() -> None:
    """IB takes a combo on one underlying only."""
    order = ComboOrder((_leg("SPX", Action.BUY), _leg("VIX", Action.SELL, tc="VIX")), 1, 1.0, "x")
    with pytest.raises(ValueError, match="one underlying"):
        m.order_plan(order)


@settings(max_examples=60, deadline=None)
@given(
    action=st.sampled_from(list(Action)),
    ratio=st.integers(1, 5),
    quantity=st.integers(1, 50),
    cents=st.integers(-5000, 5000),
)
def test_single_leg_plan_round_trips(action: Action, ratio: int, quantity: int, cents: int) -> None:
    """A plain order's fills convert back to the combo's units and price exactly."""
    limit = cents / 100
    plan = m.order_plan(ComboOrder((_leg("SPX", action, ratio),), quantity, limit, "r"))
    assert plan.combo_qty(plan.quantity) == quantity
    assert plan.combo_price(plan.limit_price) == pytest.approx(limit, abs=1e-9)


@pytest.mark.parametrize(
    ("sessions", "expected"), [(1, "16 D"), (5, "21 D"), (250, "364 D"), (260, "2 Y")]
)
def test_history_duration(sessions: int, expected: str) -> None:
    """7 calendar days per 5 sessions plus 14, in days up to 365 and in years beyond."""
    assert m.history_duration(sessions) == expected


@pytest.mark.parametrize(
    ("day", "now", "done"),
    [
        (D(2026, 11, 24), datetime(2026, 11, 24, 15, 59, tzinfo=NY), False),
        (D(2026, 11, 24), datetime(2026, 11, 24, 16, 0, tzinfo=NY), True),
        (D(2026, 11, 23), datetime(2026, 11, 24, 9, 0, tzinfo=NY), True),
        (D(2026, 11, 27), datetime(2026, 11, 27, 13, 30, tzinfo=NY), True),  # early close
        (D(2026, 11, 27), datetime(2026, 11, 27, 12, 30, tzinfo=NY), False),
    ],
)
def test_session_completed(day: date, now: datetime, done: bool) -> None:
    """A daily bar counts once its session has closed (13:00 on early-close days)."""
    assert dates.session_completed(day, now) is done


def test_good_till_is_utc() -> None:
    """GTD deadlines go to IB in UTC as yyyymmdd-hh:mm:ss."""
    assert m.good_till(datetime(2026, 11, 24, 15, 0, tzinfo=NY), 120) == "20261124-20:02:00"
