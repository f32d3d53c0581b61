"""An order or adjustment without legs is a programming error and is refused loudly, not
priced on an assumed multiplier (100) or re-priced on an assumed symbol's grid (SPX)."""

from __future__ import annotations

import math

import pytest

from daemon.core.adjustment import AdjustmentAction
from daemon.core.broker import ComboLeg, ComboOrder
from daemon.core.models import Action
from daemon.core.params import TickParams
from daemon.runtime.follow import next_limit
from daemon.runtime.submit import _debit_usd
from tests.core.factories import vix_option
from tests.runtime.alert_factories import JAN, VIX_OPEN, adjustment

TICKS = TickParams()


def _vix_combo(legs: bool) -> ComboOrder:
    spread = (
        ComboLeg(vix_option(22, expiry=JAN), 1, Action.BUY),
        ComboLeg(vix_option(31, expiry=JAN), 1, Action.SELL),
    )
    return ComboOrder(spread if legs else (), 5, 0.50, "ref-vix")


def test_a_vix_combo_reprices_on_the_vix_grid() -> None:
    """The symbol comes from the legs: one step from 0.50 toward a 0.60 natural is 0.51 on
    VIX's 0.01 combo grid (SPX's 0.05 grid would give 0.55)."""
    limit = next_limit(_vix_combo(legs=True), 0.60, 1, TICKS)
    assert limit is not None and math.isclose(limit, 0.51)


def test_a_legless_order_is_not_repriced() -> None:
    """No legs, no grid: ``next_limit`` raises naming the order's reference."""
    with pytest.raises(ValueError, match="ref-vix has no legs"):
        next_limit(_vix_combo(legs=False), 0.60, 1, TICKS)


def test_the_debit_at_the_limit_uses_the_legs_multiplier() -> None:
    """15 VIX spreads at 0.48 a share cost 0.48 x 100 x 15 = 720 USD at their limit."""
    adj = adjustment(AdjustmentAction.OPEN, 15, VIX_OPEN, 0.48, 0.47, "cover", 1.5)
    assert math.isclose(_debit_usd(adj), 720.0)


def test_a_legless_adjustment_has_no_debit() -> None:
    """No legs, no multiplier: the guard's debit raises naming the adjustment."""
    adj = adjustment(AdjustmentAction.OPEN, 15, (), 0.48, 0.47, "cover", 1.5, adj_id="a-1")
    with pytest.raises(ValueError, match="a-1 has no legs"):
        _debit_usd(adj)
