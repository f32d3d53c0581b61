"""The validated market view of one snapshot: forwards, implied vols, greeks, data problems.

``build_market_view(snapshot, params)`` checks every quote, fits each expiry's forward and
prices every option (alvh-model.md sections 0 and 1). Everything downstream (book risk,
the stress scenario, the hedge candidates) reads prices through the ``MarketView``.

Decisions
---------
- A quote is *usable* (its mid may be used to imply a vol or a forward) when it is fresh
  (``validation.max_quote_age_s``), finite, two-sided, not crossed and not wider than
  ``validation.max_spread_frac`` of its mid. Indices usually come as a last price only; for
  them the mid of a two-sided quote, else the last, is the value.
- SPX/SPXW: one expiry = one (trading class, expiry date); its forward is the parity-
  implied forward (``pricing.implied_forward``). A residual above
  ``pricing.parity_tolerance_usd`` raises PARITY and marks the expiry unreliable (still
  priced; the overlay should not build candidates there).
- VIX/VIXW: the forward is the VIX future of the same expiry date (``snapshot.vix_futures``),
  never spot VIX. It is checked against the parity-implied forward of the pair nearest the
  money: residual = discount x |F_parity - future| USD per share. No usable future ->
  NO_FORWARD and the expiry's options are not priced.
- Implied vol: from the usable mid; else the broker's model IV (unless the quote is
  stale); else linear interpolation in strike between the nearest strikes on either side
  that have an IV (calls and puts of a strike averaged; never extrapolated); else ``None``
  with NO_IV. Greeks are Black-76 with that vol.
- ``is_valid`` is False when SPX or VIX spot is unusable (stale, missing, NaN, crossed) or
  when a held SPX/VIX option's leg or expiry has any problem other than WIDE (a wide quote
  on a far wing is normal; its vol falls back and the leg stays priced). VIX3M problems are
  recorded but not fatal: only the term signal needs it.

Units: prices USD per share; ``t_years`` ACT/365; ``sigma`` decimal; greeks per share and
per contract unit (no multiplier): delta/gamma with respect to the expiry's forward, vega
per vol point, theta per calendar day (as ``pricing.black76``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from daemon.core.calendar import time_to_expiry_years
from daemon.core.models import Contract, MarketSnapshot, OptionQuote, Quote, Right
from daemon.core.params import ModelParams
from daemon.core.pricing import IVReason, black76, implied_forward, implied_vol

SPX_SYMBOL = "SPX"
VIX_SYMBOL = "VIX"
_FloatArray = npt.NDArray[np.float64]


class DataProblemCode(StrEnum):
    STALE = "STALE"
    MISSING = "MISSING"
    NAN = "NAN"
    CROSSED = "CROSSED"
    WIDE = "WIDE"
    PARITY = "PARITY"
    NO_FORWARD = "NO_FORWARD"
    NO_IV = "NO_IV"


# Index problems that make SPX or VIX spot unusable, hence the cycle unsafe.
_QUOTE_FATAL = frozenset(
    {DataProblemCode.STALE, DataProblemCode.MISSING, DataProblemCode.NAN, DataProblemCode.CROSSED}
)


@dataclass(frozen=True)
class DataProblem:
    """``instrument``: an index ("SPX", "VIX", "VIX3M"), a future ("VIX FUT 2026-04-15"),
    an option (``Contract.key``) or an expiry ("SPXW 2026-04-17")."""

    code: DataProblemCode
    instrument: str
    detail: str


class IVSource(StrEnum):
    MID = "mid"
    BROKER = "broker"
    INTERPOLATED = "interpolated"


@dataclass(frozen=True)
class OptionView:
    """One option as the model sees it. ``bid``/``ask`` are the raw finite sides; ``mid``
    is set only when the quote is usable. ``underlying_price`` is the expiry's forward
    (SPX) or VIX future (VIX). Model fields are ``None`` when the option is not priced."""

    contract: Contract
    bid: float | None
    ask: float | None
    mid: float | None
    iv_sigma: float | None
    iv_source: IVSource | None
    underlying_price: float | None
    t_years: float
    discount: float
    rate_frac: float
    model_price: float | None = None
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None

    @property
    def is_priced(self) -> bool:
        return self.model_price is not None

    @property
    def mark(self) -> float | None:
        """USD per share: the usable mid, else the model price."""
        return self.mid if self.mid is not None else self.model_price


@dataclass(frozen=True)
class ExpiryView:
    symbol: str
    trading_class: str
    expiry: date
    t_years: float
    forward: float | None
    discount: float
    parity_residual_usd: float | None
    reliable: bool

    @property
    def name(self) -> str:
        return series_name(self.trading_class, self.expiry)


def series_name(trading_class: str, expiry: date) -> str:
    return f"{trading_class} {expiry}"


@dataclass(frozen=True, eq=False)
class MarketView:
    """The validated market of one cycle. Look options up with ``option(contract)``
    (matched on ``Contract.key``: class, expiry, strike, right)."""

    now: datetime
    spot: float | None
    vix: float | None
    vix3m: float | None
    problems: tuple[DataProblem, ...]
    options: Mapping[str, OptionView] = field(repr=False)
    expiry_views: tuple[ExpiryView, ...] = ()
    vix_futures: Mapping[date, float] = field(default_factory=dict)
    # Held SPX/VIX option legs (``Contract.key``) and their expiries (``series_name``).
    held_keys: frozenset[str] = frozenset()
    held_series: frozenset[str] = frozenset()

    def option(self, contract: Contract) -> OptionView | None:
        return self.options.get(contract.key)

    def chain(self, trading_class_or_symbol: str, expiry: date) -> list[OptionView]:
        """The options of ``expiry`` sorted by (strike, right). A trading class wins: "SPX"
        is the AM monthly class when it lists that date; otherwise a symbol ("SPX", "VIX")
        returns every class of that symbol at the date."""
        name = trading_class_or_symbol
        views = [
            v
            for v in self.options.values()
            if v.contract.expiry == expiry and v.contract.trading_class == name
        ]
        if not views:
            views = [
                v
                for v in self.options.values()
                if v.contract.expiry == expiry and v.contract.symbol == name
            ]
        return sorted(views, key=lambda v: (v.contract.strike or 0.0, str(v.contract.right)))

    def expiries(self, symbol: str) -> list[ExpiryView]:
        """The expiries of ``symbol`` ("SPX" or "VIX", every class), by date then class."""
        return [e for e in self.expiry_views if e.symbol == symbol]

    def expiry(self, trading_class: str, expiry: date) -> ExpiryView | None:
        for e in self.expiry_views:
            if e.trading_class == trading_class and e.expiry == expiry:
                return e
        return None

    def vix_future(self, expiry: date) -> float | None:
        """The usable mid of the VIX future settling on ``expiry``."""
        return self.vix_futures.get(expiry)

    @property
    def fatal_problems(self) -> tuple[DataProblem, ...]:
        return tuple(
            p
            for p in self.problems
            if (p.instrument in (SPX_SYMBOL, VIX_SYMBOL) and p.code in _QUOTE_FATAL)
            or (p.instrument in self.held_keys and p.code is not DataProblemCode.WIDE)
            or p.instrument in self.held_series
        )

    @property
    def is_valid(self) -> bool:
        return not self.fatal_problems


# ---- quote checks ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Checked:
    bid: float | None
    ask: float | None
    value: float | None  # usable mid (index: mid or last)
    stale: bool
    problems: tuple[DataProblem, ...]


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def check_quote(
    q: Quote, instrument: str, now: datetime, params: ModelParams, index: bool = False
) -> _Checked:
    """Validate one quote (see the module docstring); ``index`` accepts a last price."""
    v = params.validation
    found: list[DataProblem] = []

    def flag(code: DataProblemCode, detail: str) -> None:
        found.append(DataProblem(code, instrument, detail))

    raw = {"bid": q.bid, "ask": q.ask, "last": q.last}
    nans = [k for k, x in raw.items() if x is not None and not math.isfinite(x)]
    if nans:
        flag(DataProblemCode.NAN, f"non-finite {', '.join(nans)}")
    bid, ask, last = _finite(q.bid), _finite(q.ask), _finite(q.last)
    age_s = (now - q.time).total_seconds()
    stale = age_s > v.max_quote_age_s
    if stale:
        flag(DataProblemCode.STALE, f"quote {age_s:.0f}s old > {v.max_quote_age_s:g}s")
    value: float | None = None
    if bid is not None and ask is not None:
        if bid > ask:
            flag(DataProblemCode.CROSSED, f"bid {bid:g} > ask {ask:g}")
        elif bid < 0:
            flag(DataProblemCode.MISSING, f"negative bid {bid:g}")
        else:
            value = 0.5 * (bid + ask)
            if not index and ask - bid > v.max_spread_frac * value:
                flag(DataProblemCode.WIDE, f"spread {ask - bid:g} > {v.max_spread_frac:g} x mid")
                value = None
    elif index and last is not None:
        value = last
    elif not nans:
        missing = [k for k, x in (("bid", bid), ("ask", ask)) if x is None]
        flag(DataProblemCode.MISSING, f"no {' or '.join(missing) or 'price'}")
    if any(p.code is not DataProblemCode.WIDE for p in found):
        value = None
    return _Checked(bid, ask, value, stale, tuple(found))


# ---- one expiry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Forward:
    forward: float | None
    discount: float
    residual_usd: float | None
    problems: tuple[DataProblem, ...]


def _parity_arrays(
    rows: Sequence[tuple[OptionQuote, _Checked]],
) -> tuple[_FloatArray, _FloatArray, _FloatArray]:
    """Strikes with a usable mid on both the call and the put, and those mids."""
    calls: dict[float, float] = {}
    puts: dict[float, float] = {}
    for oq, ck in rows:
        if ck.value is not None and oq.contract.strike is not None:
            side = calls if oq.contract.right is Right.CALL else puts
            side[oq.contract.strike] = ck.value
    both = sorted(calls.keys() & puts.keys())
    return (
        np.array(both, dtype=np.float64),
        np.array([calls[k] for k in both], dtype=np.float64),
        np.array([puts[k] for k in both], dtype=np.float64),
    )


def _no_forward(name: str, discount: float, detail: str) -> _Forward:
    return _Forward(None, discount, None, (DataProblem(DataProblemCode.NO_FORWARD, name, detail),))


def _forward(
    symbol: str,
    name: str,
    expiry: date,
    t_years: float,
    parity: tuple[_FloatArray, _FloatArray, _FloatArray],
    futures: Mapping[date, float],
    params: ModelParams,
) -> _Forward:
    """SPX: the parity forward of the 3 pairs nearest the money. VIX: the future, checked
    against the parity forward of the nearest pair (residual = D |F_parity - future|)."""
    r = params.pricing.risk_free_rate_frac
    tol = params.pricing.parity_tolerance_usd
    if t_years <= 0:
        return _no_forward(name, 1.0, "settled")
    discount = math.exp(-r * t_years)
    k, c, p = parity
    fit = implied_forward(k, c, p, t_years, r, pairs=1 if symbol == VIX_SYMBOL else 3)
    if symbol == VIX_SYMBOL:
        future = futures.get(expiry)
        if future is None:
            return _no_forward(name, discount, "no usable VIX future for this expiry")
        forward, residual = future, None
        if fit is not None:
            residual = discount * abs(fit.forward - future)
        detail = f"future {future:g} vs parity forward {fit.forward if fit else 0:.3f}"
    else:
        if fit is None:
            return _no_forward(name, discount, f"no usable call/put pair among {len(k)} strikes")
        forward, discount, residual = fit.forward, fit.discount, fit.residual_usd
        detail = f"largest residual of {fit.pairs_used} pairs"
    problems: tuple[DataProblem, ...] = ()
    if residual is not None and residual > tol:
        detail = f"parity {residual:.3f} USD > {tol:g}: {detail}"
        problems = (DataProblem(DataProblemCode.PARITY, name, detail),)
    return _Forward(forward, discount, residual, problems)


def _interpolate_iv(strikes: _FloatArray, iv: _FloatArray) -> _FloatArray:
    """Fill NaN vols by linear interpolation in strike between strikes that have one
    (calls and puts of a strike averaged); never beyond the outermost known strikes."""
    known = np.isfinite(iv)
    if known.sum() < 2:
        return iv
    grid = np.unique(strikes[known])
    per_strike = np.array([iv[known & (strikes == k)].mean() for k in grid])
    inside = ~known & (strikes >= grid[0]) & (strikes <= grid[-1])
    out = iv.copy()
    out[inside] = np.interp(strikes[inside], grid, per_strike)
    return out


@dataclass(frozen=True)
class _Vols:
    sigma: _FloatArray  # NaN where no vol
    source: list[IVSource | None]
    why: list[str]  # why the mid gave no vol


def _vols(
    rows: Sequence[tuple[OptionQuote, _Checked]],
    forward: float,
    t_years: float,
    rate: float,
    params: ModelParams,
) -> _Vols:
    """Implied vols of one expiry: from the mid, else the broker, else interpolated."""
    max_sigma = params.pricing.iv_max_sigma
    strikes = np.array([oq.contract.strike for oq, _ in rows], dtype=np.float64)
    is_call = np.array([oq.contract.right is Right.CALL for oq, _ in rows])
    mids = np.array([np.nan if ck.value is None else ck.value for _, ck in rows])
    fit = implied_vol(mids, forward, strikes, t_years, rate, is_call, max_sigma)
    reasons = np.asarray(fit.reason)
    # A vol of exactly 0 (a mid at intrinsic) has degenerate greeks: use a fallback.
    ok = (reasons == int(IVReason.OK)) & (np.nan_to_num(fit.sigma) > 0)
    iv = np.where(ok, fit.sigma, np.nan)
    source: list[IVSource | None] = [IVSource.MID if o else None for o in ok]
    why = [
        "no usable quote" if ck.value is None else f"mid: {IVReason(int(code)).name}"
        for (_, ck), code in zip(rows, reasons, strict=True)
    ]
    for i, (oq, ck) in enumerate(rows):
        broker = _finite(oq.quote.model_iv_sigma)
        usable = broker is not None and 0 < broker <= max_sigma and not ck.stale
        if not ok[i] and usable and broker is not None:
            iv[i], source[i] = broker, IVSource.BROKER
    filled = _interpolate_iv(strikes, iv)
    for j in np.flatnonzero(np.isnan(iv) & np.isfinite(filled)):
        source[int(j)] = IVSource.INTERPOLATED
    return _Vols(filled, source, why)


def _price_expiry(
    rows: Sequence[tuple[OptionQuote, _Checked]],
    fwd: _Forward,
    t_years: float,
    params: ModelParams,
) -> tuple[list[OptionView], list[DataProblem]]:
    """Vols and Black-76 greeks for one expiry, vectorised; NO_IV where no vol is found."""
    rate = -math.log(fwd.discount) / t_years if t_years > 0 else params.pricing.risk_free_rate_frac
    if fwd.forward is None:
        vols = _Vols(np.full(len(rows), np.nan), [None] * len(rows), [""] * len(rows))
        greeks = None
    else:
        vols = _vols(rows, fwd.forward, t_years, rate, params)
        strikes = np.array([oq.contract.strike for oq, _ in rows], dtype=np.float64)
        is_call = np.array([oq.contract.right is Right.CALL for oq, _ in rows])
        # Elements without a vol come out NaN and are dropped below.
        greeks = black76(fwd.forward, strikes, t_years, rate, vols.sigma, is_call)
    views: list[OptionView] = []
    problems: list[DataProblem] = []
    for i, (oq, ck) in enumerate(rows):
        priced = greeks is not None and bool(np.isfinite(vols.sigma[i]))
        if fwd.forward is not None and not priced:
            problems.append(DataProblem(DataProblemCode.NO_IV, oq.contract.key, vols.why[i]))
        g = [float(a[i]) for a in greeks] if priced and greeks is not None else [None] * 5
        views.append(
            OptionView(
                contract=oq.contract,
                bid=ck.bid,
                ask=ck.ask,
                mid=ck.value,
                iv_sigma=float(vols.sigma[i]) if priced else None,
                iv_source=vols.source[i],
                underlying_price=fwd.forward,
                t_years=t_years,
                discount=fwd.discount,
                rate_frac=rate,
                model_price=g[0],
                delta=g[1],
                gamma=g[2],
                vega=g[3],
                theta=g[4],
            )
        )
    return views, problems


# ---- the whole snapshot ------------------------------------------------------------------------
def _index(
    q: Quote | None, name: str, now: datetime, params: ModelParams
) -> tuple[float | None, tuple[DataProblem, ...]]:
    if q is None:
        return None, (DataProblem(DataProblemCode.MISSING, name, "no quote"),)
    ck = check_quote(q, name, now, params, index=True)
    return ck.value, ck.problems


def _is_model_option(c: Contract) -> bool:
    return (
        c.is_option
        and c.symbol in (SPX_SYMBOL, VIX_SYMBOL)
        and c.expiry is not None
        and c.strike is not None
        and c.right is not None
    )


def _build_expiry(
    symbol: str,
    trading_class: str,
    expiry: date,
    rows: Sequence[tuple[OptionQuote, _Checked]],
    futures: Mapping[date, float],
    now: datetime,
    params: ModelParams,
) -> tuple[ExpiryView | None, list[OptionView], list[DataProblem]]:
    name = series_name(trading_class, expiry)
    try:
        t_years = time_to_expiry_years(rows[0][0].contract, now)
    except ValueError as err:  # a trading class without a settlement rule
        return None, [], [DataProblem(DataProblemCode.NO_FORWARD, name, str(err))]
    fwd = _forward(symbol, name, expiry, t_years, _parity_arrays(rows), futures, params)
    views, problems = _price_expiry(rows, fwd, t_years, params)
    ev = ExpiryView(
        symbol=symbol,
        trading_class=trading_class,
        expiry=expiry,
        t_years=t_years,
        forward=fwd.forward,
        discount=fwd.discount,
        parity_residual_usd=fwd.residual_usd,
        reliable=fwd.forward is not None and not fwd.problems,
    )
    return ev, views, [*fwd.problems, *problems]


def build_market_view(snapshot: MarketSnapshot, params: ModelParams) -> MarketView:
    """Validate ``snapshot`` and price every SPX/SPXW/VIX option in it (module docstring)."""
    now = snapshot.now
    problems: list[DataProblem] = []
    spot, found = _index(snapshot.spx, SPX_SYMBOL, now, params)
    problems += found
    vix, found = _index(snapshot.vix, VIX_SYMBOL, now, params)
    problems += found
    vix3m, found = _index(snapshot.vix3m, "VIX3M", now, params)
    problems += found

    futures: dict[date, float] = {}
    for expiry, q in sorted(snapshot.vix_futures.items()):
        ck = check_quote(q, f"VIX FUT {expiry}", now, params)
        problems += ck.problems
        if ck.value is not None:
            futures[expiry] = ck.value

    groups: dict[tuple[str, str, date], list[tuple[OptionQuote, _Checked]]] = defaultdict(list)
    for oq in snapshot.options:
        c = oq.contract
        if not _is_model_option(c) or c.expiry is None:
            continue
        ck = check_quote(oq.quote, c.key, now, params)
        problems += ck.problems
        groups[(c.symbol, c.trading_class, c.expiry)].append((oq, ck))

    options: dict[str, OptionView] = {}
    expiry_views: list[ExpiryView] = []
    for (symbol, trading_class, expiry), rows in sorted(groups.items()):
        built = _build_expiry(symbol, trading_class, expiry, rows, futures, now, params)
        problems += built[2]
        if built[0] is not None:
            expiry_views.append(built[0])
        options.update((v.contract.key, v) for v in built[1])

    held_legs = [
        p.contract for p in snapshot.positions if p.quantity and _is_model_option(p.contract)
    ]
    held = frozenset(c.key for c in held_legs)
    for key in sorted(held - options.keys()):
        problems.append(DataProblem(DataProblemCode.MISSING, key, "held leg has no quote"))

    expiry_views.sort(key=lambda e: (e.expiry, e.trading_class))
    return MarketView(
        now=now,
        spot=spot,
        vix=vix,
        vix3m=vix3m,
        problems=tuple(problems),
        options=MappingProxyType(options),
        expiry_views=tuple(expiry_views),
        vix_futures=MappingProxyType(futures),
        held_keys=held,
        held_series=frozenset(
            series_name(c.trading_class, c.expiry) for c in held_legs if c.expiry
        ),
    )
