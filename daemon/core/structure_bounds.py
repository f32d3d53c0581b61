"""Closed forms of a defined-risk structure from its legs alone: the credit at entry,
the max loss, what it can still lose from its mark, and its break-evens (``risk.py``
re-exports them; conventions in its docstring: USD per position, multiplier and
quantity applied, a credit positive and a debit negative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from daemon.core.models import Right
from daemon.core.structures import Leg, Structure, StructureKind


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


def _widest_wing_usd(s: Structure) -> float:
    """The widest wing x multiplier x quantity: the most an income structure's legs can be
    worth against us at expiry (only one side of a condor can finish in the money)."""
    mult = s.legs[0].contract.multiplier * s.quantity
    put_width = call_width = 0.0
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.PUT_CREDIT_SPREAD):
        put_width = _strikes(s, Right.PUT, -1)[0] - _strikes(s, Right.PUT, 1)[0]
    if s.kind in (StructureKind.IRON_CONDOR, StructureKind.CALL_CREDIT_SPREAD):
        call_width = _strikes(s, Right.CALL, 1)[0] - _strikes(s, Right.CALL, -1)[0]
    return max(put_width, call_width) * mult


def max_loss_usd(s: Structure, credit: float) -> float | None:
    """Worst loss at expiry from entry, USD >= 0, for the defined-risk kinds; None for a
    diagonal (its legs expire apart, so its worst case depends on vol at the short expiry)."""
    if s.kind.is_income:
        return max(0.0, _widest_wing_usd(s) - credit)
    if s.kind is StructureKind.VIX_CALL_SPREAD:
        return max(0.0, -credit)
    return None


def remaining_max_loss_usd(s: Structure, mark: float) -> float | None:
    """The most the structure can still lose from its signed ``mark`` now, USD >= 0: its
    max loss minus what is already lost. An income structure's legs are worth at worst
    -(widest wing x multiplier x quantity), so it can lose that plus its mark (the mark is
    negative); a VIX call spread's worth at worst 0, so it can lose its mark. None for a
    diagonal."""
    if s.kind.is_income:
        return max(0.0, _widest_wing_usd(s) + mark)
    if s.kind is StructureKind.VIX_CALL_SPREAD:
        return max(0.0, mark)
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
