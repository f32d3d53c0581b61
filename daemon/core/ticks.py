"""Price grids: the minimum increment of a contract or a combo, and rounding onto it.

The price-dependent Cboe rule (``rule_tick``, vectorised as ``rule_ticks``) is the one
rule of the project: the daemon's limits and the simulators' quotes (``brokers/sim``)
both read it, so the simulated market quotes on the grid the daemon prices on.

Rounding is done in exact decimal arithmetic on the shortest decimal form of the float
(``repr``), so a price already on the grid stays exactly where it is (1.15 on a 0.05 grid
is 1.15, not 1.1500000000000001 or 1.10) and the result is the float nearest the exact
grid point. A price within 1e-9 ticks of a grid point (float drift from arithmetic such as
a mid plus an offset) counts as on it. Negative prices (net credits of a combo) round on
the same grid.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from daemon.core.arrays import FloatArray
from daemon.core.models import Contract
from daemon.core.params import TickParams, TickRule


class RoundMode(StrEnum):
    """NEAREST (ties away from zero), UP (toward +infinity), DOWN (toward -infinity)."""

    NEAREST = "nearest"
    UP = "up"
    DOWN = "down"


_DECIMAL_ROUNDING = {
    RoundMode.NEAREST: ROUND_HALF_UP,  # Decimal's HALF_UP is "half away from zero"
    RoundMode.UP: ROUND_CEILING,
    RoundMode.DOWN: ROUND_FLOOR,
}

# A price within this many ticks of a grid point is taken as on it: far below a cent at
# any tick size, far above float noise at option prices.
_ON_GRID_TOLERANCE_TICKS = Decimal("1e-9")


def _rule(symbol: str, params: TickParams) -> TickRule:
    # Keyed by the underlying symbol: SPX covers SPX and SPXW, VIX covers VIX, VIXW and
    # the VIX future (whose 0.05 single-leg tick matches the rule at VIX levels above 3).
    if symbol == "SPX":
        return params.spx
    if symbol == "VIX":
        return params.vix
    raise ValueError(f"no tick rule for symbol {symbol!r}: expected 'SPX' or 'VIX'")


def rule_tick(price_usd: float, rule: TickRule) -> float:
    """Cboe's increment at ``price_usd`` (USD per share): ``below_usd`` while the price's
    magnitude is under ``threshold_usd``, else ``at_or_above_usd``."""
    return rule.below_usd if abs(price_usd) < rule.threshold_usd else rule.at_or_above_usd


class TickRules(NamedTuple):
    """A ``TickRule``'s three numbers per price (a quote request mixing SPX and VIX
    options is ticked in one pass, each price under its own rule)."""

    threshold_usd: FloatArray
    below_usd: FloatArray
    at_or_above_usd: FloatArray

    @classmethod
    def pick(cls, first: npt.NDArray[np.bool_], rule: TickRule, other: TickRule) -> TickRules:
        """``rule``'s numbers where ``first``, else ``other``'s."""
        return cls(
            *(
                np.where(first, getattr(rule, name), getattr(other, name))
                for name in ("threshold_usd", "below_usd", "at_or_above_usd")
            )
        )


def rule_ticks(prices_usd: FloatArray, rule: TickRule | TickRules) -> FloatArray:
    """``rule_tick`` of each price, vectorised (the same comparison, elementwise); with
    ``TickRules`` each price is compared with its own rule's numbers."""
    below = np.abs(prices_usd) < rule.threshold_usd
    return np.asarray(np.where(below, rule.below_usd, rule.at_or_above_usd), dtype=np.float64)


def tick_size(price_usd: float, contract: Contract, params: TickParams) -> float:
    """The contract's minimum increment at ``price_usd`` (USD per share).

    The configured Cboe rule for the contract's symbol: ``below_usd`` under
    ``threshold_usd``, else ``at_or_above_usd`` (the threshold is compared with the price's
    magnitude). When the broker reported ``contract.min_tick``, the coarser of the two wins:
    IB reports one increment per contract (the price-dependent part lives in its market
    rules), so its value alone would let a $5 SPX option be priced on a 0.05 grid that Cboe
    rejects.
    """
    by_rule = rule_tick(price_usd, _rule(contract.symbol, params))
    if contract.min_tick is not None and contract.min_tick > 0:
        return max(contract.min_tick, by_rule)
    return by_rule


def combo_tick(symbol: str, params: TickParams) -> float:
    """The minimum increment of a complex order's net price for ``symbol`` (SPX or VIX)."""
    return _rule(symbol, params).combo_usd


def round_to_tick(price_usd: float, tick: float, mode: RoundMode = RoundMode.NEAREST) -> float:
    """``price_usd`` moved onto the grid of multiples of ``tick`` in direction ``mode``."""
    if not math.isfinite(price_usd):
        raise ValueError(f"price must be finite, got {price_usd}")
    if not (math.isfinite(tick) and tick > 0):
        raise ValueError(f"tick must be a positive finite number, got {tick}")
    # repr gives the shortest decimal that round-trips, i.e. the price as it was typed.
    price_dec = Decimal(repr(price_usd))
    tick_dec = Decimal(repr(tick))
    quotient = price_dec / tick_dec
    nearest = quotient.to_integral_value(rounding=ROUND_HALF_EVEN)
    if abs(quotient - nearest) <= _ON_GRID_TOLERANCE_TICKS:
        # Arithmetic drift (0.1 + 0.2 = 0.30000000000000004): already on the grid, so
        # UP must not jump a whole tick for a 1e-17 excess.
        ticks = nearest
    else:
        ticks = quotient.to_integral_value(rounding=_DECIMAL_ROUNDING[mode])
    # + 0.0 turns a negative zero (a tiny credit rounded UP) into 0.0.
    return float(ticks * tick_dec) + 0.0
