"""Legs the broker still lists after their series settled (AM SPX monthlies after 09:30 on
expiry day, SPXW after the bell): valued at intrinsic on the settlement proxy, set aside
from the book's structures, never a data problem (issue 12, item 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from daemon.core.calendar import NY
from daemon.core.evaluate import CycleStatus, evaluate
from daemon.core.market import build_market_view
from daemon.core.models import MarketSnapshot, OptionQuote, Position, Quote
from daemon.core.params import ModelParams
from daemon.core.recognition import recognise
from daemon.core.risk import book_risk
from tests.core.factories import (
    SPOT,
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    chain,
    iron_condor,
    skew,
    spx_forward,
    standard_snapshot,
    strikes,
)

PARAMS = ModelParams()
EXPIRY_MORNING = datetime(2026, 4, 17, 10, 0, tzinfo=NY)  # SPX_EXPIRY is a third Friday
BEFORE_OPEN = datetime(2026, 4, 17, 9, 29, tzinfo=NY)
BELL = datetime(2026, 4, 17, 16, 0, tzinfo=NY)
# Settled against SPOT = 5000: the short put 5025 is 25 in the money, every other leg out.
SETTLED_STRIKES = (4950.0, 5025.0, 5150.0, 5200.0)
SETTLED_QTY = 3
# Hand-computed: -3 short puts x 25 points x 100 = -7,500 USD owed at settlement.
SETTLED_VALUE_USD = -SETTLED_QTY * (5025.0 - SPOT) * 100.0
LIVE_STRIKES = (4600.0, 4700.0, 5300.0, 5400.0)


def _settled_monthly() -> list[Position]:
    return iron_condor(SETTLED_STRIKES, SETTLED_QTY, SPX_EXPIRY, trading_class="SPX")


def _book(now: datetime, quoted_monthly: bool) -> tuple[list[Position], list[OptionQuote]]:
    """The settled monthly condor beside a live SPXW condor a month out; the monthly's
    quotes as a broker shows a settled series (no sides), or none at all."""
    positions = [*_settled_monthly(), *iron_condor(LIVE_STRIKES, 2, SPX_FAR_EXPIRY)]
    dead = Quote(bid=None, ask=None, time=now)
    quotes = [OptionQuote(p.contract, dead) for p in _settled_monthly()] if quoted_monthly else []
    return positions, quotes


def _snapshot(now: datetime, quoted_monthly: bool = True) -> MarketSnapshot:
    positions, quotes = _book(now, quoted_monthly)
    snap = standard_snapshot(positions, now=now)
    return replace(snap, options=snap.options + tuple(quotes))


def test_am_settled_legs_are_valued_at_intrinsic_and_raise_no_problem() -> None:
    """After 09:30 on expiry day a listed SPX monthly is settled: valid view, intrinsic
    marks on spot, zero greeks, no problem naming the series."""
    for quoted in (True, False):
        view = build_market_view(_snapshot(EXPIRY_MORNING, quoted), PARAMS)
        assert view.is_valid, view.fatal_problems
        keys = {p.contract.key for p in _settled_monthly()}
        assert view.settled_keys == keys
        assert not [p for p in view.problems if "SPX 2026-04-17" in p.instrument]
        for p in _settled_monthly():
            ov = view.option(p.contract)
            assert ov is not None and ov.is_priced
            k = p.contract.strike or 0.0
            expected = max(k - SPOT, 0.0) if p.contract.right == "P" else max(SPOT - k, 0.0)
            assert ov.mark == expected
            assert (ov.delta, ov.gamma, ov.vega, ov.theta) == (0.0, 0.0, 0.0, 0.0)


def test_settled_legs_leave_the_structures_and_carry_their_settlement_value() -> None:
    """The settled condor is not an income structure; its cash is reported apart and
    every contract ends up, exactly once, in structures, unrecognised or settled."""
    snap = _snapshot(EXPIRY_MORNING)
    view = build_market_view(snap, PARAMS)
    book = recognise(snap.positions, view.settled_keys)
    assert [s.expiry for s in book.income] == [SPX_FAR_EXPIRY]
    assert {p.contract.key for p in book.settled} == view.settled_keys
    counted: dict[str, int] = {}
    for s in book.structures:
        for leg in s.position_legs:
            counted[leg.contract.key] = counted.get(leg.contract.key, 0) + leg.quantity
    for p in (*book.unrecognised, *book.settled):
        counted[p.contract.key] = counted.get(p.contract.key, 0) + p.quantity
    assert counted == {p.contract.key: p.quantity for p in snap.positions}
    risk = book_risk(book, view, PARAMS)
    assert risk.settled_value_usd == SETTLED_VALUE_USD
    assert risk.complete
    assert [r.structure_id for r in risk.income] == [s.id for s in book.income]


def test_expiry_morning_cycle_is_not_data_invalid() -> None:
    """The cycle goes on past market validation: before the fix it was DATA_INVALID for
    the rest of the day (``NO_FORWARD settled`` on a held series)."""
    result = evaluate(_snapshot(EXPIRY_MORNING), None, PARAMS, EXPIRY_MORNING)
    assert result.status is not CycleStatus.DATA_INVALID, result.reason
    assert "settled" not in result.reason


def test_the_monthly_is_live_until_the_open() -> None:
    """At 09:29 the same series is live: priced from its chain, not set aside."""
    positions = _settled_monthly()
    snap = standard_snapshot(positions, now=BEFORE_OPEN)
    fwd = spx_forward(SPOT, SPX_EXPIRY, BEFORE_OPEN)
    monthly = chain(strikes(4400, 5600, 25), fwd, skew(), SPX_EXPIRY, "SPX", now=BEFORE_OPEN)
    snap = replace(snap, options=snap.options + tuple(monthly))
    view = build_market_view(snap, PARAMS)
    assert view.settled_keys == frozenset()
    assert {p.contract.key for p in positions} <= view.held_keys
    assert [s.kind.value for s in recognise(snap.positions, view.settled_keys).income] == [
        "IRON_CONDOR"
    ]


def test_spxw_settles_at_the_bell() -> None:
    """At 16:00 the PM series of the day is settled (the same handling as the AM one)."""
    spxw = iron_condor(SETTLED_STRIKES, 1, SPX_EXPIRY)
    snap = standard_snapshot(spxw, now=BELL)
    view = build_market_view(snap, PARAMS)
    assert view.is_valid, view.fatal_problems
    assert view.settled_keys == {p.contract.key for p in spxw}
    book = recognise(snap.positions, view.settled_keys)
    assert book.structures == ()
    assert book_risk(book, view, PARAMS).settled_value_usd == -(5025.0 - SPOT) * 100.0
