"""The stress set: a few instantaneous market moves, every leg fully repriced.

``ScenarioParams.shocks`` lists the moves: the hedge scenario (down with a vol spike)
first, then ``other_shocks``. Each is instantaneous (T unchanged),
each priced by full Black-76 repricing; with a move's ``spx_move_frac``,
``vix_spot_shock_pts`` and ``vix_option_vol_shock_pts``:
- SPX legs: F' = F (1 + spx_move_frac); sigma' = sigma + beta(dte) x vix_spot_shock_pts
  / 100, beta = clip((``vol_beta_ref_dte_days`` / dte) ** ``vol_beta_exponent``,
  ``vol_beta_min``, ``vol_beta_max``), dte floored at 1 day;
- VIX legs: future' = future + b(dte) x vix_spot_shock_pts, b read off
  ``vix_future_beta_by_dte`` at the future's calendar DTE (linear between breakpoints,
  flat beyond); sigma' = sigma + vix_option_vol_shock_pts / 100.
P&L = value' - value with both values at the model (current IV), so a zero shock gives
exactly 0. Shocked vols and VIX futures are floored at small positive values.

Legs carry absolute signed contract counts (``Structure.position_legs``), or a
candidate's per-unit ratios for per-unit values; money in USD, multiplier applied.
Defaults and their fit: docs/model.md section 2, docs/validation.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np

from daemon.core.black76_parts import black76_price
from daemon.core.calendar import dte_days
from daemon.core.market import SPX_SYMBOL, VIX_SYMBOL, MarketView, OptionView
from daemon.core.models import Contract, Right
from daemon.core.params import ScenarioParams, ShockParams
from daemon.core.structures import Leg

_MIN_SIGMA = 0.01  # a shocked vol never goes below 1 vol point
_MIN_VIX_FUTURE = 0.01
# A module constant: ``Right.CALL`` is a class attribute look-up (~0.15 µs) per leg.
_CALL = Right.CALL


def leg_views(legs: Sequence[Leg], view: MarketView) -> list[OptionView] | str:
    """The priced view of every leg, or the reason the first one is not priced."""
    found: list[OptionView] = []
    for leg in legs:
        ov = view.option(leg.contract)
        if ov is None:
            return f"no quote for {leg.contract.key}"
        if ov.model_price is None or ov.iv_sigma is None or ov.underlying_price is None:
            return f"{leg.contract.key} not priced (no forward or no implied vol)"
        if leg.contract.symbol not in (SPX_SYMBOL, VIX_SYMBOL):
            return f"{leg.contract.key}: no pricing rule for {leg.contract.symbol}"
        found.append(ov)
    return found


def vol_beta(dte: float, scenario: ScenarioParams) -> float:
    """How many vol points a leg's IV moves per point of VIX shock, by its DTE (floored at 1)."""
    ratio = scenario.vol_beta_ref_dte_days / max(1.0, dte)
    # ``np.clip`` is ``minimum(maximum(x, lo), hi)``: the same in Python on floats (no NaN
    # here: the power of a positive ratio), whatever the order of the bounds.
    beta = float(ratio**scenario.vol_beta_exponent)
    return min(max(beta, scenario.vol_beta_min), scenario.vol_beta_max)


def vix_future_beta(dte: float, scenario: ScenarioParams) -> float:
    """How many points a VIX future moves per point of spot VIX shock, by its calendar DTE:
    the fitted table, linear between breakpoints and flat beyond its ends."""
    table = scenario.vix_future_beta_by_dte
    return float(np.interp(dte, [p[0] for p in table], [p[1] for p in table]))


def scenario_pnl(
    legs: Sequence[Leg],
    view: MarketView,
    scenario: ScenarioParams,
    shock: ShockParams | None = None,
) -> float | None:
    """P&L, USD, of ``legs`` (absolute signed contracts) in one move of the stress set
    (``shock``; the hedge scenario when None), by full Black-76 repricing (module
    docstring). ``None`` if any leg cannot be priced. Works for any leg whose option is in
    the view, held or not. Not capped: ``book_risk`` bounds each defined-risk structure by
    its remaining max loss."""
    return scenario_pnls([(legs, shock)], view, scenario)[0]


def scenario_pnls(
    jobs: Sequence[tuple[Sequence[Leg], ShockParams | None]],
    view: MarketView,
    scenario: ScenarioParams,
) -> list[float | None]:
    """``scenario_pnl`` of each (legs, shock) of ``jobs``, in order, every leg of every job
    repriced in one Black-76 call: the kernel works element by element, so each P&L is
    bit for bit the one of pricing its job alone, and the kernel's fixed cost per call
    (most of the time for a few legs) is paid once (a cycle prices a dozen of these)."""
    return priced_pnls(
        [(legs, leg_views(legs, view), shock) for legs, shock in jobs], view, scenario
    )


def priced_pnls(
    jobs: Sequence[tuple[Sequence[Leg], list[OptionView] | str, ShockParams | None]],
    view: MarketView,
    scenario: ScenarioParams,
) -> list[float | None]:
    """``scenario_pnls`` of jobs whose legs were already looked up (``leg_views``: the
    views, or why a leg is not priced), for a caller that has them."""
    base: list[tuple[float, float, float, float, float]] = []  # F, K, T, r, sigma per leg
    shocked: list[tuple[float, float, float, float, float]] = []  # the same after its move
    calls: list[bool] = []
    betas: dict[tuple[str, date], float] = {}  # this call's legs share a few expiries
    hedge: ShockParams | None = None  # built once: ``hedge_shock`` validates a new model
    for _, views, shock in jobs:
        if not isinstance(views, str):
            move = shock
            if move is None:
                hedge = scenario.hedge_shock if hedge is None else hedge
                move = hedge
            for ov in views:
                row, f_shock, sigma_shock = _shocked_row(ov, view, scenario, move, betas)
                base.append(row)
                shocked.append((f_shock, row[1], row[2], row[3], sigma_shock))
                calls.append(ov.contract.right is _CALL)
    change: list[float] = []
    if base:
        # One call on both states, element by element: identical inputs give bit-identical
        # prices, so a move of zero is a P&L of exactly zero. Each input one contiguous
        # float64 row (``zip`` transposes in C), the values ``np.array`` of each would hold.
        f, k, t, r, sigma = np.array(list(zip(*base, *shocked, strict=True)), dtype=np.float64)
        prices = black76_price(f, k, t, r, sigma, np.array(calls + calls, dtype=np.bool_))
        n = len(base)
        change = (prices[n:] - prices[:n]).tolist()
    out: list[float | None] = []
    start = 0
    for legs, views, _ in jobs:
        if isinstance(views, str):
            out.append(None)
            continue
        if not views:
            out.append(0.0)
            continue
        stop = start + len(views)
        # Each term the float64 product numpy would form; fsum is exact in any order.
        sizes = [float(leg.quantity * leg.contract.multiplier) for leg in legs]
        out.append(math.fsum(q * x for q, x in zip(sizes, change[start:stop], strict=True)))
        start = stop
    return out


def _shocked_row(
    ov: OptionView,
    view: MarketView,
    scenario: ScenarioParams,
    move: ShockParams,
    betas: dict[tuple[str, date], float],
) -> tuple[tuple[float, float, float, float, float], float, float]:
    """One priced leg's Black-76 inputs (F, K, T, r, sigma), then its forward and vol
    after ``move``. ``betas``: the (symbol, expiry) -> beta (``vol_beta`` for SPX,
    ``vix_future_beta`` for VIX, at the expiry's DTE) already worked out this call: the
    same function of the same arguments, and a pair's legs share their expiries."""
    c = ov.contract
    assert c.expiry is not None and c.strike is not None
    assert ov.underlying_price is not None and ov.iv_sigma is not None
    f, sigma = ov.underlying_price, ov.iv_sigma
    spx = c.symbol == SPX_SYMBOL
    beta = betas.get((c.symbol, c.expiry))
    if beta is None:
        dte = dte_days(c.expiry, view.now)
        beta = vol_beta(dte, scenario) if spx else vix_future_beta(dte, scenario)
        betas[c.symbol, c.expiry] = beta
    if spx:
        f_shock = f * (1.0 + move.spx_move_frac)
        sigma_shock = max(_MIN_SIGMA, sigma + beta * move.vix_spot_shock_pts / 100)
    else:
        future = f + beta * move.vix_spot_shock_pts
        f_shock = max(_MIN_VIX_FUTURE, future)
        sigma_shock = max(_MIN_SIGMA, sigma + move.vix_option_vol_shock_pts / 100)
    return (f, c.strike, ov.t_years, ov.rate_frac, sigma), f_shock, sigma_shock


def scenario_pnl_for(
    contract_legs: Iterable[tuple[Contract, int]], view: MarketView, scenario: ScenarioParams
) -> float | None:
    """``scenario_pnl`` for (contract, signed quantity) pairs, e.g. a hedge candidate's
    per-unit legs (+1 long, -1 short): its per-unit stress payoff in USD."""
    return scenario_pnl([Leg(c, q) for c, q in contract_legs], view, scenario)
