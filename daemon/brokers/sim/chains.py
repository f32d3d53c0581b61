"""Option and futures listings, the implied-vol surface, model prices and two-sided quotes.

Listings (a simplified Cboe calendar, from ``daemon.core.calendar``):
- SPX (monthly, AM-settled): the standard third-Friday expiry of the next
  ``spx_monthly_count`` months.
- SPXW (PM-settled): every session for the next ``spxw_daily_sessions`` sessions, plus
  every Friday (the session before it on a holiday) up to ``spxw_weekly_max_days`` ahead.
- VIX options and futures: the next ``vix_expiry_count`` monthly VIX expiries.
An expiry is listed until its settlement instant. Strikes: SPX/SPXW on a
``spx_strike_step_pts`` grid within spot x (1 -/+ ``spx_strike_band_frac``); VIX on a fixed
``vix_strike_step_pts`` grid from ``vix_strike_min_pts`` to ``vix_strike_max_pts`` (a real
chain has half points under 20 and wider steps far out; one grid keeps it simple). Any
positive strike on the grid of a listed expiry is a known contract (an order far from the
money is legal even when the listing band does not show it).

Prices: Black-76 (``daemon.core.pricing.black76``), discounted at ``rate_frac``.
- SPX/SPXW on F = S exp((r - q) T) with T to the contract's own settlement (AM or PM).
  ATM vol = ``spx_atm_ratio`` x RMS of the VIX curve over [0, max(T, min_tenor)] / 100;
  with m = ln(K/F) / (atm sqrt T) clipped to +-``moneyness_clip``,
  sigma = atm (1 + slope m + curvature m^2): a put skew (slope < 0) with some smile.
- VIX options on the VIX future of the same expiry (the curve at T), never spot:
  atm = ``vix_atm_sigma`` (ref/T_days)^term_exponent (VIX/theta)^level_exponent and
  sigma = atm (1 + ``vix_call_skew_slope`` m): calls richer than puts.
Quotes: spread = clip(frac x price, ``min_spread_ticks`` ticks, max); the bid is rounded
down and the ask up, each on the tick of its own price (Cboe: 0.05 under 3.00, 0.10 at or
above for SPX). Futures: the bid is the tick at or below the fair value, the ask
``future_spread_ticks`` above it. Indices carry a last price only, as IB sends them.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.market import MarketState, vix_curve_pts, vix_curve_rms_pts
from daemon.brokers.sim.params import SimParams
from daemon.core.calendar import (
    NY,
    is_session,
    next_session,
    previous_session,
    settlement_time,
    spx_monthly_expiry,
    time_to_expiry_years,
    vix_expiry,
)
from daemon.core.models import Contract, Right, SecType
from daemon.core.pricing import black76
from daemon.core.ticks import RoundMode, round_to_tick, rule_tick

SPX, SPXW, VIX = "SPX", "SPXW", "VIX"
VIX_FUTURE_CLASS = "VX"
VIX_FUTURE_MULTIPLIER = 1000
_FloatArray = npt.NDArray[np.float64]
_RESOLVED_MAX = 200_000  # contracts remembered by ``Chains.resolve`` before it starts over
_STRIKE_LISTINGS_MAX = 64  # strike listings remembered (one per class and spot level)
_FUTURE_SIDES_MAX = 256  # futures' bid/ask remembered by fair value (a few a market step)


@dataclass(frozen=True)
class Theo:
    """Model values of a list of options: price (USD per share), delta, sigma, forward."""

    price: _FloatArray
    delta: _FloatArray
    sigma: _FloatArray
    forward: _FloatArray


def _months_from(day: date, count: int) -> list[tuple[int, int]]:
    months, (year, month) = [], (day.year, day.month)
    for _ in range(count):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@functools.lru_cache(maxsize=4096)
def _monthly_expiry(trading_class: str, year: int, month: int) -> date:
    """A month's standard SPX or VIX expiry: fixed by the calendar, so worked out once
    (a replay lists them again every session, a dozen months each)."""
    return vix_expiry(year, month) if trading_class == VIX else spx_monthly_expiry(year, month)


def option_contract(
    trading_class: str, expiry: date, strike: float, right: Right, con_id: int | None = None
) -> Contract:
    symbol = VIX if trading_class == VIX else SPX
    return Contract(symbol, SecType.OPTION, trading_class, expiry, strike, right, con_id=con_id)


def vix_future(expiry: date) -> Contract:
    return Contract(VIX, SecType.FUTURE, VIX_FUTURE_CLASS, expiry, multiplier=VIX_FUTURE_MULTIPLIER)


def _con_id(contract: Contract) -> int:
    """A stable id from the contract's identity (IB's conIds are opaque integers too)."""
    return zlib.crc32(contract.key.encode()) & 0x7FFFFFFF


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-9


class _Listings(dict[str, frozenset[date]]):
    """Each class's listed expiries at one time, fetched from ``Chains`` when first read
    (a missing key, ``__missing__``): ``resolve_all`` reads them inside its comprehension,
    so only the classes its hits name are listed, as a first pass over them would."""

    def __init__(self, chains: Chains, now: datetime) -> None:
        super().__init__()
        self._chains, self._now = chains, now

    def __missing__(self, trading_class: str) -> frozenset[date]:
        listed = self._chains._listed_set(trading_class, self._now)
        self[trading_class] = listed
        return listed


class Chains:
    """What is listed, what it is worth and how it is quoted, for a given market state."""

    def __init__(self, params: SimParams) -> None:
        self._p = params
        self._expiry_cache: dict[tuple[str, date], list[date]] = {}
        self._settle_times: dict[tuple[str, date], datetime] = {}
        # The last answer per class: a quote request resolves many contracts at one time.
        self._listed: dict[str, tuple[datetime, list[date]]] = {}
        self._listed_sets: dict[str, tuple[datetime, frozenset[date]]] = {}
        # Contracts resolved before (a cycle asks for the same ones again and again), keyed
        # by the fields ``_resolve`` reads (hashing a plain tuple is much cheaper than
        # hashing and comparing the 9-field frozen ``Contract``); with each, the class whose
        # listing it needs. An entry is used only while its expiry is listed.
        self._resolved: dict[tuple[object, ...], tuple[Contract, str]] = {}
        # The same answers by the asked object's id, checked by identity (the snapshot
        # hands out the same ``Contract`` objects cycle after cycle): no key to build or
        # hash (an enum's hash is a Python call). The entry holds the object, so its id
        # is not reused while the entry lives.
        self._by_id: dict[int, tuple[Contract, Contract, str]] = {}
        # The last strike listing per class and band: every SPX expiry of a step has the same.
        self._strikes: dict[tuple[str, float, float], list[float]] = {}
        self._future_sides: dict[float, tuple[float, float]] = {}

    # ---- listings --------------------------------------------------------------------------
    def expiries(self, trading_class: str, now: datetime) -> list[date]:
        """Listed expiries of SPX, SPXW or VIX (options; VIX futures share VIX's) at ``now``."""
        last = self._listed.get(trading_class)
        if last is not None and last[0] == now:
            return list(last[1])
        listed = self._listed_at(trading_class, now)
        self._listed[trading_class] = (now, listed)
        return list(listed)

    def _listed_at(self, trading_class: str, now: datetime) -> list[date]:
        today = now.astimezone(NY).date()
        key = (trading_class, today)
        if key not in self._expiry_cache:
            self._expiry_cache[key] = self._candidate_expiries(trading_class, today)
        listed = [e for e in self._expiry_cache[key] if self.settles(trading_class, e) > now]
        # One extra candidate covers the expiry that settles this morning.
        c = self._p.chains
        if trading_class == SPX:
            return listed[: c.spx_monthly_count]
        return listed[: c.vix_expiry_count] if trading_class == VIX else listed

    def settles(self, trading_class: str, expiry: date) -> datetime:
        """When an expiry of a class settles (kept: asked at every new ``now``, and by the
        historical source's grids for their tenors)."""
        key = (trading_class, expiry)
        when = self._settle_times.get(key)
        if when is None:
            when = settlement_time(option_contract(trading_class, expiry, 1.0, Right.CALL))
            self._settle_times[key] = when
        return when

    def _candidate_expiries(self, trading_class: str, today: date) -> list[date]:
        c = self._p.chains
        if trading_class == SPX:
            months = _months_from(today, c.spx_monthly_count + 1)
            found = [_monthly_expiry(SPX, y, m) for y, m in months]
            return [d for d in found if d >= today][: c.spx_monthly_count + 1]
        if trading_class == SPXW:
            days: set[date] = set()
            day = today if is_session(today) else next_session(today)
            for _ in range(c.spxw_daily_sessions):
                days.add(day)
                day = next_session(day)
            friday = today + timedelta(days=(4 - today.weekday()) % 7)
            while friday <= today + timedelta(days=c.spxw_weekly_max_days):
                days.add(friday if is_session(friday) else previous_session(friday))
                friday += timedelta(days=7)
            return sorted(d for d in days if d >= today)
        if trading_class == VIX:
            # ``vix_expiries(today, end)``: a month's expiry falls inside its month, so the
            # months from today's to end's hold every one in [today, end].
            end = today + timedelta(days=31 * (c.vix_expiry_count + 2))
            months = _months_from(today, 12 * (end.year - today.year) + end.month - today.month + 1)
            found = [_monthly_expiry(VIX, y, m) for y, m in months]
            return [d for d in found if today <= d <= end][: c.vix_expiry_count + 1]
        return []

    def strike_step(self, trading_class: str) -> float:
        c = self._p.chains
        return c.vix_strike_step_pts if trading_class == VIX else c.spx_strike_step_pts

    def strikes(self, trading_class: str, expiry: date, spx_pts: float) -> list[float]:
        """Listed strikes of an expiry (the SPX band follows spot), ascending."""
        c = self._p.chains
        if trading_class == VIX:
            lo, hi = c.vix_strike_min_pts, c.vix_strike_max_pts
        elif trading_class in (SPX, SPXW):
            lo = spx_pts * (1.0 - c.spx_strike_band_frac)
            hi = spx_pts * (1.0 + c.spx_strike_band_frac)
        else:
            return []
        key = (trading_class, lo, hi)
        listing = self._strikes.get(key)
        if listing is None:
            step = self.strike_step(trading_class)
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            grid = np.arange(max(first, 1), last + 1, dtype=np.float64) * step
            listing = np.round(grid, 6).tolist()  # the same Python floats, without a loop
            if len(self._strikes) >= _STRIKE_LISTINGS_MAX:
                self._strikes = {}
            self._strikes[key] = listing
        return list(listing)  # a copy: the caller owns its list

    def _listed_set(self, trading_class: str, now: datetime) -> frozenset[date]:
        last = self._listed_sets.get(trading_class)
        if last is None or last[0] != now:
            last = (now, frozenset(self.expiries(trading_class, now)))
            self._listed_sets[trading_class] = last
        return last[1]

    def _is_listed(self, trading_class: str, expiry: date | None, now: datetime) -> bool:
        return expiry in self._listed_set(trading_class, now)

    def resolve_all(self, contracts: Sequence[Contract], now: datetime) -> list[Contract | None]:
        """``resolve`` of each contract: the same answers, with the cache hits (nearly all
        of a cycle's) checked in one comprehension against each class's listing, fetched
        once, on its first hit (``_Listings``)."""
        get, listed = self._by_id.get, _Listings(self, now)
        return [
            (hit[1] if hit[1].expiry in listed[hit[2]] else None)
            if (hit := get(id(c))) is not None and hit[0] is c
            else self.resolve(c, now)
            for c in contracts
        ]

    def resolve(self, contract: Contract, now: datetime) -> Contract | None:
        """The sim's own contract for ``contract`` (con_id filled), or None when unknown."""
        c = contract
        key = (c.sec_type, c.symbol, c.trading_class, c.expiry, c.strike, c.right)
        hit = self._resolved.get(key)
        if hit is None:
            found = self._resolve(contract, now)
            if found is None:
                return None
            listing = VIX if found.sec_type is SecType.FUTURE else found.trading_class
            hit = (found, listing)
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved, self._by_id = {}, {}
            self._resolved[key] = hit
            self._by_id[id(c)] = (c, *hit)
            return found  # ``_resolve`` checked the listing
        known, listing = hit
        if len(self._by_id) >= _RESOLVED_MAX:
            self._by_id = {}
        self._by_id[id(c)] = (c, known, listing)
        return known if self._is_listed(listing, known.expiry, now) else None

    def _resolve(self, contract: Contract, now: datetime) -> Contract | None:
        if contract.sec_type is SecType.FUTURE:
            expiry = contract.expiry
            if contract.symbol != VIX or not self._is_listed(VIX, expiry, now):
                return None
            assert expiry is not None  # listed
            bare = vix_future(expiry)
            return replace(bare, con_id=_con_id(bare))
        if contract.sec_type is not SecType.OPTION or contract.right is None:
            return None
        tc, expiry, strike = contract.trading_class, contract.expiry, contract.strike
        if tc not in (SPX, SPXW, VIX) or contract.symbol != (VIX if tc == VIX else SPX):
            return None
        if expiry is None or strike is None or strike <= 0:
            return None
        step = self.strike_step(tc)
        if not _on_grid(strike, step) or not self._is_listed(tc, expiry, now):
            return None
        strike = round(round(strike / step) * step, 6)
        # Built once, with its id, rather than copied with dataclasses.replace (slower);
        # the id hashes the key ``Contract.key`` gives, formatted here without a Contract.
        right = contract.right
        con_id = zlib.crc32(f"{tc} {expiry} {strike:g} {right}".encode()) & 0x7FFFFFFF
        return option_contract(tc, expiry, strike, right, con_id)

    # ---- model values ----------------------------------------------------------------------
    def spx_forward(self, contract: Contract, state: MarketState, now: datetime) -> float:
        """The forward of an SPX/SPXW option's expiry: S exp((r - q) T)."""
        m = self._p.market
        t_years = time_to_expiry_years(contract, now)
        return state.spx_pts * math.exp((m.rate_frac - m.dividend_yield_frac) * t_years)

    def vix_future_pts(self, expiry: date, state: MarketState, now: datetime) -> float:
        """Fair value of the VIX future settling on ``expiry`` (the curve at its tenor)."""
        t_years = time_to_expiry_years(vix_future(expiry), now)
        return float(vix_curve_pts(state, [t_years], self._p.market)[0])

    def _spx_sigma(self, state: MarketState, fwd: float, strike: float, t_years: float) -> float:
        s, m = self._p.surface, self._p.market
        tenor = max(t_years, s.min_tenor_days / 365.0)
        atm = s.spx_atm_ratio * vix_curve_rms_pts(state, tenor, m) / 100.0
        x = math.log(strike / fwd) / (atm * math.sqrt(tenor))
        x = min(s.moneyness_clip, max(-s.moneyness_clip, x))
        sigma = atm * (1.0 + s.spx_skew_slope * x + s.spx_skew_curvature * x * x)
        return min(s.sigma_cap, max(s.sigma_floor, sigma))

    def _vix_sigma(self, state: MarketState, fwd: float, strike: float, t_years: float) -> float:
        s, m = self._p.surface, self._p.market
        t_days = max(t_years * 365.0, s.min_tenor_days)
        atm = s.vix_atm_sigma * float((s.vix_ref_tenor_days / t_days) ** s.vix_term_exponent)
        atm *= float((state.vix_pts / m.vix_long_run_pts) ** s.vix_level_exponent)
        atm = min(s.sigma_cap, max(s.sigma_floor, atm))
        x = math.log(strike / fwd) / (atm * math.sqrt(t_days / 365.0))
        x = min(s.moneyness_clip, max(-s.moneyness_clip, x))
        return min(s.sigma_cap, max(s.sigma_floor, atm * (1.0 + s.vix_call_skew_slope * x)))

    def theo(self, contracts: Sequence[Contract], state: MarketState, now: datetime) -> Theo:
        """Model price, delta and vol of each option (the intrinsic value once settled)."""
        n = len(contracts)
        fwd, strike, t_years, sigma = (np.zeros(n) for _ in range(4))
        is_call = np.zeros(n, dtype=bool)
        for i, c in enumerate(contracts):
            assert c.expiry is not None and c.strike is not None and c.right is not None
            t_years[i] = time_to_expiry_years(c, now)
            strike[i] = c.strike
            is_call[i] = c.right is Right.CALL
            if c.trading_class == VIX:
                fwd[i] = self.vix_future_pts(c.expiry, state, now)
                sigma[i] = self._vix_sigma(state, fwd[i], c.strike, t_years[i])
            else:
                fwd[i] = self.spx_forward(c, state, now)
                sigma[i] = self._spx_sigma(state, fwd[i], c.strike, t_years[i])
        g = black76(fwd, strike, t_years, self._p.market.rate_frac, sigma, is_call)
        price, delta = np.asarray(g.price, dtype=np.float64), np.asarray(g.delta, dtype=np.float64)
        return Theo(price=price, delta=delta, sigma=sigma, forward=fwd)

    # ---- quotes ----------------------------------------------------------------------------
    def option_bid_ask(self, contract: Contract, theo_usd: float) -> tuple[float, float]:
        """Bid and ask (USD per share) around a model price, on the contract's ticks."""
        q = self._p.quotes
        if contract.symbol == VIX:
            rule, frac, widest = q.vix_ticks, q.vix_spread_frac, q.vix_max_spread_usd
        else:
            rule, frac, widest = q.spx_ticks, q.spx_spread_frac, q.spx_max_spread_usd
        tick = rule_tick(theo_usd, rule)
        spread = max(q.min_spread_ticks * tick, min(frac * theo_usd, widest))
        low, high = theo_usd - spread / 2.0, theo_usd + spread / 2.0
        bid = max(0.0, round_to_tick(low, rule_tick(low, rule), RoundMode.DOWN))
        ask = round_to_tick(high, rule.below_usd, RoundMode.UP)
        if ask >= rule.threshold_usd:
            ask = round_to_tick(high, rule.at_or_above_usd, RoundMode.UP)
        return bid, max(ask, rule.below_usd)

    def future_bid_ask(self, fair_pts: float) -> tuple[float, float]:
        """The future's bid (the tick at or below ``fair_pts``) and ask. Kept by fair value:
        each cycle quotes the same few futures at the same values several times, and the
        exact decimal rounding is two ``Decimal`` round trips."""
        known = self._future_sides.get(fair_pts)
        if known is not None:
            return known
        q = self._p.quotes
        bid = round_to_tick(fair_pts, q.vix_future_tick_usd, RoundMode.DOWN)
        ask = round_to_tick(
            bid + q.future_spread_ticks * q.vix_future_tick_usd, q.vix_future_tick_usd
        )
        if len(self._future_sides) >= _FUTURE_SIDES_MAX:
            self._future_sides = {}
        self._future_sides[fair_pts] = (bid, ask)
        return bid, ask

    def combo_tick(self, symbol: str) -> float:
        q = self._p.quotes
        return (q.vix_ticks if symbol == VIX else q.spx_ticks).combo_usd
