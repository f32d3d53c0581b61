"""The market view's fast paths give what the plain code gives: a clean or merely wide
quote decided without the full checks, and the per-strike mean vol used for interpolation."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.expiry_fit import _interpolate_iv
from daemon.core.models import FeedKind, Quote
from daemon.core.params import ModelParams
from daemon.core.quote_checks import (
    CheckedQuote,
    DataProblemCode,
    _checked,
    check_quote,
    quick_check,
)
from tests.core.factories import NOW

PARAMS = ModelParams()
PRICE = st.one_of(
    st.none(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 0.0]),
    st.floats(0.0, 200.0, allow_nan=False),
)


@settings(max_examples=400, deadline=None)
@given(
    bid=PRICE,
    ask=PRICE,
    last=PRICE,
    age_s=st.floats(-5.0, 600.0),
    index=st.booleans(),
    feed=st.sampled_from(FeedKind),
)
def test_quick_check_agrees_with_the_full_checks(
    bid: float | None,
    ask: float | None,
    last: float | None,
    age_s: float,
    index: bool,
    feed: FeedKind,
) -> None:
    """Whenever the shortcut decides a quote, the full checks decide it the same way (the
    WIDE problem's text included), and check_quote always returns the full checks'
    verdict (a delayed or frozen feed included: a fresh-looking, tight delayed quote is
    still stale)."""
    q = Quote(bid, ask, NOW - timedelta(seconds=age_s), last, feed=feed)
    v = PARAMS.validation
    full = _checked(q, "X", NOW, PARAMS, index)
    quick = quick_check(q, "X", NOW, v.max_quote_age_s, v.max_spread_frac, index)
    if quick is not None:
        assert quick == full
        assert type(quick) is CheckedQuote and quick._asdict() == full._asdict()
        assert all(p.code is DataProblemCode.WIDE for p in full.problems)
    assert check_quote(q, "X", NOW, PARAMS, index) == full


@settings(max_examples=400, deadline=None)
@given(
    first_age_s=st.floats(-5.0, 600.0),
    bid=PRICE,
    ask=PRICE,
    last=PRICE,
    feed=st.sampled_from(FeedKind),
)
def test_a_stamp_found_fresh_decides_as_its_age_does(
    first_age_s: float, bid: float | None, ask: float | None, last: float | None, feed: FeedKind
) -> None:
    """A quote sharing the stamp of a quote the shortcut decided gets what the shortcut
    gives it without the hint (the market view passes that stamp on), and a stamp equal
    but not the same object is aged as before."""
    v = PARAMS.validation
    stamp = NOW - timedelta(seconds=first_age_s)
    first = quick_check(
        Quote(1.0, 1.1, stamp), "X", NOW, v.max_quote_age_s, v.max_spread_frac, False
    )
    fresh = stamp if first is not None else None  # as ``build_market_view`` keeps it
    equal = stamp + timedelta(0)
    assert equal == stamp and equal is not stamp
    stale = NOW - timedelta(seconds=v.max_quote_age_s + 1.0)
    for time in (stamp, equal, stale):
        q = Quote(bid, ask, time, last, feed=feed)
        hinted = quick_check(q, "X", NOW, v.max_quote_age_s, v.max_spread_frac, False, fresh)
        plain = quick_check(q, "X", NOW, v.max_quote_age_s, v.max_spread_frac, False)
        assert hinted == plain
        if hinted is not None:
            assert hinted == _checked(q, "X", NOW, PARAMS, False)


def test_quick_check_decides_clean_and_wide_quotes() -> None:
    """The shortcut does decide the two common cases (so the property above is not
    vacuous): a tight quote with no problem, a wide one with its WIDE problem alone."""
    v = PARAMS.validation
    tight = Quote(10.0, 10.2, NOW)
    wide = Quote(0.05, 0.60, NOW)
    for q, codes in ((tight, []), (wide, [DataProblemCode.WIDE])):
        quick = quick_check(q, "X", NOW, v.max_quote_age_s, v.max_spread_frac, False)
        assert quick is not None and [p.code for p in quick.problems] == codes
        assert quick == _checked(q, "X", NOW, PARAMS, False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 12),
            st.one_of(st.just(math.nan), st.floats(0.05, 2.0)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_interpolation_matches_a_per_strike_loop(rows: list[tuple[int, float]]) -> None:
    """Unknown vols are filled by np.interp over the per-strike mean of the known ones,
    computed here strike by strike in plain Python, bit for bit."""
    strikes = np.array([100.0 + 5.0 * k for k, _ in rows])
    iv = np.array([s for _, s in rows])
    got = _interpolate_iv(strikes, iv)
    known = [(k, s) for k, s in zip(strikes.tolist(), iv.tolist(), strict=True) if s == s]
    if len(known) < 2:
        np.testing.assert_array_equal(got, iv)
        return
    grid = sorted({k for k, _ in known})
    means = []
    for g in grid:
        vals = [s for k, s in known if k == g]
        total = 0.0
        for s in vals:
            total += s
        means.append(total / len(vals))
    want = iv.copy()
    for i, (k, s) in enumerate(zip(strikes.tolist(), iv.tolist(), strict=True)):
        if s != s and grid[0] <= k <= grid[-1]:
            want[i] = np.interp(k, grid, means)
    np.testing.assert_array_equal(got, want)
