"""Shared by the overlay tests: tiny instances and a brute-force oracle that enumerates
every integer combination and applies the rules as the model page and the overlay
module's docstring state them (coverage, cap, mix, budgets; then consolidation)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from hypothesis import strategies as st

from daemon.core.candidates import Candidate, LegSpec, candidate_key
from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.families.vix_call_spread import VIX_CALL_SPREAD
from daemon.core.models import Action, Contract, Right, SecType
from daemon.core.overlay import OverlayPlan, size_overlay
from daemon.core.params import BudgetParams, ModelParams, OverlayParams

EXPIRY = date(2026, 4, 15)
TOL_ABS_USD = 1e-6
TOL_REL = 1e-9

Combo = tuple[int, ...]


def cand(
    strike: float,
    payoff_usd: float,
    debit_usd: float,
    *,
    is_vix: bool = True,
    theta_usd_per_day: float = -1.0,
) -> Candidate:
    """A one-unit candidate with the given numbers; the strike only makes the key unique."""
    symbol = "VIX" if is_vix else "SPX"
    legs = (
        LegSpec(
            Contract(symbol, SecType.OPTION, symbol, EXPIRY, strike, Right.CALL),
            1,
            Action.BUY,
        ),
    )
    return Candidate(
        key=candidate_key(legs),
        kind=VIX_CALL_SPREAD if is_vix else SPX_PUT_DIAGONAL,
        legs=legs,
        debit_usd=debit_usd,
        natural_debit_usd=debit_usd * 1.05,
        payoff_usd=payoff_usd,
        theta_usd_per_day=theta_usd_per_day,
        dte_days=44,
        is_vix=is_vix,
    )


def model(
    *,
    max_contracts: int = 50,
    coverage: float = 1.0,
    max_cover: float = 1.0,
    mix_tol: float = 1.0,
    debit_frac: float = 5.0,
    theta_frac: float = 5.0,
    consolidate: float = 0.03,
) -> ModelParams:
    """Parameters with the overlay and budget sections set; loose by default."""
    return ModelParams(
        overlay=OverlayParams(
            coverage_frac=coverage,
            max_cover_frac=max_cover,
            mix_tolerance_frac=mix_tol,
            max_contracts=max_contracts,
            consolidate_tolerance_frac=consolidate,
        ),
        budget=BudgetParams(max_debit_fraction=debit_frac, max_theta_fraction=theta_frac),
    )


@dataclass(frozen=True)
class Instance:
    cands: tuple[Candidate, ...]
    needed_usd: float
    tail_loss_usd: float
    held_usd: float
    share: float
    credit_usd: float
    book_theta_usd: float
    params: ModelParams

    def solve(self) -> OverlayPlan:
        return size_overlay(
            list(self.cands),
            self.needed_usd,
            self.tail_loss_usd,
            self.held_usd,
            self.share,
            self.credit_usd,
            self.book_theta_usd,
            self.params,
        )


def le(a: float, b: float) -> bool:
    """a <= b up to float noise."""
    return a <= b + TOL_ABS_USD + TOL_REL * max(abs(a), abs(b))


def line_count(n: Combo) -> int:
    return sum(1 for k in n if k > 0)


@dataclass(frozen=True)
class Expected:
    """What the rules make of an instance: the payoff (None where the goal leaves it
    open), the debit, and the number of lines (None when consolidation is off and any
    optimum will do)."""

    payoff_usd: float | None
    debit_usd: float
    lines: int | None


@dataclass(frozen=True)
class Oracle:
    """Every integer combination checked against the constraints as the model page states
    them; the coverage asked is clipped to the room under the cap."""

    inst: Instance

    def combos(self) -> list[Combo]:
        upper = self.inst.params.overlay.max_contracts
        return list(itertools.product(range(upper + 1), repeat=len(self.inst.cands)))

    def payoff(self, n: Combo) -> float:
        return sum(c.payoff_usd * k for c, k in zip(self.inst.cands, n, strict=True))

    def debit(self, n: Combo) -> float:
        return sum(c.debit_usd * k for c, k in zip(self.inst.cands, n, strict=True))

    def required(self) -> float:
        ov = self.inst.params.overlay
        room = ov.max_cover_frac * abs(self.inst.tail_loss_usd) - self.inst.held_usd
        return min(ov.coverage_frac * self.inst.needed_usd, room)

    def ok(self, n: Combo, *, coverage: bool, budget: bool, mix: bool = True) -> bool:
        i, ov, bud = self.inst, self.inst.params.overlay, self.inst.params.budget
        pay = self.payoff(n)
        vix = sum(c.payoff_usd * k for c, k in zip(i.cands, n, strict=True) if c.is_vix)
        carry = sum(max(-c.theta_usd_per_day, 0.0) * k for c, k in zip(i.cands, n, strict=True))
        checks = [le(i.held_usd + pay, ov.max_cover_frac * abs(i.tail_loss_usd))]
        if mix:
            checks.append(le((i.share - ov.mix_tolerance_frac) * pay, vix))
            checks.append(le(vix, (i.share + ov.mix_tolerance_frac) * pay))
        if coverage:
            checks.append(le(self.required(), pay))
        if budget:
            checks.append(le(self.debit(n), bud.max_debit_fraction * i.credit_usd))
            checks.append(le(carry, bud.max_theta_fraction * abs(i.book_theta_usd)))
        return all(checks)

    def min_debit(self, *, mix: bool = True) -> float | None:
        debits = [
            self.debit(n) for n in self.combos() if self.ok(n, coverage=True, budget=True, mix=mix)
        ]
        return min(debits) if debits else None

    def feasible_without_budget(self, *, mix: bool = True) -> bool:
        return any(self.ok(n, coverage=True, budget=False, mix=mix) for n in self.combos())

    def max_payoff_within_budget(self, *, mix: bool = True) -> float:
        return max(
            self.payoff(n)
            for n in self.combos()
            if self.ok(n, coverage=False, budget=True, mix=mix)
        )

    def least_debit_plan(self, *, mix: bool = True) -> Expected | None:
        """Cover the need at the least debit D*; then, consolidating, the fewest lines
        within (1 + tol) D* and the least debit among those."""
        feasible = [n for n in self.combos() if self.ok(n, coverage=True, budget=True, mix=mix)]
        if not feasible:
            return None
        best = min(self.debit(n) for n in feasible)
        tol = self.inst.params.overlay.consolidate_tolerance_frac
        if tol <= 0.0:
            return Expected(None, best, None)
        near = [n for n in feasible if le(self.debit(n), best * (1.0 + tol))]
        fewest = min(line_count(n) for n in near)
        debit = min(self.debit(n) for n in near if line_count(n) == fewest)
        return Expected(None, debit, fewest)

    def most_cover_plan(self, *, mix: bool) -> Expected:
        """The most payoff P* within the budget at its least debit D*; then, consolidating,
        the fewest (>= 1) lines with payoff >= (1 - tol) P* and debit <= (1 + tol) D*, and
        among those the most payoff at the least debit."""
        feasible = [n for n in self.combos() if self.ok(n, coverage=False, budget=True, mix=mix)]
        top, debit = self._most_cover(feasible)
        tol = self.inst.params.overlay.consolidate_tolerance_frac
        if tol <= 0.0 or top <= 0.0:
            return Expected(top, debit, None)
        near = [
            n
            for n in feasible
            if line_count(n) >= 1
            and le(self.debit(n), debit * (1.0 + tol))
            and le(top * (1.0 - tol), self.payoff(n))
        ]
        fewest = min(line_count(n) for n in near)
        payoff, cheapest = self._most_cover([n for n in near if line_count(n) == fewest])
        return Expected(payoff, cheapest, fewest)

    def _most_cover(self, combos: list[Combo]) -> tuple[float, float]:
        top = max(self.payoff(n) for n in combos)
        debit = min(self.debit(n) for n in combos if self.payoff(n) >= top - TOL_ABS_USD)
        return top, debit


def quantities(plan: OverlayPlan, inst: Instance) -> Combo:
    by_key = {c.key: n for c, n in plan.chosen}
    return tuple(by_key.get(c.key, 0) for c in inst.cands)


GRID = st.integers(0, 20).map(lambda i: i * 0.05)  # fractions on a 0.05 grid
CONSOLIDATE = st.sampled_from([0.0, 0.03, 0.1, 0.5, 1.0])


@st.composite
def numbers(draw: st.DrawFn, size: int) -> list[tuple[float, float]]:
    """(payoff, debit) per candidate: unrelated, or neighbours (strike pairs next to each
    other cost and pay nearly the same, which is where the cheapest plan splits)."""
    if draw(st.booleans()):
        return [
            (float(draw(st.integers(1, 50)) * 100), float(draw(st.integers(1, 40)) * 10))
            for _ in range(size)
        ]
    payoff, debit = draw(st.integers(5, 30)) * 100, draw(st.integers(5, 40)) * 10
    return [
        (float(payoff + draw(st.integers(-4, 4)) * 25), float(debit + draw(st.integers(-4, 4))))
        for _ in range(size)
    ]


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    """Tiny instances the oracle can enumerate: up to 3 candidates, 4 contracts each."""
    size = draw(st.integers(1, 3))
    cands = tuple(
        cand(
            10.0 + j,
            payoff_usd=payoff,
            debit_usd=debit,
            is_vix=draw(st.booleans()),
            theta_usd_per_day=float(draw(st.integers(-20, 5))),
        )
        for j, (payoff, debit) in enumerate(draw(numbers(size)))
    )
    params = model(
        max_contracts=draw(st.integers(1, 4)),
        coverage=draw(st.sampled_from([0.5, 1.0, 1.5])),
        max_cover=draw(st.sampled_from([0.5, 1.0, 1.5])),
        mix_tol=draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])),
        debit_frac=draw(GRID.map(lambda x: 2 * x)),
        theta_frac=draw(GRID.map(lambda x: 2 * x)),
        consolidate=draw(CONSOLIDATE),
    )
    return Instance(
        cands=cands,
        needed_usd=float(draw(st.integers(-5, 60)) * 100),
        tail_loss_usd=-float(draw(st.integers(0, 200)) * 100),
        held_usd=float(draw(st.integers(0, 40)) * 100),
        share=draw(GRID),
        credit_usd=float(draw(st.integers(0, 100)) * 100),
        book_theta_usd=float(draw(st.integers(0, 200))),
        params=params,
    )


@st.composite
def split_instances(draw: st.DrawFn) -> Instance:
    """Tiny instances built to tempt a split: neighbouring candidates, a need a single
    line could nearly meet, a loose cap and a budget that sometimes binds."""
    size = draw(st.integers(2, 3))
    payoff, debit = draw(st.integers(5, 30)) * 100, draw(st.integers(5, 40)) * 10
    cands = tuple(
        cand(
            20.0 + j,
            payoff_usd=float(payoff + draw(st.integers(-4, 4)) * 25),
            debit_usd=float(debit + draw(st.integers(-4, 4))),
            is_vix=draw(st.booleans()),
        )
        for j in range(size)
    )
    upper = draw(st.integers(3, 5))
    # The need of some mix of the candidates, so that landing on it takes a split.
    mix = [draw(st.integers(0, upper - 1)) for _ in cands]
    needed = max(sum(c.payoff_usd * k for c, k in zip(cands, mix, strict=True)), 100.0)
    params = model(
        max_contracts=upper,
        mix_tol=draw(st.sampled_from([0.25, 1.0, 1.0])),
        debit_frac=1.0,
        consolidate=draw(st.sampled_from([0.01, 0.03, 0.1, 0.5])),
    )
    return Instance(
        cands=cands,
        needed_usd=needed,
        tail_loss_usd=-float(draw(st.sampled_from([1.1, 3.0])) * needed),
        held_usd=0.0,
        share=draw(GRID),
        credit_usd=draw(st.sampled_from([1e6, float(debit * draw(st.integers(1, upper)))])),
        book_theta_usd=1e6,
        params=params,
    )
