"""``evaluate``'s wiring around the skew and the book's price, on the independent market
of ``test_evaluate.py``: the skew is read on the configured tenor, a snapshot without a
readable smile gets the map's neutral share, an SPX level that leaves the book without
dollar greeks stops the cycle as ``unpriced_book``, and the held hedges handed on are all
priced."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from daemon.core.cycle_inputs import held_hedges
from daemon.core.evaluate import CycleResult, CycleStatus, evaluate
from daemon.core.families.vix_call_spread import VIX_CALL_SPREAD
from daemon.core.market import build_market_view
from daemon.core.models import Contract, MarketSnapshot, Position, Quote, Right, SecType
from daemon.core.params import ModelParams
from daemon.core.recognition import recognise
from daemon.core.risk import book_risk
from tests.core.test_evaluate import (
    FAR,
    NEAR,
    NOW,
    RATE,
    VIX_APRIL,
    Market,
    _spx_years,
    base_snapshot,
)

# NEAR is 46 calendar days out and FAR 74: a 30-day tenor reads NEAR, a 90-day one FAR.
TENOR_NEAR, TENOR_FAR = 30, 90


def _params(**skew: Any) -> ModelParams:
    return ModelParams.model_validate({"signals": {"skew": skew}})


def _oracle_skew_pts(expiry: date, target_delta: float = -0.25) -> float:
    """The builder's own smile, sigma(K) = atm + slope ln(K/F): the strike whose Black-76
    put delta (discounted, as the core's) is ``target_delta``, found by root search, and
    its IV minus the ATM IV, in vol points."""
    m = Market()
    f, t = m.forward(expiry, NOW), _spx_years(expiry, NOW)
    disc = math.exp(-RATE * t)

    def put_delta(k: float) -> float:
        s = m.sigma(k, f) * math.sqrt(t)
        d1 = (math.log(f / k) + 0.5 * s * s) / s
        return float(-disc * norm.cdf(-d1))

    k25 = brentq(lambda k: put_delta(k) - target_delta, 0.5 * f, f)
    return 100.0 * (m.sigma(k25, f) - m.sigma(f, f))


def _no_otm_puts(snapshot: MarketSnapshot, expiry: date) -> MarketSnapshot:
    """``snapshot`` with ``expiry``'s puts below its forward gone: its calls and the puts
    above the money still fit the forward, but no smile can be read below the money."""
    forward = Market().forward(expiry, NOW)
    kept = tuple(
        o
        for o in snapshot.options
        if not (
            o.contract.expiry == expiry
            and o.contract.right is Right.PUT
            and (o.contract.strike or 0.0) < forward
        )
    )
    return replace(snapshot, options=kept)


def _ok(result: CycleResult) -> CycleResult:
    assert result.status is CycleStatus.OK, result.reason
    return result


@pytest.mark.parametrize(("tenor", "expiry"), [(TENOR_NEAR, NEAR), (TENOR_FAR, FAR)])
def test_the_skew_is_read_on_the_configured_tenor(tenor: int, expiry: date) -> None:
    """``signals.skew.tenor_days`` chooses the expiry: the cycle's skew is that expiry's
    smile (oracle: root search on the builder's smile; the core interpolates between the
    25-point strikes, hence the tolerance, far below the 1.5 points between the two)."""
    result = _ok(evaluate(base_snapshot(), None, _params(tenor_days=tenor), NOW))
    near, far = _oracle_skew_pts(NEAR), _oracle_skew_pts(FAR)
    assert abs(far - near) > 1.0  # the two expiries are told apart
    assert result.skew_pts == pytest.approx(_oracle_skew_pts(expiry), abs=0.05)


def test_an_unreadable_smile_gets_the_middle_breakpoints_share() -> None:
    """The tenor's expiry has no put below the money: no skew, and the VIX share is the
    default map's at its middle breakpoint, (1.9 vol pts -> 0.60), not an end's (0.40 or
    0.75)."""
    snapshot = _no_otm_puts(base_snapshot(), FAR)
    result = _ok(evaluate(snapshot, None, _params(tenor_days=TENOR_FAR), NOW))
    assert result.skew_pts is None
    assert result.vix_share_target == pytest.approx(0.60, abs=1e-12)
    assert result.plan is not None and result.plan.vix_share_target == result.vix_share_target


def test_the_neutral_share_follows_the_configured_map() -> None:
    """With a five-point map the middle breakpoint is the third, (2.0 -> 0.5): the share is
    0.5 (the first or last point would give 0.1 or 0.9, the second or fourth 0.2 or 0.7)."""
    points = [[0.0, 0.1], [1.0, 0.2], [2.0, 0.5], [3.0, 0.7], [4.0, 0.9]]
    snapshot = _no_otm_puts(base_snapshot(), FAR)
    result = _ok(evaluate(snapshot, None, _params(tenor_days=TENOR_FAR, breakpoints=points), NOW))
    assert result.skew_pts is None
    assert result.vix_share_target == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(
    ("index", "quote", "shown"),
    [
        ("spx", Quote(None, None, NOW, last=0.0), "0"),
        ("spx", Quote(0.0, 0.0, NOW), "0"),
        ("spx", Quote(None, None, NOW, last=-5.0), "-5"),
        ("vix", Quote(None, None, NOW, last=0.0), "0"),
    ],
)
def test_an_index_level_at_or_below_zero_is_bad_data(index: str, quote: Quote, shown: str) -> None:
    """A zero or negative index print is not a level: the cycle stops as invalid data,
    naming the index and the value, and proposes nothing (it once passed the index check
    and the cycle blamed the book: every condor unpriced)."""
    result = evaluate(replace(base_snapshot(), **{index: quote}), None, _params(), NOW)
    assert result.status is CycleStatus.DATA_INVALID
    name = index.upper()
    assert f"MISSING {name}: level {shown} is not a price" in result.reason
    assert result.plan is None and result.proposal is None and result.adjustments == ()


def test_an_incomplete_book_risk_stops_the_cycle_as_unpriced_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard no accepted snapshot reaches today (evaluate's docstring): a book risk
    with a structure unpriced stops the cycle as ``unpriced_book``, naming the structure
    and why, and proposes nothing. The risk is the real one, computed without a spot."""
    import daemon.core.evaluate as evaluate_module

    def without_spot(book: Any, view: Any, params: ModelParams) -> Any:
        return book_risk(book, replace(view, spot=None), params)

    monkeypatch.setattr(evaluate_module, "book_risk", without_spot)
    result = evaluate(base_snapshot(), None, _params(), NOW)
    assert result.status is CycleStatus.UNPRICED_BOOK
    assert result.risk is not None and not result.risk.complete
    label = result.risk.income[0].label
    assert result.reason == f"book not priced: {label} (no usable SPX spot for dollar greeks)"
    assert result.plan is None and result.proposal is None and result.adjustments == ()
    assert result.to_json()["unpriced_hedges"] == []


def _with_vix_spread() -> MarketSnapshot:
    """The base book plus 5 long VIX April 20/30 call spreads (bought at their mids)."""
    m, snap = Market(), base_snapshot()
    legs = []
    for strike, sign in ((20, 1), (30, -1)):
        c = Contract("VIX", SecType.OPTION, "VIX", VIX_APRIL, float(strike), Right.CALL)
        legs.append(Position(c, 5 * sign, 100 * m.vix_mid(strike, Right.CALL, NOW)))
    return replace(snap, positions=(*snap.positions, *legs))


def test_held_hedges_refuses_an_unpriced_hedge() -> None:
    """``held_hedges`` sees only a complete book (``evaluate`` stops an unpriced one
    first): a hedge without a stress payoff is a programming error and raises, naming
    it, instead of being set aside in silence as it once was."""
    snapshot, params = _with_vix_spread(), _params()
    view = build_market_view(snapshot, params)
    book = recognise(snapshot.positions, view.settled_keys)
    risk = book_risk(book, view, params)
    (held,) = held_hedges(book, risk, view, NOW)
    assert held.structure.kind is VIX_CALL_SPREAD and held.payoff_usd > 0
    hedge = risk.hedges[0]
    broken = replace(risk, hedges=(replace(hedge, priced=False, stress_pnl_usd=None),))
    with pytest.raises(ValueError, match=f"{hedge.label}: held hedge not priced"):
        held_hedges(book, broken, view, NOW)
