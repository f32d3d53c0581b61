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

Settled legs (``Book.settled``: IB still lists them after their series settled) are
cash, not risk: ``settled_value_usd`` is their value at settlement (the market view's
intrinsic on the settlement proxy), and they enter no structure, greek, tail or payoff.

The stress set and its repricing live in ``stress.py`` (re-exported here). The tail is
measured from the current mark: a structure cannot lose more than its remaining max
loss, what its legs can still lose from their value now (an income structure's widest
wing x multiplier x quantity plus its signed mark; a hedge's from its family in
``daemon.core.families``, a VIX call spread's mark). The income
book's tail loss is the worst over the moves of the set; hedges are valued in the hedge
scenario (down with a vol spike), the move they are for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from daemon.core.calendar import dte_days
from daemon.core.market import VIX_SYMBOL, MarketView, OptionView
from daemon.core.models import Position
from daemon.core.params import ModelParams, ScenarioParams, ShockParams
from daemon.core.stress import (
    leg_views,
    priced_pnls,
    scenario_pnl,
    scenario_pnl_for,
    scenario_pnls,
    vix_future_beta,
    vol_beta,
)
from daemon.core.strike_distance import (
    nearest_short_sigmas,
    short_sigma_figures,
    short_strike_sigmas,
)
from daemon.core.structure_bounds import (
    breakevens,
    credit_usd,
    max_loss_usd,
    remaining_max_loss_usd,
)
from daemon.core.structures import Book, Leg, Structure, StructureKind

__all__ = [
    "BookRisk",
    "DollarGreeks",
    "StructureRisk",
    "book_risk",
    "breakevens",
    "credit_usd",
    "dollar_greeks",
    "mark_usd",
    "max_loss_usd",
    "nearest_short_sigmas",
    "remaining_max_loss_usd",
    "scenario_pnl",
    "scenario_pnl_for",
    "scenario_pnls",
    "settled_value_usd",
    "short_strike_sigmas",
    "structure_risk",
    "structure_risks",
    "vix_future_beta",
    "vol_beta",
]


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
def _d_forward_d_spot(ov: OptionView, view: MarketView) -> float | None:
    if ov.contract.symbol == VIX_SYMBOL:
        return 1.0
    if view.spot is None or view.spot <= 0 or ov.underlying_price is None:
        return None
    return ov.underlying_price / view.spot


def mark_usd(legs: Sequence[Leg], view: MarketView) -> float | None:
    """Signed value of ``legs`` now, USD: usable mids, else model prices."""
    views = leg_views(legs, view)
    return None if isinstance(views, str) else _mark(legs, views)


def _mark(legs: Sequence[Leg], views: Sequence[OptionView]) -> float:
    return math.fsum(
        leg.quantity * leg.contract.multiplier * (ov.mark or 0.0)
        for leg, ov in zip(legs, views, strict=True)
    )


def dollar_greeks(legs: Sequence[Leg], view: MarketView) -> DollarGreeks | None:
    """Dollar greeks of ``legs`` (module docstring); None if a leg is not priced."""
    views = leg_views(legs, view)
    return None if isinstance(views, str) else _dollar_greeks(legs, views, view)


def _dollar_greeks(
    legs: Sequence[Leg], views: Sequence[OptionView], view: MarketView
) -> DollarGreeks | None:
    # Summed leg by leg from 0.0, the additions ``DollarGreeks.__add__`` would make, in
    # plain floats: no greeks object per leg.
    delta = gamma = vega = theta = 0.0
    for leg, ov in zip(legs, views, strict=True):
        dfds = _d_forward_d_spot(ov, view)
        if dfds is None:
            return None
        size = leg.quantity * leg.contract.multiplier
        delta += (ov.delta or 0.0) * dfds * size
        gamma += (ov.gamma or 0.0) * dfds * dfds * size
        vega += (ov.vega or 0.0) * size
        theta += (ov.theta or 0.0) * size
    return DollarGreeks(delta, gamma, vega, theta)


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
    remaining_max_loss_usd: float | None = None
    shock_pnl_usd: Mapping[str, float] = field(default_factory=dict)

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
    """One structure's risk. ``shock_pnl_usd``: its P&L in each move of the stress set,
    bounded by its remaining max loss; ``stress_pnl_usd`` the hedge scenario's (``book_risk``
    sets an income structure's to the move that binds for the whole book)."""
    return structure_risks([s], view, scenario)[0]


class _Priced(NamedTuple):
    """A structure's legs looked up once (``leg_views``), and what needs no stress."""

    legs: tuple[Leg, ...]
    views: list[OptionView] | str
    reason: str | None  # why it is not priced
    greeks: DollarGreeks | None
    mark: float | None


def _priced(s: Structure, view: MarketView) -> _Priced:
    legs = s.position_legs
    views = leg_views(legs, view)
    if isinstance(views, str):
        return _Priced(legs, views, views, None, None)
    greeks = _dollar_greeks(legs, views, view)
    if greeks is None:
        return _Priced(legs, views, "no usable SPX spot for dollar greeks", None, None)
    return _Priced(legs, views, None, greeks, _mark(legs, views))


def structure_risks(
    structures: Sequence[Structure], view: MarketView, scenario: ScenarioParams
) -> list[StructureRisk]:
    """``structure_risk`` of each structure, in order: each leg looked up once, and every
    move of every priced structure stress-repriced in one call (``priced_pnls``)."""
    # Built once: each ``scenario.shocks`` builds (and validates) its moves afresh.
    return _structure_risks(structures, view, scenario, scenario.shocks)


def _structure_risks(
    structures: Sequence[Structure],
    view: MarketView,
    scenario: ScenarioParams,
    moves: Sequence[ShockParams],
) -> list[StructureRisk]:
    """``structure_risks`` in the stress set's ``moves`` (``scenario.shocks``)."""
    found = [_priced(s, view) for s in structures]
    hedge_name = moves[0].name  # the hedge scenario comes first
    jobs = [(p.legs, p.views, move) for p in found if p.reason is None for move in moves]
    pnls = iter(priced_pnls(jobs, view, scenario))
    out = []
    for s, p in zip(structures, found, strict=True):
        credit = credit_usd(p.legs)
        max_loss = max_loss_usd(s, credit)
        remaining = None if p.mark is None else remaining_max_loss_usd(s, p.mark)
        sigmas, nearest = short_sigma_figures(p.legs, view)
        shocks: dict[str, float] = {}
        for move in moves if p.reason is None else ():
            pnl = next(pnls)
            if pnl is None:
                continue
            # Measured from the current mark: no more than what is left to lose.
            shocks[move.name] = pnl if remaining is None else max(pnl, -remaining)
        out.append(
            StructureRisk(
                structure_id=s.id,
                kind=s.kind,
                label=s.label,
                quantity=s.quantity,
                credit_usd=credit,
                max_loss_usd=max_loss,
                breakevens=breakevens(s, credit),
                dte_days=dte_days(s.expiry, view.now),
                priced=p.reason is None,
                missing_reason=p.reason,
                mark_usd=p.mark,
                greeks=p.greeks,
                short_strike_sigmas=sigmas,
                nearest_short_sigmas=nearest,
                stress_pnl_usd=shocks.get(hedge_name),
                remaining_max_loss_usd=remaining,
                shock_pnl_usd=shocks,
            )
        )
    return out


@dataclass(frozen=True)
class BookRisk:
    """The book in one value. ``income_greeks`` are per SPX point; ``hedge_greeks`` per
    underlying symbol ("SPX", "VIX"), since deltas of different indices do not add.

    ``tail_loss_usd`` (<= 0): the income book's P&L in the worst move of the stress set
    (``binding_shock``; every move's in ``shock_tail_losses_usd``), each structure bounded
    by its remaining max loss; an income structure that cannot be priced counts at its
    full max loss (the conservative reading). ``hedge_payoff_usd``: the held hedges' P&L
    in the hedge scenario; an unpriced hedge counts 0. ``unpriced`` lists the ids of the
    structures not priced. ``lost_frac`` is the share of the income book's max loss
    already lost (open P&L / max loss, both from entry); ``near_max_loss`` is True from
    ``scenario.near_max_loss_lost_frac`` on (``hedge_hold_reason``)."""

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
    shock_tail_losses_usd: Mapping[str, float] = field(default_factory=dict)
    binding_shock: str | None = None
    lost_frac: float | None = None
    near_max_loss: bool = False
    hedge_shock: str | None = None  # the move the hedges are bought for (a crash)
    # Legs held past their settlement, valued at settlement (module docstring); None when
    # the settlement value is unknown.
    settled: tuple[Position, ...] = ()
    settled_value_usd: float | None = 0.0

    @property
    def hedge_tail_loss_usd(self) -> float:
        """The income book's loss in the hedge scenario (<= 0): what the overlay's target
        and its over-hedge cap are sized on. VIX call spreads and put diagonals pay in a
        crash and lose in a rally, so a rally that binds ``tail_loss_usd`` is reported
        (and journalled) but buys no crash hedge: it would spend the budget on cover
        that pays nothing in the move that set it."""
        if self.hedge_shock is None:
            return self.tail_loss_usd
        return self.shock_tail_losses_usd.get(self.hedge_shock, self.tail_loss_usd)

    @property
    def hedge_hold_reason(self) -> str | None:
        """Why the held hedges are kept rather than reduced toward the target, or None.
        Near max loss the remaining tail, and so the target, falls toward 0 exactly when
        the hedges pay most (a crash): selling them then would monetise the hedge at the
        book's worst and leave a book that can still lose its last part unhedged."""
        if not self.near_max_loss or self.lost_frac is None:
            return None
        return (
            f"income book near max loss ({self.lost_frac:.0%} of its max loss already lost): "
            "hedges kept, no reduction toward the target"
        )

    @property
    def theta_usd_per_day(self) -> float:
        """The income book's theta, USD per calendar day."""
        return self.income_greeks.theta_usd_per_day

    @property
    def complete(self) -> bool:
        return not self.unpriced


def _shock_losses(
    income: Sequence[StructureRisk], moves: Sequence[ShockParams]
) -> dict[str, float]:
    """Each move's income P&L (<= 0); an unpriced structure counts at its full max loss."""
    out: dict[str, float] = {}
    for move in moves:
        total = math.fsum(r.shock_pnl_usd.get(move.name, -(r.max_loss_usd or 0.0)) for r in income)
        out[move.name] = min(0.0, total)
    return out


def _lost_frac(income: Sequence[StructureRisk]) -> float | None:
    """The share of the income book's max loss (from entry) its open P&L has lost."""
    max_loss = math.fsum(r.max_loss_usd or 0.0 for r in income)
    if max_loss <= 0 or any(r.open_pnl_usd is None for r in income):
        return None
    lost = -math.fsum(r.open_pnl_usd or 0.0 for r in income)
    return max(0.0, lost / max_loss)


def settled_value_usd(positions: Sequence[Position], view: MarketView) -> float | None:
    """What the settled legs are worth (USD, signed, multiplier applied); None when a
    leg's settlement value is unknown."""
    total = []
    for p in positions:
        ov = view.option(p.contract)
        if ov is None or ov.model_price is None:
            return None
        total.append(ov.model_price * p.quantity * p.contract.multiplier)
    return math.fsum(total)


def _with_stress(r: StructureRisk, stress_pnl_usd: float | None) -> StructureRisk:
    """``dataclasses.replace(r, stress_pnl_usd=...)``, the same object, without the frozen
    dataclass's ``__init__`` (field by field through ``object.__setattr__``): valid while
    ``StructureRisk`` has no ``__post_init__`` (a test holds the two together)."""
    copy = _new_object(StructureRisk)
    copy.__dict__.update(r.__dict__, stress_pnl_usd=stress_pnl_usd)
    return copy


_new_object = object.__new__


def book_risk(book: Book, view: MarketView, params: ModelParams) -> BookRisk:
    """Risk of every recognised structure and of the book, in ``params.scenario``."""
    scenario = params.scenario
    moves = scenario.shocks  # built (and validated) once: the hedge scenario first
    every = _structure_risks([*book.income, *book.hedges], view, scenario, moves)
    income, hedges = tuple(every[: len(book.income)]), tuple(every[len(book.income) :])
    losses = _shock_losses(income, moves)
    # The worst move; on a tie the first listed (the hedge scenario).
    binding = min(losses, key=lambda name: losses[name]) if income else None
    if binding is not None:
        income = tuple(_with_stress(r, r.shock_pnl_usd.get(binding)) for r in income)
    income_greeks = DollarGreeks()
    for r in income:
        income_greeks += r.greeks or DollarGreeks()
    hedge_greeks: dict[str, DollarGreeks] = {}
    for s, r in zip(book.hedges, hedges, strict=True):
        hedge_greeks[s.symbol] = hedge_greeks.get(s.symbol, DollarGreeks()) + (
            r.greeks or DollarGreeks()
        )
    nearest = [r.nearest_short_sigmas for r in income if r.nearest_short_sigmas is not None]
    lost = _lost_frac(income)
    return BookRisk(
        income=income,
        hedges=hedges,
        income_greeks=income_greeks,
        hedge_greeks=hedge_greeks,
        tail_loss_usd=losses[binding] if binding is not None else 0.0,
        hedge_payoff_usd=math.fsum(r.stress_pnl_usd or 0.0 for r in hedges),
        open_credit_usd=math.fsum(r.credit_usd for r in income),
        max_loss_usd=math.fsum(r.max_loss_usd or 0.0 for r in income),
        mark_usd=math.fsum(r.mark_usd or 0.0 for r in income),
        nearest_short_sigmas=min(nearest, default=None),
        unpriced=tuple(r.structure_id for r in (*income, *hedges) if not r.priced),
        unrecognised=book.unrecognised,
        shock_tail_losses_usd=losses,
        binding_shock=binding,
        lost_frac=lost,
        near_max_loss=lost is not None and lost >= scenario.near_max_loss_lost_frac,
        hedge_shock=moves[0].name if income else None,
        settled=book.settled,
        settled_value_usd=settled_value_usd(book.settled, view),
    )
