"""The hedge policies a replay compares, each small enough to read in one go.

- ``none``: the condor book alone; nothing is bought.
- ``static``: each time the book sells a condor, ``static.credit_frac`` of its credit
  buys VIX call spreads: the first VIX expiry at least ``static.min_dte_days`` away, long
  the call nearest ``long_delta``, short the call nearest ``short_delta`` above it, as
  many spreads as the budget pays for at the order's limit price (never more); held to
  expiry.
- ``vxth``: the Cboe VXTH rule. On the first session and on each VIX expiry day, with
  VX1 the front VX future (the next to settle), buy one-month VIX calls (the next VIX
  expiry) at the strike nearest ``call_delta``, for a share of the account's equity:
  0 when VX1 <= ``low_pts``, ``mid_weight_frac`` up to ``high_pts``,
  ``high_weight_frac`` up to ``extreme_pts``, 0 above; held to expiry.
- ``alvh-flat``: the daemon with its scalar held at 1 (``scalar.min_value`` =
  ``max_value`` = 1): layers 1 and 3 without layer 2.
- ``alvh``: the daemon as configured.

The two daemon policies run the daemon's engine in submit mode, its guards included; the
three others are a trader's standing rules, sent by ``daemon.replay.trader``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from daemon.config import AppConfig
from daemon.core.calendar import vix_expiries
from daemon.core.candidates import LegSpec
from daemon.core.models import Action
from daemon.core.params import TickParams
from daemon.replay.chain import Strike, leg, nearest_delta
from daemon.replay.params import StaticParams, VxthParams
from daemon.replay.trader import Priced, price_combo

POLICIES = ("alvh", "alvh-flat", "static", "vxth", "none")
DAEMON_POLICIES = frozenset({"alvh", "alvh-flat"})


@dataclass(frozen=True)
class HedgeOrder:
    legs: tuple[LegSpec, ...]
    quantity: int
    priced: Priced
    budget_usd: float

    @property
    def spend_usd(self) -> float:
        """What the order costs at its limit (USD), commissions aside."""
        return self.quantity * self.priced.limit_usd * self.legs[0].contract.multiplier


def config_for(policy: str, config: AppConfig) -> AppConfig:
    """The configuration a policy runs the daemon with."""
    if policy == "alvh-flat":
        flat = config.scalar.model_copy(update={"min_value": 1.0, "max_value": 1.0})
        return config.model_copy(update={"scalar": flat})
    return config


def _affordable(
    legs: tuple[LegSpec, ...],
    strikes: Sequence[Strike],
    budget_usd: float,
    improvement_frac: float,
    ticks: TickParams,
) -> HedgeOrder | None:
    quotes = {s.contract.key: (s.bid, s.ask) for s in strikes}
    priced = price_combo(legs, quotes, improvement_frac, ticks)
    unit_usd = priced.limit_usd * legs[0].contract.multiplier
    if unit_usd <= 0:
        return None
    quantity = math.floor(budget_usd / unit_usd + 1e-9)
    return HedgeOrder(legs, quantity, priced, budget_usd) if quantity >= 1 else None


def static_order(
    calls: Sequence[Strike],
    params: StaticParams,
    credit_usd: float,
    improvement_frac: float,
    ticks: TickParams,
) -> HedgeOrder | None:
    """The VIX call spreads ``static`` buys for a condor sold at ``credit_usd``."""
    long_ = nearest_delta(list(calls), params.long_delta)
    if long_ is None:
        return None
    above = [c for c in calls if (c.contract.strike or 0.0) > (long_.contract.strike or 0.0)]
    short = nearest_delta(above, params.short_delta)
    if short is None:
        return None
    legs = (leg(long_, Action.BUY), leg(short, Action.SELL))
    return _affordable(legs, calls, params.credit_frac * credit_usd, improvement_frac, ticks)


def vxth_weight_frac(vx1_pts: float, params: VxthParams) -> float:
    """The share of the portfolio VXTH puts in VIX calls at front-future level ``vx1_pts``."""
    if vx1_pts <= params.low_pts or vx1_pts > params.extreme_pts:
        return 0.0
    return params.mid_weight_frac if vx1_pts <= params.high_pts else params.high_weight_frac


def vxth_order(
    calls: Sequence[Strike],
    params: VxthParams,
    vx1_pts: float,
    equity_usd: float,
    improvement_frac: float,
    ticks: TickParams,
) -> HedgeOrder | None:
    weight = vxth_weight_frac(vx1_pts, params)
    chosen = nearest_delta(list(calls), params.call_delta)
    if weight <= 0 or chosen is None:
        return None
    return _affordable(
        (leg(chosen, Action.BUY),), calls, weight * equity_usd, improvement_frac, ticks
    )


def first_vix_expiry_after(day: date, min_days: int) -> date | None:
    found = [d for d in vix_expiries(day, date(day.year + 2, 12, 31)) if (d - day).days >= min_days]
    return found[0] if found else None


def is_vix_expiry(day: date) -> bool:
    return day in vix_expiries(day, day)


def vx1_pts(futures: dict[date, float | None], now: datetime) -> float | None:
    """The front VX future: the first whose expiry is after today (today's has settled)."""
    today = now.date()
    for expiry in sorted(futures):
        value = futures[expiry]
        if expiry > today and value is not None:
            return value
    return None
