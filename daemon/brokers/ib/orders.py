"""Orders at IB: placing combos, cancelling, and the stream of their events.

A multi-leg combo goes as one BAG order, bought at the combo's limit (IB's sign
convention is the port's: positive = debit); a single leg goes as a plain order
(``mapping.order_plan``). The library reports changes on ``orderStatusEvent`` and
executions on ``execDetailsEvent``; each becomes an ``OrderEvent`` carrying the order's
whole state, published to every open stream. IB reports a BAG's executions per leg and
once for the combo: only the combo's (secType BAG) is a ``Fill``. Executions and status
messages arrive in either order, so the state counts the fills seen as well as IB's
``filled``: a fill event never carries a state that lags its own fill.

Open orders are asked with ``reqAllOpenOrders`` (every API client's, not only this one's:
``reqOpenOrders`` would hide the orders an earlier run placed under a client id it had to
leave on error 326), kept to the configured account and to order references that are
ALVH adjustment ids. Order ids are per client id, so orders are keyed by (client id,
order id); another client's order is reported ``owned=False``: IB sends this session none
of its later changes and refuses to cancel it from here, and it ends at IB by its own
time in force (GTD).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from daemon.brokers.events import EventHub, EventStream
from daemon.brokers.ib.contracts import ContractResolver
from daemon.brokers.ib.mapping import (
    COMBO_EXCHANGE,
    CURRENCY,
    OrderPlan,
    good_till,
    order_plan,
    order_status,
)
from daemon.brokers.ib.session import IbSession
from daemon.core.adjustment import is_adjustment_id
from daemon.core.broker import ComboOrder, Fill, OrderEvent, OrderState, OrderStatus
from daemon.core.models import Action
from daemon.errors import BrokerDisconnected, OrderRejected


def _known_plan(trade: Any) -> OrderPlan:
    """The plan of an order this adapter did not place in this process (found on
    reconnect): a BAG maps 1:1, a plain order's units are contracts."""
    order = trade.order
    if trade.contract.secType == "BAG":
        return OrderPlan(True, trade.contract.symbol, Action.BUY, 0, order.lmtPrice)
    sign = 1 if order.action == "BUY" else -1
    return OrderPlan(False, trade.contract.symbol, Action(order.action), 0, order.lmtPrice, 1, sign)


def _key(trade: Any) -> tuple[int, int]:
    return int(trade.order.clientId), int(trade.order.orderId)


class OrderDesk:
    """The order half of the port."""

    def __init__(self, session: IbSession, resolver: ContractResolver) -> None:
        self._s = session
        self._resolver = resolver
        self._hub = EventHub()
        self._plans: dict[tuple[int, int], OrderPlan] = {}  # (client id, order id)
        self._last: dict[int, OrderState] = {}
        self._acks: dict[int, asyncio.Event] = {}
        session.ib.orderStatusEvent += self._on_status
        session.ib.execDetailsEvent += self._on_execution

    # ---- translating the library's trades ---------------------------------------------------
    def _plan(self, trade: Any) -> OrderPlan:
        return self._plans.get(_key(trade)) or _known_plan(trade)

    def _owned(self, trade: Any) -> bool:
        return int(trade.order.clientId) == self._s.client_id

    def _combo_fills(self, trade: Any, plan: OrderPlan) -> list[Any]:
        return [f for f in trade.fills if not plan.bag or f.contract.secType == "BAG"]

    def state_of(self, trade: Any) -> OrderState | None:
        """The order's state now; None while the library notes a warning (no change)."""
        plan, st, order = self._plan(trade), trade.orderStatus, trade.order
        fills = self._combo_fills(trade, plan)
        fills_qty = sum(f.execution.shares for f in fills)
        filled_ib = max(st.filled, fills_qty)
        avg_ib: float | None = None
        if st.filled > 0 and math.isfinite(st.avgFillPrice) and st.avgFillPrice != 0:
            avg_ib = st.avgFillPrice
        elif fills_qty > 0:
            avg_ib = sum(f.execution.shares * f.execution.price for f in fills) / fills_qty
        filled = plan.combo_qty(filled_ib)
        remaining = plan.combo_qty(max(order.totalQuantity - filled_ib, 0))
        last = trade.log[-1] if trade.log else None
        code = last.errorCode if last is not None else 0
        status = order_status(st.status, filled, remaining, code)
        if status is None:
            return None
        terminal_why = status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) and code
        return OrderState(
            order_id=order.orderId,
            order_ref=order.orderRef,
            status=status,
            filled_qty=filled,
            remaining_qty=remaining,
            avg_fill_price_usd=None if avg_ib is None or filled == 0 else plan.combo_price(avg_ib),
            reason=last.message if terminal_why and last is not None else "",
            owned=self._owned(trade),
        )

    def _publish(self, trade: Any, fill: Fill | None = None) -> None:
        state = self.state_of(trade)
        if state is None or not state.owned:
            return  # another client's order (seen through reqAllOpenOrders) is polled
        if fill is None and self._last.get(state.order_id) == state:
            return  # the library re-announces unchanged states (PendingCancel, openOrder)
        self._last[state.order_id] = state
        self._hub.publish([OrderEvent(state=state, time=self._s.clock(), fill=fill)])
        ack = self._acks.get(state.order_id)
        if ack is not None and state.status is not OrderStatus.PENDING_SUBMIT:
            ack.set()

    def _on_status(self, trade: Any) -> None:
        self._publish(trade)

    def _on_execution(self, trade: Any, fill: Any) -> None:
        plan = self._plan(trade)
        if plan.bag and fill.contract.secType != "BAG":
            return  # a leg's execution; the combo's own follows
        ex = fill.execution
        self._publish(
            trade,
            Fill(
                order_id=trade.order.orderId,
                order_ref=trade.order.orderRef,
                qty=plan.combo_qty(ex.shares),
                price_usd=plan.combo_price(ex.price),
                time=ex.time or self._s.clock(),
            ),
        )

    # ---- the port's calls -----------------------------------------------------------------
    def events(self) -> EventStream:
        return self._hub.open()

    def close_streams(self) -> None:
        self._hub.close_all()

    async def _ib_order(self, order: ComboOrder) -> tuple[Any, Any, OrderPlan]:
        """The library contract and order for ``order``; ``OrderRejected`` when IB could
        not take it (a leg it does not list, legs on different underlyings)."""
        try:
            plan = order_plan(order)
        except ValueError as exc:
            raise OrderRejected(f"{order.order_ref}: {exc}") from None
        legs = await self._resolver.resolve([leg.contract for leg in order.legs])
        missing = [leg.contract.key for leg, c in zip(order.legs, legs, strict=True) if c is None]
        if missing:
            raise OrderRejected(f"{order.order_ref}: IB lists no {', '.join(missing)}")
        found = [c for c in legs if c is not None]
        lib = self._s.lib
        contract = found[0]
        if plan.bag:
            combo_legs = [
                lib.ComboLeg(
                    conId=c.conId, ratio=leg.ratio, action=leg.action.value, exchange=COMBO_EXCHANGE
                )
                for leg, c in zip(order.legs, found, strict=True)
            ]
            contract = lib.new_contract(
                symbol=plan.symbol,
                secType="BAG",
                exchange=COMBO_EXCHANGE,
                currency=CURRENCY,
                comboLegs=combo_legs,
            )
        tif = {"tif": "DAY"}
        if order.tif_s is not None:
            tif = {"tif": "GTD", "goodTillDate": good_till(self._s.clock(), order.tif_s)}
        ib_order = lib.LimitOrder(
            plan.action.value,
            plan.quantity,
            plan.limit_price,
            orderRef=order.order_ref,
            account=self._s.account_id(),
            transmit=True,
            **tif,
        )
        return contract, ib_order, plan

    async def place(self, order: ComboOrder) -> OrderState:
        contract, ib_order, plan = await self._ib_order(order)
        self._s.check()
        try:
            trade = self._s.ib.placeOrder(contract, ib_order)
        except ConnectionError as exc:
            raise BrokerDisconnected(f"placing {order.order_ref}: {exc}") from exc
        order_id = trade.order.orderId
        self._plans[(self._s.client_id, order_id)] = plan
        ack = self._acks[order_id] = asyncio.Event()
        what = (
            f"acknowledgement of order {order_id} ({order.order_ref}; it was sent: look for it "
            "in open_orders() before sending it again)"
        )
        try:
            await self._s.call(what, ack.wait)
        finally:
            del self._acks[order_id]
        state = self.state_of(trade) or self._last[order_id]
        if state.status is OrderStatus.REJECTED:
            raise OrderRejected(f"order {order_id} ({order.order_ref}) rejected: {state.reason}")
        return state

    async def open_orders(self) -> list[OrderState]:
        account = self._s.account_id()
        async with self._s.lock("openOrders"):
            trades = await self._s.call("open orders", self._s.ib.reqAllOpenOrdersAsync)
        ours = [
            t
            for t in trades or []
            if t.order.account == account and is_adjustment_id(t.order.orderRef or "")
        ]
        states = [self.state_of(t) for t in ours]
        return [s for s in states if s is not None and not s.status.is_terminal]

    async def cancel(self, order_id: int) -> None:
        self._s.check()
        # Only this client's: order ids are per client id, and another client's order with
        # the same id is not ours to cancel (IB would refuse it: 10147).
        mine = (t for t in self._s.ib.trades() if self._owned(t))
        trade = next((t for t in mine if t.order.orderId == order_id), None)
        if trade is None:
            raise OrderRejected(f"cancel: no order with id {order_id} in this IB session")
        if trade.isDone():
            return
        try:
            self._s.ib.cancelOrder(trade.order)
        except ConnectionError as exc:
            raise BrokerDisconnected(f"cancelling order {order_id}: {exc}") from exc
