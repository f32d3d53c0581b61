"""The matching engine: combo limit orders against the sim's quotes, and the positions.

Synchronous and free of asyncio: ``SimBroker`` calls it at placement and after every
market step, then hands the events it collected to the subscribers.

Matching (a combo is always bought at its limit; see ``daemon.core.broker``):
- natural = sum over legs of ratio x (ask for a BUY leg, -bid for a SELL leg), the price
  that takes every leg's quote; mid = the same sum over the legs' mids.
- An order is marketable when limit >= natural - ``price_improvement_frac`` x
  (natural - mid): combos trade inside the legs' spreads, and the knob says how far.
- On arrival during a session a marketable order fills at min(limit, natural); a resting
  order that becomes marketable after a market step fills at its limit (the market came
  to it). At most ``max_fill_per_step_contracts`` combo units fill per step, so a big
  order fills in parts over several simulated minutes.
- Orders placed while the market is closed rest until the open. ``tif_s`` cancels an
  order that long (market time) after it arrived. An order whose leg settles is cancelled.
- Settlement: at its settlement instant a position is removed and cash-settled at its
  intrinsic value on the source's settlement print (``SettlementValue``), recorded as a
  ``Settlement``.

Cash (``cash_usd``, from 0): every trade moves it by -quantity x price x multiplier and
every settlement by quantity x multiplier x intrinsic, so equity = the account's starting
equity + cash + the marks of the positions (nothing else creates or destroys money).

Positions follow IB's convention: signed quantity, ``avg_cost_usd`` per contract with the
multiplier. A fill's combo price is split over the legs as each leg's mid plus an equal
share of (fill - combo mid) per contract, so the legs add up to the fill exactly. Adding
to a position averages the cost; reducing keeps it; flipping starts from the fill price.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from daemon.brokers.sim.params import OrderParams
from daemon.core.broker import (
    ComboLeg,
    ComboOrder,
    Fill,
    OrderEvent,
    OrderState,
    OrderStatus,
)
from daemon.core.models import Action, Contract, Position, Right
from daemon.core.ticks import round_to_tick

# (bid, ask) in USD per share of each contract, at the given market time, without faults.
LegQuotes = Callable[[Sequence[Contract], datetime], list[tuple[float, float]]]
Resolve = Callable[[Contract], Contract | None]
# The underlying's settlement print of an expired contract (None: unknown, settles at 0).
SettlementValue = Callable[[Contract], float | None]


@dataclass(frozen=True)
class Settlement:
    """One position cash-settled at expiry: ``payoff_usd`` = quantity x multiplier x intrinsic."""

    contract: Contract
    quantity: int
    value_pts: float | None  # the settlement print; None when the source had none
    payoff_usd: float
    time: datetime
    avg_cost_usd: float = 0.0  # the position's average cost, as IB kept listing it


def intrinsic_usd(contract: Contract, value_pts: float) -> float:
    """An option's intrinsic value per share at an underlying level."""
    assert contract.strike is not None
    if contract.right is Right.CALL:
        return max(value_pts - contract.strike, 0.0)
    return max(contract.strike - value_pts, 0.0)


def record_received(path: str, order_id: int, order: ComboOrder, now: datetime) -> None:
    """Append the order to the broker-side record ``path`` (``SimParams.received_orders_path``)
    and sync it: written before the order is handled, it survives a kill -9 of the daemon
    the sim runs in, as a real gateway's record of orders received would."""
    line = {
        "pid": os.getpid(),
        "order_id": order_id,
        "order_ref": order.order_ref,
        "quantity": order.quantity,
        "legs": [f"{leg.action.value} {leg.ratio} {leg.contract.key}" for leg in order.legs],
        "received_at": now.isoformat(),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def validate(
    order: ComboOrder,
    resolve: Resolve,
    combo_tick: Callable[[str], float],
    checked_legs: tuple[ComboLeg, ...] | None = None,
) -> tuple[ComboOrder | None, str]:
    """The order with the sim's own contracts, or None and why it is invalid.
    ``checked_legs``: ``order``'s legs as ``check_legs`` returned them at this market time
    (a re-priced copy of an order has the same legs), so only the quantity and the limit
    are checked again; the answer is the one the full check gives."""
    if not isinstance(order.quantity, int) or order.quantity <= 0:
        return None, f"quantity must be a positive integer, got {order.quantity!r}"
    legs = checked_legs
    if legs is None:
        legs, reason = check_legs(order.legs, resolve)
        if legs is None:
            return None, reason
    tick = combo_tick(legs[0].contract.symbol)
    limit = order.limit_price_usd
    if not math.isfinite(limit) or abs(round_to_tick(limit, tick) - limit) > 1e-9:
        return None, f"limit {limit} is not on the combo tick grid of {tick}"
    return replace(order, legs=legs), ""


def check_legs(
    legs: Sequence[ComboLeg], resolve: Resolve
) -> tuple[tuple[ComboLeg, ...] | None, str]:
    """The legs with the sim's own contracts (one underlying, no contract twice), or None
    and why they are invalid."""
    if not legs:
        return None, "a combo needs at least one leg"
    known_legs: list[ComboLeg] = []
    for leg in legs:
        if not isinstance(leg.ratio, int) or leg.ratio <= 0:
            return None, f"leg ratio must be a positive integer, got {leg.ratio!r}"
        known = resolve(leg.contract)
        if known is None or not known.is_option:
            return None, f"unknown or expired contract {leg.contract.key}"
        known_legs.append(replace(leg, contract=known))
    if len({leg.contract for leg in known_legs}) != len(known_legs):
        return None, "the same contract appears in two legs"
    symbols = {leg.contract.symbol for leg in known_legs}
    if len(symbols) != 1:
        return None, f"legs on different underlyings {sorted(symbols)}"
    return tuple(known_legs), ""


def _sign(action: Action) -> int:
    return 1 if action is Action.BUY else -1


@dataclass
class _Working:
    order_id: int
    order: ComboOrder
    symbol: str
    arrived: datetime
    status: OrderStatus = OrderStatus.SUBMITTED
    filled_qty: int = 0
    fill_value_usd: float = 0.0  # sum of qty x price, for the average
    reason: str = ""

    def state(self) -> OrderState:
        avg = self.fill_value_usd / self.filled_qty if self.filled_qty else None
        return OrderState(
            order_id=self.order_id,
            order_ref=self.order.order_ref,
            status=self.status,
            filled_qty=self.filled_qty,
            remaining_qty=self.order.quantity - self.filled_qty,
            avg_fill_price_usd=avg,
            reason=self.reason,
        )


class OrderBook:
    """Working orders, positions, and the events produced since the last ``drain``."""

    def __init__(
        self,
        params: OrderParams,
        leg_quotes: LegQuotes,
        combo_tick: Callable[[str], float],
        settlement_value: SettlementValue = lambda _: None,
    ) -> None:
        self._p = params
        self._leg_quotes = leg_quotes
        self._combo_tick = combo_tick
        self._settlement_value = settlement_value
        self._orders: dict[int, _Working] = {}
        # The orders not yet terminal, in arrival order: what each market step matches.
        # Scanning every order ever sent made a step's cost grow with the run (a replay's
        # re-prices leave thousands of finished orders behind).
        self._live: dict[int, _Working] = {}
        self._events: list[OrderEvent] = []
        self.positions: dict[Contract, Position] = {}
        # Counts the changes to ``positions`` (a trade, a settlement): the broker sorts
        # them for ``positions()`` again only after one.
        self.positions_changes = 0
        self.cash_usd = 0.0
        self.settlements: list[Settlement] = []
        self._last_id = 0

    def next_order_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def knows(self, order_id: int) -> bool:
        return order_id in self._orders

    def drain(self) -> list[OrderEvent]:
        events, self._events = self._events, []
        return events

    def received(self) -> list[tuple[int, ComboOrder, datetime]]:
        """Every order this book was sent, rejected ones included, in arrival order: the
        broker-side record a test checks the daemon's journal against."""
        return [(w.order_id, w.order, w.arrived) for w in self._orders.values()]

    def open_orders(self) -> list[OrderState]:
        return [w.state() for w in self._live.values()]

    # ---- order lifecycle ------------------------------------------------------------------
    def reject(self, order_id: int, order: ComboOrder, reason: str, now: datetime) -> OrderState:
        work = _Working(order_id, order, "", now, OrderStatus.REJECTED, reason=reason)
        self._orders[order_id] = work
        return self._publish(work, now)

    def submit(
        self, order_id: int, order: ComboOrder, now: datetime, market_open: bool
    ) -> OrderState:
        """Accept a validated order; match it at once when the market is open."""
        work = _Working(order_id, order, order.legs[0].contract.symbol, now)
        self._orders[order_id] = work
        self._live[order_id] = work
        self._publish(work, now)
        if market_open:
            self._match(work, now, on_arrival=True)
        return work.state()

    def cancel(self, order_id: int, now: datetime, reason: str) -> OrderState:
        work = self._orders[order_id]
        if not work.status.is_terminal:
            work.status, work.reason = OrderStatus.CANCELLED, reason
            self._live.pop(order_id, None)
            self._publish(work, now)
        return work.state()

    def on_step(self, now: datetime, settled: Callable[[Contract], bool]) -> None:
        """After a market step: settle expired legs, expire orders, match the rest."""
        for contract in [c for c in self.positions if settled(c)]:
            self._settle(self.positions.pop(contract), now)
            self.positions_changes += 1
        for work in list(self._live.values()):
            if work.status.is_terminal:
                continue
            tif = work.order.tif_s
            if any(settled(leg.contract) for leg in work.order.legs):
                self.cancel(work.order_id, now, "a leg settled")
            elif tif is not None and now >= work.arrived.astimezone(UTC) + timedelta(seconds=tif):
                self.cancel(work.order_id, now, f"time in force of {tif:g} s elapsed")
            else:
                self._match(work, now, on_arrival=False)

    def _settle(self, position: Position, now: datetime) -> None:
        contract = position.contract
        value = self._settlement_value(contract) if contract.is_option else None
        per_share = intrinsic_usd(contract, value) if value is not None else 0.0
        payoff = position.quantity * contract.multiplier * per_share
        self.cash_usd += payoff
        self.settlements.append(
            Settlement(contract, position.quantity, value, payoff, now, position.avg_cost_usd)
        )

    # ---- matching -------------------------------------------------------------------------
    def _match(self, work: _Working, now: datetime, *, on_arrival: bool) -> None:
        legs = work.order.legs
        quotes = self._leg_quotes([leg.contract for leg in legs], now)
        natural = sum(
            _sign(leg.action) * leg.ratio * (ask if leg.action is Action.BUY else bid)
            for leg, (bid, ask) in zip(legs, quotes, strict=True)
        )
        mids = [0.5 * (bid + ask) for bid, ask in quotes]
        mid = sum(_sign(leg.action) * leg.ratio * m for leg, m in zip(legs, mids, strict=True))
        limit = work.order.limit_price_usd
        threshold = natural - self._p.price_improvement_frac * (natural - mid)
        if limit < threshold - 1e-9:
            return
        tick = self._combo_tick(work.symbol)
        price = round_to_tick(min(limit, natural) if on_arrival else limit, tick)
        remaining = work.order.quantity - work.filled_qty
        cap = self._p.max_fill_per_step_contracts
        qty = remaining if cap is None else min(remaining, cap)
        self._fill(work, qty, price, mids, mid, now)

    def _fill(
        self, work: _Working, qty: int, price: float, mids: list[float], mid: float, now: datetime
    ) -> None:
        legs = work.order.legs
        share = (price - mid) / sum(leg.ratio for leg in legs)
        for leg, leg_mid in zip(legs, mids, strict=True):
            sign = _sign(leg.action)
            self.apply_trade(leg.contract, sign * leg.ratio * qty, leg_mid + sign * share)
        work.filled_qty += qty
        work.fill_value_usd += qty * price
        done = work.filled_qty == work.order.quantity
        work.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        if done:
            self._live.pop(work.order_id, None)
        fill = Fill(work.order_id, work.order.order_ref, qty, price, now)
        self._publish(work, now, fill)

    def apply_trade(self, contract: Contract, qty: int, price_usd: float) -> None:
        """Move the position in ``contract`` by ``qty`` contracts traded at ``price_usd``."""
        cost = price_usd * contract.multiplier
        self.cash_usd -= qty * cost
        self.positions_changes += 1
        held = self.positions.get(contract)
        q0, a0 = (held.quantity, held.avg_cost_usd) if held else (0, 0.0)
        q1 = q0 + qty
        if q1 == 0:
            self.positions.pop(contract, None)
            return
        if q0 == 0 or (q0 > 0) == (qty > 0):
            avg = (abs(q0) * a0 + abs(qty) * cost) / abs(q1)
        elif (q0 > 0) == (q1 > 0):
            avg = a0  # reduced, same side: the cost of what is left is unchanged
        else:
            avg = cost  # flipped: what is left was opened at this price
        self.positions[contract] = Position(contract, q1, avg)

    def _publish(self, work: _Working, now: datetime, fill: Fill | None = None) -> OrderState:
        state = work.state()
        self._events.append(OrderEvent(state=state, time=now, fill=fill))
        return state
