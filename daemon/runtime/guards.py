"""The guards between a proposed adjustment and a sent order.

Each guard is a small pure check over a ``GuardContext`` the executor gathers once per
cycle (account, kill switch, what the journal and the broker already hold, the session's
times). The verdict names every guard that refused, so the journal says exactly why an
order was not sent. The order of the checks does not matter: all are evaluated.

What they protect against, in a trader's words:
- a live account traded by accident (paper only, unless the config allows live AND the
  environment names the live account: two independent switches);
- a runaway loop (orders per day, contracts per order, debit per day);
- the opening auction and the closing minutes (wide, jumpy quotes);
- a duplicate: the adjustment id is the order reference; it must be in neither the
  journal nor the broker's open orders, and no other order may be working on the same
  legs;
- a second hedge of a family whose last order still works (a spread on a neighbouring
  strike, say): the working order's payoff is not in the positions yet, so the cycle that
  proposed the new one counted without it. The family waits until that order ends;
- an order on data the cycle could not validate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class GuardCode(StrEnum):
    LIVE_ACCOUNT = "live_account"
    KILL_SWITCH = "kill_switch"
    UNVALIDATED_DATA = "unvalidated_data"
    QUIET_OPEN = "quiet_after_open"
    QUIET_CLOSE = "quiet_before_close"
    OUTSIDE_SESSION = "outside_session"
    MAX_ORDERS_PER_DAY = "max_orders_per_day"
    MAX_CONTRACTS_PER_ORDER = "max_contracts_per_order"
    MAX_DEBIT_PER_DAY = "max_debit_per_day"
    DUPLICATE = "duplicate"
    LEGS_BUSY = "legs_busy"
    FAMILY_BUSY = "family_busy"


@dataclass(frozen=True)
class GuardLimits:
    allow_live: bool
    max_orders_per_day: int
    max_contracts_per_order: int
    max_debit_per_day_usd: float
    quiet_after_open_min: float
    quiet_before_close_min: float


@dataclass(frozen=True)
class GuardContext:
    """What the guards look at, gathered once per cycle by the executor."""

    now: datetime
    session_open: datetime | None  # None: not a session day
    session_close: datetime | None
    account_id: str
    is_paper: bool
    live_confirmation: str | None  # the value of the confirming environment variable
    kill_switch_on: bool
    data_validated: bool
    journal_refs: frozenset[str]  # the cycle's adjustment ids the journal holds an order for
    broker_open_refs: frozenset[str]  # refs of orders working at the broker
    busy_leg_keys: frozenset[str]  # leg keys of orders still working
    busy_kinds: frozenset[str]  # hedge families (StructureKind values) of orders working
    orders_today: int
    debit_today_usd: float


@dataclass(frozen=True)
class OrderIntent:
    """The part of an adjustment the guards need."""

    ref: str
    quantity: int
    debit_usd: float  # what the order may cost at its limit (0 for a credit)
    leg_keys: tuple[str, ...]
    kind: str  # the hedge family (a StructureKind value)


@dataclass(frozen=True)
class Verdict:
    refused: tuple[tuple[GuardCode, str], ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return not self.refused


def account_guard(ctx: GuardContext, limits: GuardLimits) -> Iterable[tuple[GuardCode, str]]:
    if ctx.is_paper:
        return
    if not limits.allow_live:
        yield GuardCode.LIVE_ACCOUNT, "live account and execution.allow_live is false"
    elif ctx.live_confirmation != ctx.account_id:
        yield (
            GuardCode.LIVE_ACCOUNT,
            "live account: the confirming environment variable must equal the account id",
        )


def session_guard(ctx: GuardContext, limits: GuardLimits) -> Iterable[tuple[GuardCode, str]]:
    if ctx.session_open is None or ctx.session_close is None:
        yield GuardCode.OUTSIDE_SESSION, "not a session day"
        return
    if not ctx.session_open <= ctx.now <= ctx.session_close:
        yield GuardCode.OUTSIDE_SESSION, "outside the session"
        return
    if ctx.now < ctx.session_open + timedelta(minutes=limits.quiet_after_open_min):
        yield GuardCode.QUIET_OPEN, f"first {limits.quiet_after_open_min:g} min of the session"
    if ctx.now > ctx.session_close - timedelta(minutes=limits.quiet_before_close_min):
        yield GuardCode.QUIET_CLOSE, f"last {limits.quiet_before_close_min:g} min of the session"


def cap_guard(
    ctx: GuardContext, limits: GuardLimits, intent: OrderIntent
) -> Iterable[tuple[GuardCode, str]]:
    if ctx.orders_today + 1 > limits.max_orders_per_day:
        yield GuardCode.MAX_ORDERS_PER_DAY, f"{ctx.orders_today} orders already today"
    if intent.quantity > limits.max_contracts_per_order:
        yield (
            GuardCode.MAX_CONTRACTS_PER_ORDER,
            f"{intent.quantity} > {limits.max_contracts_per_order} contracts",
        )
    if ctx.debit_today_usd + intent.debit_usd > limits.max_debit_per_day_usd:
        yield (
            GuardCode.MAX_DEBIT_PER_DAY,
            f"{ctx.debit_today_usd:.0f} + {intent.debit_usd:.0f} USD"
            f" > {limits.max_debit_per_day_usd:.0f} USD",
        )


def duplicate_guard(ctx: GuardContext, intent: OrderIntent) -> Iterable[tuple[GuardCode, str]]:
    if intent.ref in ctx.journal_refs:
        yield GuardCode.DUPLICATE, "the journal already holds this adjustment's order"
    if intent.ref in ctx.broker_open_refs:
        yield GuardCode.DUPLICATE, "an order with this reference is working at the broker"
    busy = sorted(set(intent.leg_keys) & ctx.busy_leg_keys)
    if busy:
        yield GuardCode.LEGS_BUSY, f"another order is working on {', '.join(busy)}"
    if intent.kind in ctx.busy_kinds:
        yield (
            GuardCode.FAMILY_BUSY,
            f"an earlier {intent.kind} order still works; its cover is not in the positions yet",
        )


def check_order(ctx: GuardContext, limits: GuardLimits, intent: OrderIntent) -> Verdict:
    """Every guard, for one order. Empty ``refused`` means it may be sent."""
    refused: list[tuple[GuardCode, str]] = []
    if ctx.kill_switch_on:
        refused.append((GuardCode.KILL_SWITCH, "kill-switch file present"))
    if not ctx.data_validated:
        refused.append((GuardCode.UNVALIDATED_DATA, "the cycle's data did not validate"))
    refused.extend(account_guard(ctx, limits))
    refused.extend(session_guard(ctx, limits))
    refused.extend(cap_guard(ctx, limits, intent))
    refused.extend(duplicate_guard(ctx, intent))
    return Verdict(tuple(refused))
