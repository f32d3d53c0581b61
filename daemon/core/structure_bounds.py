"""Closed forms of a defined-risk structure from its legs alone: the credit at entry,
the max loss, what it can still lose from its mark, and its break-evens (``risk.py``
re-exports them; conventions in its docstring: USD per position, multiplier and
quantity applied, a credit positive and a debit negative). A hedge's come from its
family (``daemon.core.families``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from daemon.core.families import family_of
from daemon.core.models import Right
from daemon.core.structures import Leg, Structure, StructureKind, leg_strikes


def credit_usd(legs: Sequence[Leg]) -> float:
    """Net cash received at entry (positive credit, negative debit), USD."""
    return math.fsum(-leg.quantity * abs(leg.avg_cost_usd or 0.0) for leg in legs)


def _widest_wing_usd(s: Structure) -> float:
    """The widest wing x multiplier x quantity: the most an income structure's legs can be
    worth against us at expiry (only one side of a condor can finish in the money)."""
    mult = s.legs[0].contract.multiplier * s.quantity
    put_width = call_width = 0.0
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.PUT_CREDIT_SPREAD):
        put_width = leg_strikes(s, Right.PUT, -1)[0] - leg_strikes(s, Right.PUT, 1)[0]
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.CALL_CREDIT_SPREAD):
        call_width = leg_strikes(s, Right.CALL, 1)[0] - leg_strikes(s, Right.CALL, -1)[0]
    return max(put_width, call_width) * mult


def max_loss_usd(s: Structure, credit: float) -> float | None:
    """Worst loss at expiry from entry, USD >= 0: an income structure's widest wing less
    its credit, a hedge's from its family (``None`` where it has no closed form: a
    diagonal's legs expire apart, so its worst case depends on vol at the short expiry)."""
    if s.kind.is_income:
        return max(0.0, _widest_wing_usd(s) - credit)
    return family_of(s.kind).max_loss_usd(s, credit)


def remaining_max_loss_usd(s: Structure, mark: float) -> float | None:
    """The most the structure can still lose from its signed ``mark`` now, USD >= 0: its
    max loss minus what is already lost. An income structure's legs are worth at worst
    -(widest wing x multiplier x quantity), so it can lose that plus its mark (the mark is
    negative); a hedge's bound is its family's (a VIX call spread's worth at worst 0, so
    it can lose its mark; ``None`` for a diagonal)."""
    if s.kind.is_income:
        return max(0.0, _widest_wing_usd(s) + mark)
    return family_of(s.kind).remaining_max_loss_usd(s, mark)


def breakevens(s: Structure, credit: float) -> tuple[float, ...]:
    """Index levels at expiry where the structure's P&L is zero (credit per share off the
    short strikes; a hedge's from its family, e.g. a VIX call spread's long strike plus its
    debit per share)."""
    if s.kind.is_hedge:
        return family_of(s.kind).breakevens(s, credit)
    per_share = credit / (s.legs[0].contract.multiplier * s.quantity)
    out: list[float] = []
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.PUT_CREDIT_SPREAD):
        out.append(leg_strikes(s, Right.PUT, -1)[0] - per_share)
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.CALL_CREDIT_SPREAD):
        out.append(leg_strikes(s, Right.CALL, -1)[0] + per_share)
    return tuple(out)
