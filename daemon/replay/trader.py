"""The replay's own orders (the book rule's and the comparison policies'), journalled
like the daemon's: intent first, then the broker's state and the fill.

These are a trader's standing rules, not the daemon's proposals, so they do not pass the
daemon's guards (a VXTH purchase of 1% of a large account is above the daemon's debit
cap by design). Each is a combo limit order priced to fill on arrival: the natural price
improved ``improvement_frac`` of the way to the mid, rounded up to the combo tick (the
rule the simulated broker matches by). What is not filled at once is cancelled: a rule
that trades at the close does not leave orders working overnight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from daemon.core.broker import Broker, ComboLeg, ComboOrder
from daemon.core.calendar import NY
from daemon.core.candidates import LegSpec
from daemon.core.models import Action
from daemon.core.params import TickParams
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick
from daemon.errors import OrderRejected
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_port import JournalOrderStatus
from daemon.runtime.order_codec import order_to_json

log = structlog.get_logger("alvh.replay")


@dataclass(frozen=True)
class Priced:
    """A combo's prices per share, pay convention (> 0 debit, < 0 credit)."""

    mid_usd: float
    natural_usd: float
    limit_usd: float


def price_combo(
    legs: Sequence[LegSpec],
    quotes: Mapping[str, tuple[float, float]],
    improvement_frac: float,
    ticks: TickParams,
) -> Priced:
    natural = mid = 0.0
    for spec in legs:
        bid, ask = quotes[spec.contract.key]
        sign = 1 if spec.action is Action.BUY else -1
        natural += sign * spec.ratio * (ask if spec.action is Action.BUY else bid)
        mid += sign * spec.ratio * 0.5 * (bid + ask)
    tick = combo_tick(legs[0].contract.symbol, ticks)
    wanted = natural - improvement_frac * (natural - mid)
    limit = min(
        round_to_tick(wanted, tick, RoundMode.UP), round_to_tick(natural, tick, RoundMode.UP)
    )
    return Priced(mid, natural, limit)


class Trader:
    def __init__(self, broker: Broker, journal: SqliteJournal, ticks: TickParams) -> None:
        self._broker = broker
        self._journal = journal
        self._ticks = ticks

    async def trade(
        self,
        legs: Sequence[LegSpec],
        quantity: int,
        priced: Priced,
        order_ref: str,
        cycle_id: str,
        now: datetime,
    ) -> tuple[int, float | None]:
        """Send, journal, and return (units filled, average price per share)."""
        order = ComboOrder(
            legs=tuple(ComboLeg(s.contract, s.ratio, s.action) for s in legs),
            quantity=quantity,
            limit_price_usd=priced.limit_usd,
            order_ref=order_ref,
        )
        multiplier = legs[0].contract.multiplier
        self._journal.record_order_intent(
            order_ref,
            cycle_id=cycle_id,
            trading_day=now.astimezone(NY).date(),
            now=now,
            quantity=quantity,
            limit_usd=priced.limit_usd,
            debit_usd=max(priced.limit_usd, 0.0) * multiplier * quantity,
            leg_keys=tuple(s.contract.key for s in legs),
            order=order_to_json(order, priced.natural_usd),
        )
        try:
            state = await self._broker.place_combo(order)
        except OrderRejected as exc:
            self._journal.record_order_state(
                order_ref, now=now, status=JournalOrderStatus.REJECTED, reason=str(exc)
            )
            log.warning("replay_order_rejected", order_ref=order_ref, reason=str(exc))
            return 0, None
        if state.filled_qty > 0 and state.avg_fill_price_usd is not None:
            self._journal.record_fill(
                order_ref,
                order_id=str(state.order_id),
                quantity=state.filled_qty,
                price_usd=state.avg_fill_price_usd,
                at=now,
            )
        status = JournalOrderStatus.of(state.status)
        if not state.status.is_terminal:
            await self._broker.cancel(state.order_id)
            status = JournalOrderStatus.CANCELLED
        self._journal.record_order_state(
            order_ref,
            now=now,
            status=status,
            order_id=str(state.order_id),
            filled_qty=state.filled_qty,
            avg_fill_usd=state.avg_fill_price_usd,
        )
        return state.filled_qty, state.avg_fill_price_usd
