"""Tick sizes (Cboe minimum increments) and exact rounding onto a tick grid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import Contract, Right, SecType
from daemon.core.params import TickParams
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick, rule_tick, rule_ticks, tick_size

# Expected increments, from Cboe's published specifications (checked for this module):
# - SPX/SPXW options: "Minimum tick for options trading below 3.00 is 0.05 ($5.00) and for
#   all other series, 0.10 ($10.00). For complex orders legs may trade in .01 ($1.00)
#   increments, but net package price must be in .05 ($5.00) increments except for Boxes
#   and Box Swaps" -- Cboe SPX options product specification, "Premium Quote",
#   http://cboe.com/products/indexopts/spx_spec.aspx (same text at
#   https://cboe.com/zh_CN/tradable_products/sp_500/spx_options/specifications)
# - VIX options since 2022-10-03: single-leg bids/offers under $3 in $0.01, over $3 in
#   $0.05; complex orders' net price $0.01 at any price level -- Cboe, "Why VIX Index
#   Options and Mini VIX (VXM) Futures Got a Tick Update",
#   https://cboe.com/insights/posts/why-vix-index-options-and-mini-vix-vxm-futures-got-a-tick-update
#   and "Cboe Announces Options Tick Increment Change for VIX Options" (News Direct,
#   2022-11-29), https://investor.wedbush.com/wedbush/article/newsdirect-2022-11-29-cboe-announces-options-tick-increment-change-for-vix-options
# These agree with the defaults in daemon/core/params.py, so the defaults are unchanged.
PARAMS = TickParams()


def _option(symbol: str, trading_class: str, min_tick: float | None = None) -> Contract:
    return Contract(
        symbol=symbol,
        sec_type=SecType.OPTION,
        trading_class=trading_class,
        expiry=date(2026, 12, 18),
        strike=100.0,
        right=Right.CALL,
        min_tick=min_tick,
    )


@pytest.mark.parametrize(
    ("contract", "price_usd", "expected"),
    [
        (_option("SPX", "SPX"), 0.05, 0.05),
        (_option("SPX", "SPXW"), 2.95, 0.05),
        (_option("SPX", "SPXW"), 2.999, 0.05),
        (_option("SPX", "SPX"), 3.00, 0.10),
        (_option("SPX", "SPXW"), 42.30, 0.10),
        (_option("VIX", "VIX"), 0.37, 0.01),
        (_option("VIX", "VIXW"), 2.99, 0.01),
        (_option("VIX", "VIX"), 3.00, 0.05),
        (_option("VIX", "VIX"), 7.45, 0.05),
        # The broker's contract metadata wins over the fallback table.
        # The broker's single increment never undercuts the price-dependent Cboe rule.
        (_option("SPX", "SPXW", min_tick=0.05), 12.0, 0.10),
        (_option("SPX", "SPXW", min_tick=0.05), 2.0, 0.05),
        (_option("VIX", "VIX", min_tick=0.05), 1.0, 0.05),
    ],
)
def test_tick_size_table(contract: Contract, price_usd: float, expected: float) -> None:
    """tick_size follows Cboe's published increments, or the broker's coarser min_tick."""
    assert tick_size(price_usd, contract, PARAMS) == expected


def test_tick_size_unknown_symbol_is_an_error() -> None:
    """A symbol without a tick rule and without broker metadata raises a ValueError."""
    with pytest.raises(ValueError, match="'NDX'"):
        tick_size(5.0, _option("NDX", "NDXP"), PARAMS)
    with pytest.raises(ValueError, match="'RUT'"):
        combo_tick("RUT", PARAMS)


def test_combo_tick_table() -> None:
    """Complex-order net prices: SPX in 0.05, VIX in 0.01 (Cboe specifications)."""
    assert combo_tick("SPX", PARAMS) == 0.05
    assert combo_tick("VIX", PARAMS) == 0.01


@pytest.mark.parametrize(
    ("price_usd", "tick", "mode", "expected"),
    [
        # On the grid already: exactly unchanged in every mode (1.15 / 0.05 is 22.999...).
        (1.15, 0.05, RoundMode.NEAREST, 1.15),
        (1.15, 0.05, RoundMode.UP, 1.15),
        (1.15, 0.05, RoundMode.DOWN, 1.15),
        (3.30, 0.10, RoundMode.UP, 3.30),
        (0.07, 0.01, RoundMode.DOWN, 0.07),
        # Off the grid.
        (1.12, 0.05, RoundMode.UP, 1.15),
        (1.12, 0.05, RoundMode.DOWN, 1.10),
        (1.12, 0.05, RoundMode.NEAREST, 1.10),
        (1.13, 0.05, RoundMode.NEAREST, 1.15),
        (3.21, 0.10, RoundMode.UP, 3.30),
        # Ties round away from zero, symmetrically for credits.
        (1.125, 0.05, RoundMode.NEAREST, 1.15),
        (-1.125, 0.05, RoundMode.NEAREST, -1.15),
        # Credits (negative net prices): UP is toward +inf, DOWN toward -inf.
        (-1.12, 0.05, RoundMode.UP, -1.10),
        (-1.12, 0.05, RoundMode.DOWN, -1.15),
        (-2.35, 0.05, RoundMode.DOWN, -2.35),
        (-0.01, 0.05, RoundMode.UP, 0.0),
        # Float drift from arithmetic is treated as on the grid.
        (0.1 + 0.2, 0.1, RoundMode.UP, 0.3),
        (1.10 + 0.05, 0.05, RoundMode.DOWN, 1.15),
    ],
)
def test_round_to_tick_table(
    price_usd: float, tick: float, mode: RoundMode, expected: float
) -> None:
    """round_to_tick gives the exact grid float (hand-computed table), with no float drift."""
    got = round_to_tick(price_usd, tick, mode)
    assert got == expected
    assert repr(got) == repr(expected)


def test_round_to_tick_rejects_bad_inputs() -> None:
    """A non-positive or non-finite tick, or a non-finite price, is a ValueError."""
    for tick in (0.0, -0.05, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tick"):
            round_to_tick(1.0, tick)
    with pytest.raises(ValueError, match="price"):
        round_to_tick(float("nan"), 0.05)


_TICKS = st.sampled_from([0.01, 0.05, 0.10, 0.25, 0.005, 1.0])
_PRICES = st.floats(min_value=-5000, max_value=5000, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(_PRICES, _TICKS, st.sampled_from(list(RoundMode)))
def test_rounding_lands_on_grid_within_one_tick(
    price_usd: float, tick: float, mode: RoundMode
) -> None:
    """The result is a grid multiple, on the mode's side, less than one (or half a) tick away."""
    got = round_to_tick(price_usd, tick, mode)
    # Oracle in exact rationals: the decimal the float stands for, divided by the tick.
    got_q = Fraction(Decimal(repr(got))) / Fraction(Decimal(repr(tick)))
    assert got_q.denominator == 1
    move_ticks = (Fraction(Decimal(repr(got))) - Fraction(Decimal(repr(price_usd)))) / Fraction(
        Decimal(repr(tick))
    )
    drift = Fraction(1, 10**9)  # prices this close to a grid point count as on it
    if mode is RoundMode.NEAREST:
        assert abs(move_ticks) <= Fraction(1, 2)
    elif mode is RoundMode.UP:
        assert -drift <= move_ticks < 1
    else:
        assert -1 < move_ticks <= drift


@settings(max_examples=200, deadline=None)
@given(st.integers(-100_000, 100_000), _TICKS)
def test_grid_points_are_fixed_points(n_ticks: int, tick: float) -> None:
    """A price typed as an exact grid multiple comes back unchanged in every mode."""
    price_usd = float(Decimal(n_ticks) * Decimal(repr(tick)))
    for mode in RoundMode:
        assert round_to_tick(price_usd, tick, mode) == price_usd


@pytest.mark.parametrize(
    ("price_usd", "expected"),
    [(2.95, 0.05), (3.0, 0.10), (3.05, 0.10), (0.0, 0.05), (-2.95, 0.05), (-3.0, 0.10)],
)
def test_rule_tick_by_magnitude(price_usd: float, expected: float) -> None:
    """SPX's Cboe rule: 0.05 under 3.00 and 0.10 from 3.00, by the price's magnitude (a
    net credit of -3.00 is on the 0.10 grid too)."""
    assert rule_tick(price_usd, PARAMS.spx) == expected


@given(st.lists(st.floats(-20.0, 20.0, allow_nan=False), min_size=1, max_size=30))
def test_vector_rule_is_the_scalar_rule(prices: list[float]) -> None:
    """The simulators' vectorised ticks equal the scalar rule price by price, both grids
    (the one rule the daemon prices on), thresholds included."""
    for rule in (PARAMS.spx, PARAMS.vix):
        got = rule_ticks(np.asarray([*prices, 3.0, -3.0]), rule).tolist()
        assert got == [rule_tick(p, rule) for p in [*prices, 3.0, -3.0]]
