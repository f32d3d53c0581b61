"""Adjustments: one priced order of the proposal, its limit price and its id.

Money is USD per unit of a structure with the multiplier applied unless a name says
``_price_`` (USD per share, a combo's net).

Limit prices are signed net prices per share in the *pay* convention of a combo order
bought: ``> 0`` a debit paid, ``< 0`` a credit received (IB's BAG convention). With mid m and
natural n (paying asks, receiving bids; n >= m in pay terms) the limit is
``min(m + price_offset_ticks x tick, n)`` rounded up on the combo tick grid; when rounding
up overshoots n and a grid point lies in [m, n], the highest such point is used instead
(with no grid point in [m, n] the rounded-up price stands, less than a tick beyond n: it
fills at the natural rather than resting below the mid).
So a debit is raised toward the ask and rounded up; a credit (closing) is lowered toward
the bid, rounding toward the smaller credit.

Adjustment ids: the first 16 hex digits of sha256 over the trading day, the structure key,
the legs, the quantity and the action: identical across runs for the same input.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from daemon.core.candidates import LegSpec
from daemon.core.params import TickParams
from daemon.core.structures import StructureKind
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick


class AdjustmentAction(StrEnum):
    OPEN = "open"
    ADD = "add"
    REDUCE = "reduce"
    CLOSE = "close"
    ROLL = "roll"


@dataclass(frozen=True)
class Adjustment:
    """One order to place: ``quantity`` units of the combo ``legs`` at ``limit_price_usd``
    (per share, > 0 debit, < 0 credit); mid and natural in the same convention."""

    id: str
    action: AdjustmentAction
    kind: StructureKind
    structure_key: str
    legs: tuple[LegSpec, ...]
    quantity: int
    limit_price_usd: float
    mid_price_usd: float
    natural_price_usd: float
    reason: dict[str, Any] = field(hash=False)


def limit_price_usd(
    mid_usd: float,
    natural_usd: float,
    multiplier: int,
    symbol: str,
    offset_ticks: int,
    ticks: TickParams,
) -> float:
    """Limit per share (pay convention) from per-unit mid and natural; module docstring."""
    tick = combo_tick(symbol, ticks)
    mid, natural = mid_usd / multiplier, natural_usd / multiplier
    wanted = mid + offset_ticks * tick
    if natural >= mid:
        wanted = min(wanted, natural)
    limit = round_to_tick(wanted, tick, RoundMode.UP)
    if natural >= mid and limit > natural:
        below = round_to_tick(natural, tick, RoundMode.DOWN)
        if below >= mid:
            limit = below
    return limit


# An adjustment id as ``adjustment_id`` writes it; it is also the order reference, which is
# how an adapter tells this daemon's orders from any other program's on the same account.
ADJUSTMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")


def is_adjustment_id(text: str) -> bool:
    return ADJUSTMENT_ID_PATTERN.match(text) is not None


def adjustment_id(
    today: date,
    structure_key: str,
    legs: tuple[LegSpec, ...],
    quantity: int,
    action: AdjustmentAction,
) -> str:
    """Deterministic id: sha256 of the trading day, structure, legs, quantity, action."""
    text = json.dumps(
        [today.isoformat(), structure_key, [leg.label for leg in legs], quantity, action.value]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]
