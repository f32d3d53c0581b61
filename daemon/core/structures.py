"""What the positions are: iron condors, credit spreads and the hedges, recognised by legs.

The types (``StructureKind``, ``Leg``, ``Structure``, ``Book``), the working ``Pool`` the
matchers take from, and the income matchers. ``recognition.recognise(positions) -> Book``
groups option positions into the structures the model knows (alvh-model.md section 2),
the hedges by their families' own matchers, and leaves everything else, untouched, in
``Book.unrecognised``.

Conventions
-----------
- A ``Leg``'s ``quantity`` is **signed contracts per unit of its structure** (+1 long,
  -1 short for every structure recognised here); ``Structure.quantity`` is the number of
  units. ``Structure.position_legs`` gives the legs with absolute signed contract counts
  (ratio x units), which is what pricing functions such as ``risk.scenario_pnl`` take.
- Expiries are matched on **trading class and expiry date together**: SPX (monthly,
  AM-settled at the open) and SPXW (PM-settled at the close) of the same date settle on
  different prices hours apart, so a trader books them as different expiries and so do we.
  Diagonals are the exception by nature: their legs have different expiries and may mix
  classes.
- Matching order, each step working on what the previous ones left (``recognition.py``):
  1. iron condors (SPX/SPXW): long put < short put < short call < long call;
  2. put credit spreads, then call credit spreads (SPX/SPXW, short leg nearer the money);
  3. each registered hedge family in registry order (``daemon.core.families``): VIX call
     spreads (VIX/VIXW: long K1 < short K2), then SPX put diagonals (long put at a later
     expiry, short put nearer, short K <= long K);
  4. whatever remains (other symbols, futures, stock, odd legs) is ``unrecognised``.
- Pairing is deterministic and does not depend on the input order: short legs are taken
  innermost first (highest short put, lowest short call, lowest VIX long call; the diagonal's
  shorts by nearest expiry, then highest strike) and each is paired with its nearest
  eligible wing. Uneven sizes match the common quantity; the remainder carries on to the
  next step. Several decompositions of a book are possible; they all have the same payoff,
  so the choice affects labels and per-structure figures, never the book's totals.
- Positions in the same contract (same ``Contract.key``) are merged first (quantities
  summed, average cost weighted by size); zero-quantity positions are dropped.
- Legs whose series has settled (``settled_keys``, from ``MarketView.settled_keys``) are
  set aside in ``Book.settled`` before matching: a settled condor is cash, not a live
  income structure, and a settled hedge protects nothing. IB lists them until its
  overnight processing; they are valued at settlement (``risk.BookRisk.settled_value_usd``)
  and never hedged, rolled or closed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import ClassVar

from daemon.core.models import Contract, Position, Right

SPX_SYMBOL = "SPX"
VIX_SYMBOL = "VIX"


class StructureKind(str):
    """What a structure is: its name (the value journalled), the abbreviation its ids and
    labels start with, and whether it is income (short premium) or a hedge.

    Open, unlike an enum: the income kinds are defined here, and each hedge family defines
    its own in its module (``daemon.core.families``), so a new family adds a kind without
    touching this file. Kinds are interned by name: defining one twice with the same
    abbreviation and side gives the same object (``is`` compares them), with a different
    one raises ``ValueError``. Compares, sorts and serialises as its name."""

    abbreviation: str
    is_income: bool

    IRON_CONDOR: ClassVar[StructureKind]
    PUT_CREDIT_SPREAD: ClassVar[StructureKind]
    CALL_CREDIT_SPREAD: ClassVar[StructureKind]

    def __new__(cls, value: str, abbreviation: str, *, income: bool = False) -> StructureKind:
        known = _KINDS.get(value)
        if known is not None:
            if (known.abbreviation, known.is_income) != (abbreviation, income):
                raise ValueError(f"structure kind {value} already defined differently")
            return known
        kind = super().__new__(cls, value)
        kind.abbreviation = abbreviation
        kind.is_income = income
        _KINDS[value] = kind
        return kind

    def __reduce__(self) -> tuple[Callable[[str], StructureKind], tuple[str]]:
        # Unpickled (replay workers) as the interned kind of that name, so ``is`` holds.
        return (kind_named, (self.value,))

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def is_hedge(self) -> bool:
        return not self.is_income


_KINDS: dict[str, StructureKind] = {}


def kind_named(name: str) -> StructureKind:
    """The kind defined under ``name``; ``KeyError`` if none is."""
    return _KINDS[name]


StructureKind.IRON_CONDOR = StructureKind("IRON_CONDOR", "IC", income=True)
StructureKind.PUT_CREDIT_SPREAD = StructureKind("PUT_CREDIT_SPREAD", "PCS", income=True)
StructureKind.CALL_CREDIT_SPREAD = StructureKind("CALL_CREDIT_SPREAD", "CCS", income=True)


@dataclass(frozen=True)
class Leg:
    """One option of a structure.

    ``quantity``: signed contracts (+ long, - short). Inside a ``Structure`` it is per unit
    of the structure (the ratio); in ``Structure.position_legs`` and wherever a function
    prices "legs" it is the absolute signed count. ``avg_cost_usd`` is the position's IB
    average cost (per contract, multiplier included, positive for longs and shorts alike);
    ``None`` for hypothetical legs such as hedge candidates."""

    contract: Contract
    quantity: int
    avg_cost_usd: float | None = None


def _leg_sort_key(leg: Leg) -> tuple[date, float, str, str]:
    c = leg.contract
    return (c.expiry or date.min, c.strike or 0.0, str(c.right or ""), c.trading_class)


@dataclass(frozen=True)
class Structure:
    """``quantity`` units of ``kind``; ``legs`` in canonical order (expiry, strike, right),
    so a condor reads long put, short put, short call, long call."""

    kind: StructureKind
    legs: tuple[Leg, ...]
    quantity: int

    @cached_property
    def id(self) -> str:
        """Stable id from the kind and the legs' contracts and ratios, independent of the
        input order and of the size (adding to a condor keeps its id). Computed once per
        object (a hash of the legs, read several times a cycle); the fields are frozen."""
        canonical = "|".join(
            f"{leg.contract.key}:{leg.quantity}" for leg in sorted(self.legs, key=_leg_sort_key)
        )
        digest = hashlib.sha256(f"{self.kind.value}|{canonical}".encode()).hexdigest()
        return f"{self.kind.abbreviation}-{digest[:12]}"

    @property
    def label(self) -> str:
        """Human-readable, e.g. ``IC x2 SPXW 2026-04-17 4800/4900/5400/5500``."""
        first = self.legs[0].contract
        same_expiry = all(
            leg.contract.expiry == first.expiry
            and leg.contract.trading_class == first.trading_class
            for leg in self.legs
        )
        if same_expiry:
            strikes = "/".join(f"{leg.contract.strike:g}" for leg in self.legs)
            series = f"{first.trading_class} {first.expiry}"
            return f"{self.kind.abbreviation} x{self.quantity} {series} {strikes}"
        legs = " ".join(
            f"{'+' if leg.quantity > 0 else '-'}{leg.contract.key}" for leg in self.legs
        )
        return f"{self.kind.abbreviation} x{self.quantity} {legs}"

    @property
    def position_legs(self) -> tuple[Leg, ...]:
        """The legs with absolute signed contract counts (ratio x units)."""
        return tuple(
            Leg(leg.contract, leg.quantity * self.quantity, leg.avg_cost_usd) for leg in self.legs
        )

    @property
    def expiry(self) -> date:
        """The nearest expiry among the legs (the one that decides the structure's DTE)."""
        return min(leg.contract.expiry or date.max for leg in self.legs)

    @property
    def symbol(self) -> str:
        return self.legs[0].contract.symbol


@dataclass(frozen=True)
class Book:
    structures: tuple[Structure, ...]
    unrecognised: tuple[Position, ...]
    settled: tuple[Position, ...] = ()  # legs whose series has settled (module docstring)

    @property
    def condors(self) -> tuple[Structure, ...]:
        return tuple(s for s in self.structures if s.kind is StructureKind.IRON_CONDOR)

    @property
    def income(self) -> tuple[Structure, ...]:
        """Iron condors and credit spreads: the short-premium book."""
        return tuple(s for s in self.structures if s.kind.is_income)

    @property
    def hedges(self) -> tuple[Structure, ...]:
        """The hedges already held (every registered family's, ``daemon.core.families``)."""
        return tuple(s for s in self.structures if s.kind.is_hedge)


# ---- the working pool ------------------------------------------------------------------
class Pool:
    """Remaining signed quantity per option contract, plus its average cost: what the
    matchers (the income ones here, each hedge family's) take their structures from."""

    def __init__(self, options: Iterable[Position]) -> None:
        self.qty: dict[Contract, int] = {}
        self.cost: dict[Contract, float] = {}
        for p in options:
            self.qty[p.contract] = p.quantity
            self.cost[p.contract] = p.avg_cost_usd

    def shorts(self, pred: Callable[[Contract], bool]) -> list[Contract]:
        return [c for c, q in self.qty.items() if q < 0 and pred(c)]

    def longs(self, pred: Callable[[Contract], bool]) -> list[Contract]:
        return [c for c, q in self.qty.items() if q > 0 and pred(c)]

    def take(self, kind: StructureKind, signed: Sequence[tuple[Contract, int]]) -> Structure:
        """Remove the common quantity of ``signed`` (contract, +1/-1) legs; build it."""
        units = min(abs(self.qty[c]) for c, _ in signed)
        for c, ratio in signed:
            self.qty[c] -= ratio * units
        legs = tuple(Leg(c, ratio, self.cost[c]) for c, ratio in signed)
        return Structure(kind, tuple(sorted(legs, key=_leg_sort_key)), units)

    def leftovers(self) -> list[Position]:
        return [Position(c, q, self.cost[c]) for c, q in self.qty.items() if q != 0]


def strike_of(c: Contract) -> float:
    return c.strike if c.strike is not None else 0.0


def series_of(c: Contract) -> tuple[str, date]:
    return (c.trading_class, c.expiry or date.min)


def same_series(ref: Contract) -> Callable[[Contract], bool]:
    return lambda c: series_of(c) == series_of(ref)


def option_of(symbol: str, right: Right) -> Callable[[Contract], bool]:
    return lambda c: c.symbol == symbol and c.right is right


# ---- the matchers ----------------------------------------------------------------------
def match_condors(pool: Pool) -> list[Structure]:
    found: list[Structure] = []
    while True:
        best: tuple[Contract, Contract, Contract, Contract] | None = None
        # Innermost short put first: highest strike, then the series for determinism.
        for sp in sorted(
            pool.shorts(option_of(SPX_SYMBOL, Right.PUT)),
            key=lambda c: (-strike_of(c), series_of(c)),
        ):
            same = same_series(sp)
            lps = [c for c in pool.longs(option_of(SPX_SYMBOL, Right.PUT)) if same(c)]
            lp = max((c for c in lps if strike_of(c) < strike_of(sp)), key=strike_of, default=None)
            scs = [c for c in pool.shorts(option_of(SPX_SYMBOL, Right.CALL)) if same(c)]
            sc = min((c for c in scs if strike_of(c) > strike_of(sp)), key=strike_of, default=None)
            if lp is None or sc is None:
                continue
            lcs = [c for c in pool.longs(option_of(SPX_SYMBOL, Right.CALL)) if same(c)]
            lc = min((c for c in lcs if strike_of(c) > strike_of(sc)), key=strike_of, default=None)
            if lc is not None:
                best = (lp, sp, sc, lc)
                break
        if best is None:
            return found
        lp, sp, sc, lc = best
        found.append(pool.take(StructureKind.IRON_CONDOR, ((lp, 1), (sp, -1), (sc, -1), (lc, 1))))


def match_verticals(
    pool: Pool, kind: StructureKind, symbol: str, right: Right, anchor_short: bool
) -> list[Structure]:
    """Same-series two-leg verticals.

    Credit spreads (``anchor_short``): the innermost short (highest put / lowest call) with
    the nearest long further out of the money. VIX call spreads: the lowest long call with
    the nearest short call above it."""
    found: list[Structure] = []
    # "Further out" is lower strikes for puts, higher for calls.
    out = -1.0 if right is Right.PUT else 1.0
    while True:
        anchors = (
            pool.shorts(option_of(symbol, right))
            if anchor_short
            else pool.longs(option_of(symbol, right))
        )
        pair: tuple[Contract, Contract] | None = None
        for a in sorted(anchors, key=lambda c: (out * strike_of(c), series_of(c))):
            same = same_series(a)
            wings = (
                pool.longs(option_of(symbol, right))
                if anchor_short
                else pool.shorts(option_of(symbol, right))
            )
            beyond = [w for w in wings if same(w) and out * (strike_of(w) - strike_of(a)) > 0]
            if beyond:
                pair = (a, min(beyond, key=lambda w: out * strike_of(w)))
                break
        if pair is None:
            return found
        a, w = pair
        ratio = -1 if anchor_short else 1
        found.append(pool.take(kind, ((a, ratio), (w, -ratio))))


def match_income(pool: Pool) -> list[Structure]:
    """The income structures, in matching order: condors, then put and call credit spreads."""
    found = match_condors(pool)
    found += match_verticals(
        pool, StructureKind.PUT_CREDIT_SPREAD, SPX_SYMBOL, Right.PUT, anchor_short=True
    )
    found += match_verticals(
        pool, StructureKind.CALL_CREDIT_SPREAD, SPX_SYMBOL, Right.CALL, anchor_short=True
    )
    return found


def leg_strikes(s: Structure, right: Right, sign: int) -> list[float]:
    """The strikes of ``s``'s legs of ``right`` held long (``sign`` 1) or short (-1)."""
    return [
        leg.contract.strike
        for leg in s.legs
        if leg.contract.right is right
        and leg.quantity * sign > 0
        and leg.contract.strike is not None
    ]
