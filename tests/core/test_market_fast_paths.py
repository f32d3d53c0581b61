"""The market view's fast paths give the general paths' results bit for bit: the parity
forward of Python floats (``implied_forward_of_floats``) against the array form it
replaced (``tests/core/array_parity_forward.py``), and
the implied-vol solver's one pass over both sides of the inflection point against the
two passes it replaced (``tests/core/two_pass_iv.py``), and the market view's batch-level
all-mid shortcut against ``finish_vols`` on every expiry, and a series' columns gathered
quote by quote against walking its rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import daemon.core.chain_pricing as chain_pricing
import daemon.core.implied_vol as iv_module
from daemon.core.chain_pricing import LiveExpiry, _Batch
from daemon.core.expiry_fit import ExpiryVols, IVSource, SeriesQuotes, finish_vols
from daemon.core.implied_vol import IVResult
from daemon.core.market import build_market_view
from daemon.core.models import Contract, OptionQuote, Quote, Right, SecType
from daemon.core.params import ModelParams
from daemon.core.pricing import (
    ForwardFit,
    black76,
    implied_forward,
    implied_forward_of_floats,
    implied_vol,
)
from daemon.core.quote_checks import CheckedQuote
from tests.core.array_parity_forward import array_implied_forward
from tests.core.factories import NOW, standard_snapshot
from tests.core.two_pass_iv import two_pass_normalised_vol

PARAMS = ModelParams()

ODD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0])


def _same(a: ForwardFit | None, b: ForwardFit | None) -> bool:
    """Equal field by field as floats are stored (``repr``: -0.0 and NaN told apart),
    and of the same Python types."""
    if a is None or b is None:
        return a is b
    return repr(tuple(a)) == repr(tuple(b)) and [type(v) for v in a] == [type(v) for v in b]


@st.composite
def parity_quotes(draw: st.DrawFn) -> tuple[list[float], list[float], list[float]]:
    """Strikes and call/put mids near parity C - P = D (F - K) (so the least-squares line
    is often accepted), with noise, repeated strikes, ties and odd values mixed in."""
    forward = draw(st.floats(50.0, 6000.0))
    discount = draw(st.floats(0.9, 1.0))
    n = draw(st.integers(0, 12))
    step = draw(st.sampled_from([0.5, 5.0, 25.0]))
    strikes, calls, puts = [], [], []
    for _ in range(n):
        k = round(forward / step + draw(st.integers(-8, 8))) * step
        diff = discount * (forward - k) + draw(st.sampled_from([0.0, 0.05, -0.1, 0.3]))
        put = draw(st.floats(0.0, 80.0))
        call = put + diff
        strikes.append(draw(st.one_of(st.just(k), ODD)) if draw(st.booleans()) else k)
        calls.append(draw(ODD) if draw(st.integers(0, 9)) == 0 else call)
        puts.append(draw(ODD) if draw(st.integers(0, 9)) == 0 else put)
    return strikes, calls, puts


@settings(max_examples=500, deadline=None)
@given(
    quotes=parity_quotes(),
    t_years=st.one_of(st.just(0.0), st.floats(1e-4, 2.0)),
    rate=st.one_of(st.floats(-0.05, 0.2), st.just(800.0)),
    pairs=st.integers(1, 4),
    gap=st.sampled_from([0.01, 0.2, 50.0]),
)
@example(
    quotes=([4900.0, 5000.0, 5100.0], [150.0, 80.0, 30.0], [52.0, 80.5, 129.0]),
    t_years=0.25,
    rate=0.04,
    pairs=3,
    gap=50.0,
)
def test_parity_forward_of_floats_is_the_general_path(
    quotes: tuple[list[float], list[float], list[float]],
    t_years: float,
    rate: float,
    pairs: int,
    gap: float,
) -> None:
    """Same forward, discount, residual, ATM strike and pair count as the parity forward
    on numpy arrays (the former ``implied_forward``, kept as the oracle; None alike),
    whatever the quotes hold, and ``implied_forward`` (now a conversion to the float
    path) the same again: a rate of 800 underflows the discount factor to 0, where the
    fallback forward is an IEEE division by zero."""
    strikes, calls, puts = quotes
    with np.errstate(all="ignore"):  # the general path divides by a discount of 0
        general = array_implied_forward(
            np.array(strikes), np.array(calls), np.array(puts), t_years, rate, pairs, gap
        )
        floats = implied_forward_of_floats(strikes, calls, puts, t_years, rate, pairs, gap)
        public = implied_forward(
            np.array(strikes), np.array(calls), np.array(puts), t_years, rate, pairs, gap
        )
    assert _same(floats, general), (floats, general)
    assert _same(public, general), (public, general)


def test_parity_forward_of_floats_takes_the_line_and_refuses_what_the_general_path_does() -> None:
    """The least-squares line is used when its rate is acceptable (exact parity quotes: the
    known forward and discount back), and bad arguments raise as in the general path."""
    strikes = [4900.0, 5000.0, 5100.0]
    d, f = math.exp(-0.04 * 0.25), 5012.5
    puts = [40.0, 70.0, 110.0]
    calls = [p + d * (f - k) for p, k in zip(puts, strikes, strict=True)]
    fit = implied_forward_of_floats(strikes, calls, puts, 0.25, 0.04)
    assert fit is not None and fit.pairs_used == 3
    assert fit.forward == pytest.approx(f, abs=1e-9) and fit.discount == pytest.approx(d)
    assert _same(fit, array_implied_forward(strikes, calls, puts, 0.25, 0.04))
    for bad in ({"pairs": 0}, {"T": -1.0}, {"r": math.nan}):
        args = {"T": 0.25, "r": 0.04, "pairs": 3} | bad
        with pytest.raises(ValueError):
            implied_forward_of_floats(strikes, calls, puts, **args)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            implied_forward(strikes, calls, puts, **args)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        implied_forward_of_floats(strikes, calls, puts[:2], 0.25, 0.04)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 300))
def test_one_pass_implied_vol_is_the_two_pass_solver(
    seed: int, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Implied vols and reasons of a batch mixing both sides of the inflection point, far
    wings (the asymptotic starts), vols up to 6 over 5 years (the starts from s_c), odd
    prices and both rights: the one-pass solver's floats are the two-pass solver's."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(5.0, 6000.0, size)
    t = np.exp(rng.uniform(math.log(1e-4), math.log(5.0), size))
    sigma = np.exp(rng.uniform(math.log(0.005), math.log(6.0), size))
    k = f * np.exp(rng.uniform(-8.0, 8.0, size) * sigma * np.sqrt(t))
    r = rng.uniform(-0.02, 0.1, size)
    call = rng.random(size) < 0.5
    price = np.asarray(black76(f, k, t, r, sigma, call).price)
    odd = rng.random(size) < 0.15  # anywhere from 0 to past the no-arbitrage bound
    price[odd] = rng.uniform(0.0, 1.2, odd.sum()) * np.where(call, f, k)[odd]
    args = (price, f, k, t, r, call, 5.0)
    got = implied_vol(*args)
    with monkeypatch.context() as patch:  # the fixture lives across examples: undo each
        patch.setattr(iv_module, "_normalised_vol", two_pass_normalised_vol)
        want = implied_vol(*args)
    assert got.sigma.tobytes() == want.sigma.tobytes()
    assert got.reason.tolist() == want.reason.tolist()


def _vols_expiry_by_expiry(
    live: Sequence[LiveExpiry], b: _Batch, params: ModelParams
) -> list[ExpiryVols]:
    """The vols as ``_vols`` found them before the batch-level shortcut: ``finish_vols``
    on each expiry's slice of the one implied-vol call."""
    fit = implied_vol(
        b.mids, b.forwards, b.strikes, b.t_years, b.rates, b.calls, params.pricing.iv_max_sigma
    )
    out, start = [], 0
    for e in live:
        part = slice(start, start + len(e.rows))
        start = part.stop
        inputs = (b.strikes[part], b.calls[part], e.fwd.forward or math.nan, e.t_years, e.rate)
        out.append(finish_vols(e.rows, IVResult(fit.sigma[part], fit.reason[part]), inputs, params))
    return out


def test_the_batch_vol_shortcut_is_finish_vols(monkeypatch: pytest.MonkeyPatch) -> None:
    """A market view whose expiries are a mix of all-mid (the shortcut) and needing
    fallbacks (a one-sided quote every seventh option of the SPX chains: broker vol or
    interpolation) has the very option views ``finish_vols`` on every expiry gives."""
    snap = standard_snapshot()
    options = [
        OptionQuote(oq.contract, replace(oq.quote, bid=None))
        if i % 7 == 3 and oq.contract.symbol == "SPX"
        else oq
        for i, oq in enumerate(snap.options)
    ]
    snap = replace(snap, options=tuple(options))
    got = build_market_view(snap, PARAMS)
    monkeypatch.setattr(chain_pricing, "_vols", _vols_expiry_by_expiry)
    want = build_market_view(snap, PARAMS)
    sources = {v.iv_source for v in got.options.values()}
    assert {IVSource.MID, IVSource.INTERPOLATED} <= sources  # both kinds of expiry
    assert list(got.options) == list(want.options)
    for key, view in got.options.items():
        assert repr(view) == repr(want.options[key])
    assert got.problems == want.problems


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from([4950.0, 5000.0, 5025.0, 5050.0])),
            st.sampled_from([Right.CALL, Right.PUT]),
            st.one_of(st.none(), st.floats(0.0, 90.0)),
        ),
        max_size=25,
    )
)
def test_a_series_gathers_what_walking_its_rows_gives(
    rows: list[tuple[float | None, Right, float | None]],
) -> None:
    """The columns a series gathers quote by quote are those read off its rows afterwards
    (the walks it replaced, written out here): strikes (NaN without one), call flags,
    mids (NaN where none), and the parity pairs (strikes with both rights' mids,
    ascending, a repeated strike keeping its last mid)."""
    series = SeriesQuotes()
    for i, (strike, right, value) in enumerate(rows):
        contract = Contract("SPX", SecType.OPTION, "SPXW", date(2026, 4, 17), strike, right)
        checked = CheckedQuote(None, None, value, False, ())
        series.add(OptionQuote(contract, Quote(None, None, NOW)), checked, f"k{i}")
    assert series.keys == [f"k{i}" for i in range(len(rows))]
    assert [r[1].value for r in series.rows] == [v for _, _, v in rows]
    assert repr(series.strikes) == repr([math.nan if k is None else k for k, _, _ in rows])
    assert series.calls == [r is Right.CALL for _, r, _ in rows]
    assert repr(series.mids) == repr([math.nan if v is None else v for _, _, v in rows])
    calls: dict[float, float] = {}
    puts: dict[float, float] = {}
    for k, r, v in rows:
        if k is not None and v is not None:
            (calls if r is Right.CALL else puts)[k] = v
    both = sorted(set(calls) & set(puts))
    assert series.parity_pairs() == (both, [calls[k] for k in both], [puts[k] for k in both])
