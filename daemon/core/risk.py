"""Layer 1: the book's risk and the stress scenario (alvh-model.md section 2).

``book_risk(book, view, params)`` gives each recognised structure its credit, max loss,
break-evens, DTE, mark, dollar greeks, short-strike distance in sigmas and stress P&L,
and the book its totals and tail loss. ``scenario_pnl`` / ``scenario_pnl_for`` reprice any
legs, held or hypothetical, in the stress scenario; the overlay uses them for hedge payoffs.

Conventions
-----------
- Money in USD per position: multiplier (``Contract.multiplier``, 100) and quantity applied.
- Legs passed to pricing functions carry **absolute signed contract counts**
  (``Structure.position_legs``); pass a candidate's per-unit ratios to get per-unit values.
- ``credit_usd``: cash received when the structure was opened, from IB's ``avgCost``
  (per contract, multiplier included, positive for longs and shorts alike): credit =
  sum over legs of -quantity x |avg_cost|. Positive for a net credit (condors), negative
  for a net debit (hedges).
- ``mark_usd``: the signed value of the legs now (a short condor's mark is negative);
  open P&L = mark + credit.
- Dollar greeks per point of the structure's underlying index: for SPX legs
  ``delta_usd_per_pt = delta_F x dF/dS x multiplier x quantity`` with dF/dS = F/S (the
  forward is spot carried at a fixed rate and yield, F = S e^{(r-q)T}), gamma likewise
  with (dF/dS)^2; for VIX legs the underlying is the VIX future itself (dF/dS = 1).
  Vega per vol point, theta per calendar day.

The stress scenario is an instantaneous shock (T unchanged), by full Black-76 repricing:
- SPX legs: F' = F (1 + ``spx_move_frac``); sigma' = sigma + beta(dte) x
  ``vix_spot_shock_pts`` / 100, beta = clip((``vol_beta_ref_dte_days`` / dte) **
  ``vol_beta_exponent``, ``vol_beta_min``, ``vol_beta_max``), dte floored at 1 day;
- VIX legs: future' = future + ``vix_future_beta`` x ``vix_spot_shock_pts``;
  sigma' = sigma + ``vix_option_vol_shock_pts`` / 100.
P&L = value' - value with both values at the model (current IV), so a zero shock gives
exactly 0. Shocked vols and VIX futures are floored at small positive values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from daemon.core.calendar import dte_days
from daemon.core.market import SPX_SYMBOL, VIX_SYMBOL, MarketView, OptionView
from daemon.core.models import Contract, Position, Right
from daemon.core.params import ModelParams, ScenarioParams
from daemon.core.pricing import black76
from daemon.core.structures import Book, Leg, Structure, StructureKind

_MIN_SIGMA = 0.01  # a shocked vol never goes below 1 vol point
_MIN_VIX_FUTURE = 0.01
_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DollarGreeks:
    delta_usd_per_pt: float = 0.0
    gamma_usd_per_pt2: float = 0.0
    vega_usd_per_vol_pt: float = 0.0
    theta_usd_per_day: float = 0.0

    def __add__(self, other: DollarGreeks) -> DollarGreeks:
        return DollarGreeks(
            self.delta_usd_per_pt + other.delta_usd_per_pt,
            self.gamma_usd_per_pt2 + other.gamma_usd_per_pt2,
            self.vega_usd_per_vol_pt + other.vega_usd_per_vol_pt,
            self.theta_usd_per_day + other.theta_usd_per_day,
        )


# ---- leg pricing -------------------------------------------------------------------------
def _views(legs: Sequence[Leg], view: MarketView) -> list[OptionView] | str:
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


def _d_forward_d_spot(ov: OptionView, view: MarketView) -> float | None:
    if ov.contract.symbol == VIX_SYMBOL:
        return 1.0
    if view.spot is None or view.spot <= 0 or ov.underlying_price is None:
        return None
    return ov.underlying_price / view.spot


def mark_usd(legs: Sequence[Leg], view: MarketView) -> float | None:
    """Signed value of ``legs`` now, USD: usable mids, else model prices."""
    views = _views(legs, view)
    if isinstance(views, str):
        return None
    return math.fsum(
        leg.quantity * leg.contract.multiplier * (ov.mark or 0.0)
        for leg, ov in zip(legs, views, strict=True)
    )


def dollar_greeks(legs: Sequence[Leg], view: MarketView) -> DollarGreeks | None:
    """Dollar greeks of ``legs`` (module docstring); None if a leg is not priced."""
    views = _views(legs, view)
    if isinstance(views, str):
        return None
    total = DollarGreeks()
    for leg, ov in zip(legs, views, strict=True):
        dfds = _d_forward_d_spot(ov, view)
        if dfds is None:
            return None
        size = leg.quantity * leg.contract.multiplier
        total += DollarGreeks(
            delta_usd_per_pt=(ov.delta or 0.0) * dfds * size,
            gamma_usd_per_pt2=(ov.gamma or 0.0) * dfds * dfds * size,
            vega_usd_per_vol_pt=(ov.vega or 0.0) * size,
            theta_usd_per_day=(ov.theta or 0.0) * size,
        )
    return total


def vol_beta(dte: float, scenario: ScenarioParams) -> float:
    """How many vol points a leg's IV moves per point of VIX shock, by its DTE (floored at 1)."""
    ratio = scenario.vol_beta_ref_dte_days / max(1.0, dte)
    return float(
        np.clip(ratio**scenario.vol_beta_exponent, scenario.vol_beta_min, scenario.vol_beta_max)
    )


def scenario_pnl(legs: Sequence[Leg], view: MarketView, scenario: ScenarioParams) -> float | None:
    """P&L, USD, of ``legs`` (absolute signed contracts) in the stress ``scenario``, by full
    Black-76 repricing (module docstring). ``None`` if any leg cannot be priced. Works for
    any leg whose option is in the view, held or not. Not capped: ``book_risk`` caps each
    defined-risk structure at its max loss."""
    views = _views(legs, view)
    if isinstance(views, str):
        return None
    if not views:
        return 0.0
    k = np.array([ov.contract.strike for ov in views], dtype=np.float64)
    t = np.array([ov.t_years for ov in views])
    r = np.array([ov.rate_frac for ov in views])
    f = np.array([ov.underlying_price for ov in views], dtype=np.float64)
    sigma = np.array([ov.iv_sigma for ov in views], dtype=np.float64)
    is_call = np.array([ov.contract.right is Right.CALL for ov in views])
    f_shock, sigma_shock = f.copy(), sigma.copy()
    for i, ov in enumerate(views):
        if ov.contract.symbol == SPX_SYMBOL:
            assert ov.contract.expiry is not None
            beta = vol_beta(dte_days(ov.contract.expiry, view.now), scenario)
            f_shock[i] = f[i] * (1.0 + scenario.spx_move_frac)
            sigma_shock[i] = max(_MIN_SIGMA, sigma[i] + beta * scenario.vix_spot_shock_pts / 100)
        else:
            future = f[i] + scenario.vix_future_beta * scenario.vix_spot_shock_pts
            f_shock[i] = max(_MIN_VIX_FUTURE, future)
            sigma_shock[i] = max(_MIN_SIGMA, sigma[i] + scenario.vix_option_vol_shock_pts / 100)
    # Two calls on equal-shaped arrays: identical inputs give bit-identical prices.
    before = np.asarray(black76(f, k, t, r, sigma, is_call).price, dtype=np.float64)
    after = np.asarray(black76(f_shock, k, t, r, sigma_shock, is_call).price, dtype=np.float64)
    size = np.array([leg.quantity * leg.contract.multiplier for leg in legs], dtype=np.float64)
    return math.fsum(size * (after - before))


def scenario_pnl_for(
    contract_legs: Iterable[tuple[Contract, int]], view: MarketView, scenario: ScenarioParams
) -> float | None:
    """``scenario_pnl`` for (contract, signed quantity) pairs, e.g. a hedge candidate's
    per-unit legs (+1 long, -1 short): its per-unit stress payoff in USD."""
    return scenario_pnl([Leg(c, q) for c, q in contract_legs], view, scenario)


# ---- closed forms from the structure ---------------------------------------------------------
def credit_usd(legs: Sequence[Leg]) -> float:
    """Net cash received at entry (positive credit, negative debit), USD."""
    return math.fsum(-leg.quantity * abs(leg.avg_cost_usd or 0.0) for leg in legs)


def _strikes(s: Structure, right: Right, sign: int) -> list[float]:
    return [
        leg.contract.strike
        for leg in s.legs
        if leg.contract.right is right
        and leg.quantity * sign > 0
        and leg.contract.strike is not None
    ]


def max_loss_usd(s: Structure, credit: float) -> float | None:
    """Worst loss at expiry, USD >= 0, for the defined-risk kinds; None for a diagonal
    (its legs expire apart, so its worst case depends on vol at the short expiry)."""
    mult = s.legs[0].contract.multiplier * s.quantity
    put_width = call_width = 0.0
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.PUT_CREDIT_SPREAD):
        put_width = _strikes(s, Right.PUT, -1)[0] - _strikes(s, Right.PUT, 1)[0]
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.CALL_CREDIT_SPREAD):
        call_width = _strikes(s, Right.CALL, 1)[0] - _strikes(s, Right.CALL, -1)[0]
    if s.kind.is_income:
        # Only one side of a condor can finish in the money.
        return max(0.0, max(put_width, call_width) * mult - credit)
    if s.kind is StructureKind.VIX_CALL_SPREAD:
        return max(0.0, -credit)
    return None


def breakevens(s: Structure, credit: float) -> tuple[float, ...]:
    """Index levels at expiry where the structure's P&L is zero (credit per share off the
    short strikes; a VIX call spread's long strike plus its debit per share)."""
    per_share = credit / (s.legs[0].contract.multiplier * s.quantity)
    out: list[float] = []
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.PUT_CREDIT_SPREAD):
        out.append(_strikes(s, Right.PUT, -1)[0] - per_share)
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.CALL_CREDIT_SPREAD):
        out.append(_strikes(s, Right.CALL, -1)[0] + per_share)
    if s.kind is StructureKind.VIX_CALL_SPREAD:
        out.append(_strikes(s, Right.CALL, 1)[0] - per_share)
    return tuple(out)


def _short_sigmas(legs: Sequence[Leg], view: MarketView) -> list[tuple[Right, float]]:
    out: list[tuple[Right, float]] = []
    for leg in legs:
        ov = view.option(leg.contract)
        k, right = leg.contract.strike, leg.contract.right
        if leg.quantity >= 0 or ov is None or k is None or right is None:
            continue
        if ov.iv_sigma is None or ov.underlying_price is None or ov.t_years <= 0:
            continue
        x = math.log(k / ov.underlying_price) / (ov.iv_sigma * math.sqrt(ov.t_years))
        out.append((right, x))
    return out


def short_strike_sigmas(legs: Sequence[Leg], view: MarketView) -> tuple[float, ...]:
    """Per short leg ln(K/F) / (sigma sqrt T), F the expiry's forward, sigma the leg's IV
    (puts below the forward are negative, calls above positive). Unpriced legs skipped."""
    return tuple(x for _, x in _short_sigmas(legs, view))


def nearest_short_sigmas(legs: Sequence[Leg], view: MarketView) -> float | None:
    """The nearest short strike's distance out of the money, in sigmas: positive while
    out of the money, negative once breached (a put's -x, a call's x)."""
    signed = [-x if right is Right.PUT else x for right, x in _short_sigmas(legs, view)]
    return min(signed, default=None)


# ---- per structure and per book -------------------------------------------------------------
@dataclass(frozen=True)
class StructureRisk:
    """One structure's risk (USD per position unless named otherwise). Market-dependent
    fields are ``None`` when ``priced`` is False; ``missing_reason`` then says why."""

    structure_id: str
    kind: StructureKind
    label: str
    quantity: int
    credit_usd: float
    max_loss_usd: float | None
    breakevens: tuple[float, ...]
    dte_days: int
    priced: bool
    missing_reason: str | None
    mark_usd: float | None
    greeks: DollarGreeks | None
    short_strike_sigmas: tuple[float, ...]
    nearest_short_sigmas: float | None
    stress_pnl_usd: float | None

    @property
    def open_pnl_usd(self) -> float | None:
        return None if self.mark_usd is None else self.mark_usd + self.credit_usd

    @property
    def delta_usd_per_pt(self) -> float | None:
        return None if self.greeks is None else self.greeks.delta_usd_per_pt

    @property
    def gamma_usd_per_pt2(self) -> float | None:
        return None if self.greeks is None else self.greeks.gamma_usd_per_pt2

    @property
    def vega_usd_per_vol_pt(self) -> float | None:
        return None if self.greeks is None else self.greeks.vega_usd_per_vol_pt

    @property
    def theta_usd_per_day(self) -> float | None:
        return None if self.greeks is None else self.greeks.theta_usd_per_day


def structure_risk(s: Structure, view: MarketView, scenario: ScenarioParams) -> StructureRisk:
    legs = s.position_legs
    credit = credit_usd(legs)
    max_loss = max_loss_usd(s, credit)
    views = _views(legs, view)
    reason = views if isinstance(views, str) else None
    greeks = dollar_greeks(legs, view) if reason is None else None
    if reason is None and greeks is None:
        reason = "no usable SPX spot for dollar greeks"
    stress = scenario_pnl(legs, view, scenario) if reason is None else None
    if stress is not None and max_loss is not None:
        stress = max(stress, -max_loss)
    return StructureRisk(
        structure_id=s.id,
        kind=s.kind,
        label=s.label,
        quantity=s.quantity,
        credit_usd=credit,
        max_loss_usd=max_loss,
        breakevens=breakevens(s, credit),
        dte_days=dte_days(s.expiry, view.now),
        priced=reason is None,
        missing_reason=reason,
        mark_usd=mark_usd(legs, view) if reason is None else None,
        greeks=greeks,
        short_strike_sigmas=short_strike_sigmas(legs, view),
        nearest_short_sigmas=nearest_short_sigmas(legs, view),
        stress_pnl_usd=stress,
    )


@dataclass(frozen=True)
class BookRisk:
    """The book in one value. ``income_greeks`` are per SPX point; ``hedge_greeks`` per
    underlying symbol ("SPX", "VIX"), since deltas of different indices do not add.

    ``tail_loss_usd`` (<= 0): the income book's stress P&L, each structure capped at its
    max loss; an income structure that cannot be priced counts at its full max loss
    (the conservative reading). ``hedge_payoff_usd``: the held hedges' stress P&L; an
    unpriced hedge counts 0. ``unpriced`` lists the ids of the structures not priced."""

    income: tuple[StructureRisk, ...]
    hedges: tuple[StructureRisk, ...]
    income_greeks: DollarGreeks
    hedge_greeks: Mapping[str, DollarGreeks]
    tail_loss_usd: float
    hedge_payoff_usd: float
    open_credit_usd: float
    max_loss_usd: float
    mark_usd: float
    nearest_short_sigmas: float | None
    unpriced: tuple[str, ...]
    unrecognised: tuple[Position, ...]

    @property
    def theta_usd_per_day(self) -> float:
        """The income book's theta, USD per calendar day."""
        return self.income_greeks.theta_usd_per_day

    @property
    def complete(self) -> bool:
        return not self.unpriced


def _stress_or_worst(r: StructureRisk) -> float:
    if r.stress_pnl_usd is not None:
        return r.stress_pnl_usd
    return -(r.max_loss_usd or 0.0)


def book_risk(book: Book, view: MarketView, params: ModelParams) -> BookRisk:
    """Risk of every recognised structure and of the book, in ``params.scenario``."""
    income = tuple(structure_risk(s, view, params.scenario) for s in book.income)
    hedges = tuple(structure_risk(s, view, params.scenario) for s in book.hedges)
    income_greeks = DollarGreeks()
    for r in income:
        income_greeks += r.greeks or DollarGreeks()
    hedge_greeks: dict[str, DollarGreeks] = {}
    for s, r in zip(book.hedges, hedges, strict=True):
        hedge_greeks[s.symbol] = hedge_greeks.get(s.symbol, DollarGreeks()) + (
            r.greeks or DollarGreeks()
        )
    nearest = [r.nearest_short_sigmas for r in income if r.nearest_short_sigmas is not None]
    return BookRisk(
        income=income,
        hedges=hedges,
        income_greeks=income_greeks,
        hedge_greeks=hedge_greeks,
        tail_loss_usd=min(0.0, math.fsum(_stress_or_worst(r) for r in income)),
        hedge_payoff_usd=math.fsum(r.stress_pnl_usd or 0.0 for r in hedges),
        open_credit_usd=math.fsum(r.credit_usd for r in income),
        max_loss_usd=math.fsum(r.max_loss_usd or 0.0 for r in income),
        mark_usd=math.fsum(r.mark_usd or 0.0 for r in income),
        nearest_short_sigmas=min(nearest, default=None),
        unpriced=tuple(r.structure_id for r in (*income, *hedges) if not r.priced),
        unrecognised=book.unrecognised,
    )
