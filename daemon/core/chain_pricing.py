"""Every live expiry of a snapshot priced together: forwards, vols, Black-76 greeks.

``prepare_expiry`` fits one expiry's forward (``expiry_fit.fit_forward``);
``price_expiries`` then takes every prepared expiry at once: one ``implied_vol`` call on
the mids of all of them, each expiry's fallbacks on its own slice (broker vol,
interpolation in strike, a wide quote's own mid: ``expiry_fit.finish_vols``), and one
``black76`` call for the greeks of all. The kernels work element by element, so each
option's numbers are those of pricing its expiry alone; what batching saves is the
kernels' fixed cost per call, paid once per cycle instead of once per expiry (a dozen
expiries a cycle: docs/benchmarks.md). For the same reason the kernels' inputs are built
once for all expiries, one array per column from the rows' Python values (``_batch``),
and each expiry's fallbacks read slices of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from daemon.core.arrays import FloatArray
from daemon.core.expiry_fit import (
    ExpiryForward,
    ExpiryVols,
    IVSource,
    SeriesQuotes,
    finish_vols,
    fit_forward,
)
from daemon.core.implied_vol import IVReason, IVResult, implied_vol
from daemon.core.market_views import ExpiryView, OptionView, option_view, series_name
from daemon.core.models import OptionQuote
from daemon.core.params import ModelParams
from daemon.core.pricing import black76
from daemon.core.quote_checks import CheckedQuote, DataProblem, DataProblemCode

Rows = Sequence[tuple[OptionQuote, CheckedQuote]]


@dataclass(frozen=True)
class LiveExpiry:
    """One expiry not yet settled, its forward fitted: ready to price."""

    symbol: str
    trading_class: str
    expiry: date
    quotes: SeriesQuotes  # its rows, their keys and columns
    t_years: float
    fwd: ExpiryForward
    rate: float

    @property
    def rows(self) -> Rows:
        return self.quotes.rows


def prepare_expiry(
    symbol: str,
    trading_class: str,
    expiry: date,
    quotes: SeriesQuotes,
    years_left: float | str,
    futures: Mapping[date, float],
    params: ModelParams,
) -> LiveExpiry | DataProblem:
    """The expiry's forward and rate, or NO_FORWARD for a class without a settlement rule.
    ``years_left``: ACT/365 years to settlement (``calendar.time_to_expiry_years``), or
    why the series has none (the ``ValueError``'s text): the caller asks once per series."""
    name = series_name(trading_class, expiry)
    if isinstance(years_left, str):
        return DataProblem(DataProblemCode.NO_FORWARD, name, years_left)
    t_years = years_left
    is_vix = symbol == "VIX"
    fwd = fit_forward(is_vix, name, expiry, t_years, quotes.parity_pairs(), futures, params)
    r = params.pricing.risk_free_rate_frac
    rate = -math.log(fwd.discount) / t_years if t_years > 0 else r
    return LiveExpiry(symbol, trading_class, expiry, quotes, t_years, fwd, rate)


def price_expiries(
    live: Sequence[LiveExpiry], params: ModelParams
) -> list[tuple[ExpiryView, list[OptionView], list[DataProblem]]]:
    """Each expiry's view, its options' views (row order) and its problems, in order."""
    forwarded = [e for e in live if e.fwd.forward is not None]
    batch = _batch(forwarded)
    vols = dict(zip(map(id, forwarded), _vols(forwarded, batch, params), strict=True))
    greeks = _greeks(forwarded, batch, vols)
    out = []
    for e in live:
        sigma = vols.get(id(e))
        views, problems = _views(e, sigma, greeks.get(id(e)))
        ev = ExpiryView(
            symbol=e.symbol,
            trading_class=e.trading_class,
            expiry=e.expiry,
            t_years=e.t_years,
            forward=e.fwd.forward,
            discount=e.fwd.discount,
            parity_residual_usd=e.fwd.residual_usd,
            reliable=e.fwd.forward is not None and not e.fwd.problems,
        )
        out.append((ev, views, [*e.fwd.problems, *problems]))
    return out


class _Batch(NamedTuple):
    """The rows of every priced expiry end to end, one array per kernel input: built
    once and read by both kernels (numpy's fixed cost per array, not the rows, was most
    of building one per expiry and column)."""

    strikes: FloatArray
    calls: npt.NDArray[np.bool_]
    mids: FloatArray  # NaN where no usable mid
    forwards: FloatArray
    t_years: FloatArray
    rates: FloatArray


def _batch(live: Sequence[LiveExpiry]) -> _Batch:
    strikes: list[float] = []
    calls: list[bool] = []
    mids: list[float] = []
    for e in live:
        strikes += e.quotes.strikes
        calls += e.quotes.calls
        mids += e.quotes.mids
    counts = [len(e.rows) for e in live]

    def spread(per_expiry: list[float]) -> FloatArray:  # one value per expiry, over its rows
        return np.repeat(np.asarray(per_expiry, dtype=np.float64), counts)

    return _Batch(
        np.array(strikes, dtype=np.float64),
        np.array(calls, dtype=np.bool_),
        np.array(mids, dtype=np.float64),
        spread([e.fwd.forward or math.nan for e in live]),
        spread([e.t_years for e in live]),
        spread([e.rate for e in live]),
    )


def _vols(live: Sequence[LiveExpiry], b: _Batch, params: ModelParams) -> list[ExpiryVols]:
    """The vols of every expiry: one implied-vol call, then each expiry's fallbacks. An
    expiry whose every mid gave a vol (most of them) needs none: that is decided on the
    batch, element by element as ``finish_vols`` decides it on the slice, and the expiry's
    vols are read off the batch without a call per expiry."""
    if not live:
        return []
    fit = implied_vol(
        b.mids, b.forwards, b.strikes, b.t_years, b.rates, b.calls, params.pricing.iv_max_sigma
    )
    ok = (fit.reason == int(IVReason.OK)) & (fit.sigma > 0)  # as in ``finish_vols``
    iv = np.where(ok, fit.sigma, np.nan)
    ok_rows, reasons = ok.tolist(), fit.reason.tolist()
    out, start = [], 0
    for e in live:
        part = slice(start, start + len(e.rows))
        start = part.stop
        if all(ok_rows[part]):
            out.append(ExpiryVols(iv[part], [IVSource.MID] * len(e.rows), reasons[part]))
            continue
        mine = IVResult(fit.sigma[part], fit.reason[part])
        forward = e.fwd.forward or math.nan
        inputs = (b.strikes[part], b.calls[part], forward, e.t_years, e.rate)
        out.append(finish_vols(e.rows, mine, inputs, params))
    return out


def _greeks(
    live: Sequence[LiveExpiry], b: _Batch, vols: Mapping[int, ExpiryVols]
) -> dict[int, list[list[float]]]:
    """Per expiry, Black-76 price and greeks columns (lists of floats, row order); NaN
    where an option has no vol. One ``black76`` call for every expiry."""
    if not live:
        return {}
    sigma = np.concatenate([vols[id(e)].sigma for e in live])
    g = black76(b.forwards, b.strikes, b.t_years, b.rates, sigma, b.calls)
    # Python floats once per array (``tolist``), not one numpy scalar per option and field.
    columns = [a.tolist() for a in g]
    out, start = {}, 0
    for e in live:
        stop = start + len(e.rows)
        out[id(e)] = [col[start:stop] for col in columns]
        start = stop
    return out


def _views(
    e: LiveExpiry, vols: ExpiryVols | None, columns: list[list[float]] | None
) -> tuple[list[OptionView], list[DataProblem]]:
    """The expiry's option views in row order; NO_IV where no vol was found. The views
    are built positionally (``OptionView``'s field order, by ``option_view``) in one pass
    over zipped columns: a cycle builds ~300 of them, each a visible cost."""
    forward, t, discount, rate = e.fwd.forward, e.t_years, e.fwd.discount, e.rate
    if vols is None or columns is None:  # no forward: nothing priced, nothing to say
        unpriced = [
            option_view(
                oq.contract, ck.bid, ck.ask, ck.value, None, None, forward, t, discount, rate
            )
            for oq, ck in e.rows
        ]
        return unpriced, []
    views: list[OptionView] = []
    problems: list[DataProblem] = []
    for i, ((oq, ck), sigma, source, price, delta, gamma, vega, theta) in enumerate(
        zip(e.rows, vols.sigma.tolist(), vols.source, *columns, strict=True)
    ):
        c = oq.contract
        if math.isfinite(sigma):
            view = option_view(
                c, ck.bid, ck.ask, ck.value, sigma, source, forward, t, discount, rate,
                price, delta, gamma, vega, theta,
            )  # fmt: skip
        else:
            problems.append(DataProblem(DataProblemCode.NO_IV, c.key, vols.why(i, ck)))
            view = option_view(
                c, ck.bid, ck.ask, ck.value, None, source, forward, t, discount, rate
            )
        views.append(view)
    return views, problems
