"""What a hedge family is: the one interface the rest of the core and the snapshot use.

A family (a VIX call spread, an SPX put diagonal, ...) is one module under
``daemon/core/families/`` holding everything particular to it, behind ``HedgeFamily``:

- ``kind``: its ``StructureKind`` (name, abbreviation), defined in its module;
- ``recognise(pool)``: its structures taken from the positions left after the income
  book (``structures.Pool``);
- ``find_candidates(view, now, params, ctx)``: the units the overlay may buy, priced
  per unit from the live chains (``candidates.collect`` prices a list of pairs);
- ``max_loss_usd`` / ``remaining_max_loss_usd`` / ``breakevens``: its closed forms, which
  bound its stress P&L in ``risk.py`` (the stress repricing itself is the same full
  Black-76 for every leg, ``stress.py``);
- ``roll_rule(hedge, roll)``: when a held unit is due to roll (rule 2 of ``proposal.py``);
- ``quote_expiries(listed, ctx)``: which listed expiries of its underlying the snapshot
  must quote so ``find_candidates`` has chains to read (the strikes within them come from
  the underlying's window, ``runtime/chain_window.py``).

Everything is pure: no clock, no I/O; time and data arrive as arguments.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from daemon.core.candidates import CandidateSearch, LegSpec
from daemon.core.market import MarketView
from daemon.core.models import Action
from daemon.core.params import ModelParams, RollParams
from daemon.core.structures import Pool, Structure, StructureKind


@dataclass(frozen=True)
class CandidateContext:
    """What the book tells the candidate search. ``condor_expiry``: the front income
    expiry (where a diagonal's short leg goes), ``None`` without a live income book;
    ``avoid_keys``: the contracts (``Contract.key``) the income book holds. A hedge leg on
    one would net against the income structure on fill and leave neither whole, so no
    family may choose one."""

    condor_expiry: date | None = None
    avoid_keys: frozenset[str] = frozenset()


class QuoteBreadth(Protocol):
    """The snapshot settings (``snapshot:`` in the config) that say how many expiries of a
    family's window to quote besides the one the core will pick (a spare in case the first
    fails its checks)."""

    @property
    def diagonal_long_expiries(self) -> int: ...

    @property
    def short_leg_expiries(self) -> int: ...

    @property
    def vix_extra_expiries(self) -> int: ...


@dataclass(frozen=True)
class QuoteContext:
    """What the snapshot knows when it picks the expiries to quote, before any quote:
    ``today`` (New York), ``held_fronts`` the held option expiries of the family's
    underlying after today, ``params`` the model's and ``breadth`` the snapshot's."""

    today: date
    held_fronts: tuple[date, ...]
    params: ModelParams
    breadth: QuoteBreadth


@dataclass(frozen=True)
class HeldHedge:
    """A hedge held, with its numbers per unit (USD, multiplier applied).

    ``payoff_usd`` its stress-scenario P&L, ``mark_usd`` its value at mids,
    ``natural_close_usd`` what closing one unit at the natural prices brings (longs sold at
    the bid, shorts bought at the ask), ``theta_usd_per_day`` its theta, ``dte_days`` the
    nearest leg's calendar days and ``short_sessions_to_expiry`` the exchange sessions
    until its nearest short leg expires (0 on expiry day; ``None`` without a short leg;
    the diagonal's roll rule reads it). ``cost_basis_usd``: the net debit paid to open one
    unit, from the positions' average costs (IB convention); what the hedge uses of the
    budget while it is held."""

    structure: Structure
    payoff_usd: float
    mark_usd: float
    natural_close_usd: float
    theta_usd_per_day: float
    dte_days: int
    short_sessions_to_expiry: int | None = None
    cost_basis_usd: float = 0.0

    def __post_init__(self) -> None:
        if not self.structure.kind.is_hedge:
            raise ValueError(f"{self.structure.label} is not a hedge")

    @property
    def legs(self) -> tuple[LegSpec, ...]:
        """The per-unit legs as bought to open."""
        return tuple(
            LegSpec(
                leg.contract, abs(leg.quantity), Action.BUY if leg.quantity > 0 else Action.SELL
            )
            for leg in self.structure.legs
        )


class HedgeFamily(ABC):
    """One hedge family (module docstring). ``symbol``: the underlying its legs are on
    ("SPX", "VIX"); ``counts_as_vix``: whether its payoff counts toward the VIX share of
    the overlay's mix; ``note_name``: how the overlay's detail names it ("VIX", "SPX")."""

    kind: StructureKind
    symbol: str
    counts_as_vix: bool
    note_name: str

    @abstractmethod
    def recognise(self, pool: Pool) -> list[Structure]:
        """Take this family's structures out of ``pool`` (deterministically, whatever the
        order of the positions; see ``structures.py`` for the conventions)."""

    @abstractmethod
    def find_candidates(
        self, view: MarketView, now: datetime, params: ModelParams, ctx: CandidateContext
    ) -> CandidateSearch:
        """The candidates, one unit each, and why any were left out."""

    @abstractmethod
    def roll_rule(self, hedge: HeldHedge, roll: RollParams) -> StrEnum | None:
        """The roll rule a held unit falls under this cycle (its value is journalled as the
        adjustment's rule), or ``None`` when it is not due."""

    def max_loss_usd(self, s: Structure, credit_usd: float) -> float | None:
        """Worst loss at expiry from entry, USD >= 0; ``None`` when it has no closed form."""
        return None

    def remaining_max_loss_usd(self, s: Structure, mark_usd: float) -> float | None:
        """The most it can still lose from its signed mark now, USD >= 0; ``None`` when
        unbounded in closed form (its stress P&L is then not capped)."""
        return None

    def breakevens(self, s: Structure, credit_usd: float) -> tuple[float, ...]:
        """Underlying levels at expiry where its P&L is zero (none when not closed form)."""
        return ()

    def quote_expiries(
        self, listed: Mapping[str, Sequence[date]], ctx: QuoteContext
    ) -> set[tuple[str, date]]:
        """(trading class, expiry) pairs of ``symbol`` to quote, from ``listed`` (trading
        class -> listed expiries on or after today, in the broker's order)."""
        return set()


def window_middle(expiries: Sequence[date], today: date, low: int, high: int, n: int) -> list[date]:
    """Up to ``n`` expiries with DTE in [low, high], nearest the window's middle first."""
    inside = [d for d in expiries if low <= (d - today).days <= high]
    middle = 0.5 * (low + high)
    return sorted(inside, key=lambda d: (abs((d - today).days - middle), d))[:n]
