"""Pricing every live expiry of a snapshot in one batch (``chain_pricing``) gives each
option, expiry and problem exactly what pricing its expiry alone gives, and the vols'
all-mid shortcut (``expiry_fit.finish_vols``) equals the general path bit for bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.calendar import time_to_expiry_years
from daemon.core.expiry_fit import IVSource, finish_vols
from daemon.core.implied_vol import IVReason, IVResult, implied_vol
from daemon.core.market import build_market_view
from daemon.core.models import OptionQuote, Quote, Right
from daemon.core.params import ModelParams
from daemon.core.pricing import black76
from daemon.core.quote_checks import CheckedQuote, DataProblem, DataProblemCode
from tests.core.factories import (
    NOW,
    RATE,
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    VIX_EXPIRY,
    chain,
    snapshot,
    spx_option,
    strikes,
    vix_chain,
)

PARAMS = ModelParams()
# What may happen to one quote: nothing, a spread too wide to use, no bid, the broker's vol
# only (no usable mid).
FAULTS = ("none", "wide", "no_bid", "broker_only")
SERIES_CODES = {DataProblemCode.PARITY, DataProblemCode.NO_FORWARD, DataProblemCode.NO_IV}


def _faulted(o: OptionQuote, fault: str) -> OptionQuote:
    q = o.quote
    assert q.bid is not None and q.ask is not None
    mid = 0.5 * (q.bid + q.ask)
    if fault == "wide":
        q = Quote(0.2 * mid, 1.8 * mid, q.time)
    elif fault == "no_bid":
        q = Quote(None, q.ask, q.time)
    elif fault == "broker_only":
        q = Quote(None, None, q.time, model_iv_sigma=0.2)
    return OptionQuote(o.contract, q)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(FAULTS), min_size=80, max_size=80),
    st.floats(0.12, 0.35),
    st.booleans(),
)
def test_batch_prices_each_expiry_as_alone(faults: list[str], vol: float, far: bool) -> None:
    """Two SPXW expiries and a VIX one, some quotes faulty: the view of them together
    holds, option by option and problem by problem, the views of each expiry alone."""
    groups = [
        chain(strikes(4800, 5200, 25), 5010.0, vol),
        vix_chain(strikes(14, 24, 1), 19.5, 0.9),
    ]
    if far:
        groups.append(chain(strikes(4700, 5300, 50), 5040.0, vol + 0.01, SPX_FAR_EXPIRY))
    faulty = iter(faults * 2)
    groups = [[_faulted(o, next(faulty)) for o in g] for g in groups]
    together = build_market_view(snapshot(options=[o for g in groups for o in g]), PARAMS)
    problems = []
    for g in groups:
        alone = build_market_view(snapshot(options=g), PARAMS)
        for o in g:
            assert together.option(o.contract) == alone.option(o.contract)
        (ev,) = alone.expiry_views
        assert together.expiry(ev.trading_class, ev.expiry) == ev
        problems.append(alone.problems)
    # The quotes' problems come in the snapshot's order, then each series' own in
    # (symbol, class, expiry) order: SPX ones first, then VIX.
    quotes = [[p for p in found if p.code not in SERIES_CODES] for found in problems]
    series = [[p for p in found if p.code in SERIES_CODES] for found in problems]
    order = [0, 2, 1] if far else [0, 1]
    want = [p for found in quotes for p in found] + [p for i in order for p in series[i]]
    assert together.problems == tuple(want)
    assert {e.expiry for e in together.expiry_views} >= {SPX_EXPIRY, VIX_EXPIRY}


@given(
    st.lists(
        st.tuples(st.integers(47, 53), st.booleans(), st.floats(0.12, 0.6)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 12),
)
def test_all_mid_shortcut_equals_general_path(
    rows: list[tuple[int, bool, float]], where: int
) -> None:
    """An expiry whose every mid gives a vol takes the shortcut; the same expiry with one
    more option without a usable quote takes the general path, and the other options'
    vols, sources and reasons are the same bit for bit (and are the mids' vols)."""
    forward = 5000.0
    t_years = time_to_expiry_years(spx_option(5000, Right.CALL), NOW)
    k = np.array([100.0 * s for s, _, _ in rows])
    calls = np.array([c for _, c, _ in rows])
    sigma = np.array([v for _, _, v in rows])
    prices = black76(forward, k, t_years, RATE, sigma, calls).price
    fit = implied_vol(prices, forward, k, t_years, RATE, calls)
    assert (fit.reason == IVReason.OK).all() and (fit.sigma > 0).all()
    quoted = [
        (
            OptionQuote(spx_option(kk, Right.CALL if c else Right.PUT), Quote(p, p, NOW)),
            CheckedQuote(p, p, p, False, ()),
        )
        for kk, c, p in zip(k.tolist(), calls.tolist(), prices.tolist(), strict=True)
    ]
    inputs = (k, calls, forward, t_years, RATE)
    fast = finish_vols(quoted, fit, inputs, PARAMS)
    assert fast.source == [IVSource.MID] * len(rows)
    np.testing.assert_array_equal(fast.sigma, fit.sigma)
    # One option more, with no quote, at position ``where``: the general path.
    at = min(where, len(rows))
    missing = (
        OptionQuote(spx_option(5025, Right.PUT), Quote(None, None, NOW)),
        CheckedQuote(None, None, None, False, (DataProblem(DataProblemCode.MISSING, "x", "x"),)),
    )
    more = [*quoted[:at], missing, *quoted[at:]]
    more_fit = IVResult(
        np.insert(fit.sigma, at, math.nan), np.insert(fit.reason, at, IVReason.BAD_INPUT)
    )
    more_inputs = (np.insert(k, at, 5025.0), np.insert(calls, at, False), forward, t_years, RATE)
    general = finish_vols(more, more_fit, more_inputs, PARAMS)
    others = [i for i in range(len(more)) if i != at]
    np.testing.assert_array_equal(general.sigma[others], fast.sigma)
    assert [general.source[i] for i in others] == fast.source
    assert [general.reasons[i] for i in others] == fast.reasons
