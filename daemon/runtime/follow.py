"""Following sent orders to their end: fills, TTL, re-pricing, cancel; and recovery.

One task per working order reads the broker's order events (see ``daemon.core.broker``
for the stream's contract) and journals every change. Re-pricing is cancel + re-place of
the remaining quantity under the same reference, ``reprice_step_ticks`` toward the natural
price and never past it. On shutdown the tasks stop and the orders are left working at
the broker, as a trader who stops the daemon expects; each is logged by reference.

At start-up and before each cycle's sends, ``reconcile`` compares the journal's open
orders that no task follows with the broker's: one still working is followed again, one
the broker no longer lists ended unseen (filled or cancelled while the daemon was down
or had lost track of it; the next cycle's positions say which) and is closed in the
journal as ``ENDED_UNSEEN``. A working order the broker reports as placed under another
client id (``owned=False``: an earlier run's, after IB's 326 moved this one to another
id) streams nothing here and cannot be cancelled from here: it is watched by polling
``open_orders()`` every ``foreign_order_poll_s`` until it ends, and stays open in the
journal meanwhile, so the guards keep counting its legs and its family.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from daemon.config import ExecutionParams
from daemon.core.broker import (
    Broker,
    ComboOrder,
    OrderEvent,
    OrderEventStream,
    OrderState,
    OrderStatus,
)
from daemon.core.params import TickParams
from daemon.core.ticks import RoundMode, combo_tick, round_to_tick
from daemon.errors import BrokerDisconnected, BrokerError, BrokerTimeout, OrderRejected
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.clock import real_seconds_until
from daemon.runtime.journal_port import Journal, JournalOrderStatus, JournalWriteFailed
from daemon.runtime.notify import NotifyEvent
from daemon.runtime.notify.lines import order_line, price
from daemon.runtime.order_codec import order_from_json
from daemon.runtime.triggers import MarketClock

log = structlog.get_logger("alvh.execution")


def next_limit(
    order: ComboOrder, natural_usd: float, step_ticks: int, ticks: TickParams
) -> float | None:
    """The re-priced limit: ``step_ticks`` combo ticks higher (a combo is always bought,
    so higher is more aggressive for a debit and a credit alike), capped at the natural
    price rounded up to the grid; None when the limit is already there. An order without
    legs is a programming error, never re-priced on an assumed symbol's grid."""
    if not order.legs:
        raise ValueError(f"order {order.order_ref} has no legs: no tick grid to re-price on")
    symbol = order.legs[0].contract.symbol
    tick = combo_tick(symbol, ticks)
    ceiling = round_to_tick(natural_usd, tick, RoundMode.UP)
    if order.limit_price_usd >= ceiling - 1e-9:
        return None
    return min(
        round_to_tick(order.limit_price_usd + step_ticks * tick, tick, RoundMode.UP), ceiling
    )


@dataclass
class _Progress:
    """Fills across the successive orders of one reference."""

    filled_before: int = 0
    cost_before_usd: float = 0.0  # sum of qty x avg price of the replaced orders

    def totals(self, state: OrderState) -> tuple[int, float | None]:
        filled = self.filled_before + state.filled_qty
        cost = self.cost_before_usd + state.filled_qty * (state.avg_fill_price_usd or 0.0)
        return filled, (cost / filled if filled else None)


class OrderFollower:
    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        params: ExecutionParams,
        ticks: TickParams,
        clock: MarketClock,
        alerts: DecisionAlerts,
    ) -> None:
        self._broker = broker
        self._alerts = alerts
        self._orders: dict[str, ComboOrder] = {}  # by reference: the legs an alert names
        self._journal = journal
        self._params = params
        self._ticks = ticks
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def following(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    def follow(
        self,
        order: ComboOrder,
        state: OrderState,
        stream: OrderEventStream,
        natural_usd: float,
    ) -> None:
        ref = order.order_ref
        self._orders[ref] = order
        task = asyncio.create_task(
            self._run(order, state, stream, natural_usd), name=f"follow-{ref}"
        )
        self._tasks[ref] = task
        task.add_done_callback(lambda t: self._ended(ref, t))

    def _ended(self, ref: str, task: asyncio.Task[None]) -> None:
        """Every follower task ends here, the failed ones loudly (``_failed``): ``wait``
        and ``stop`` gather with ``return_exceptions`` and would swallow the error."""
        try:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                self._failed(ref, error)
        finally:
            self._forget(ref)

    def _forget(self, ref: str) -> None:
        self._tasks.pop(ref, None)
        self._orders.pop(ref, None)

    def _failed(self, ref: str, error: BaseException) -> None:
        """A follower that died of an error nobody expected (a bug: the broker's and the
        journal's own failures are handled in ``_run``) stopped watching a live order.
        Logged with its traceback; the order, if the journal still holds it open, is
        journalled ``UNKNOWN`` and alerted as of unknown fate: the next ``reconcile``
        follows it again if the broker still works it, or closes it ``ENDED_UNSEEN``."""
        why = f"order follower failed: {type(error).__name__}: {error}"
        log.error("order_follow_failed", order_ref=ref, error=why, exc_info=error)
        try:
            if ref not in {r["order_ref"] for r in self._journal.open_orders()}:
                return  # its end is in the journal already
            self._journal.record_order_state(
                ref, now=self._clock.now(), status=JournalOrderStatus.UNKNOWN, reason=why
            )
        except Exception as exc:  # the journal's failure is logged; reconcile looks again
            log.error("order_state_not_journalled", order_ref=ref, reason=str(exc))
        order = self._orders.get(ref)
        self._alerts.publish(
            NotifyEvent.ORDER_FATE_UNKNOWN,
            f"FATE UNKNOWN {order_line('order', order.legs, order.quantity) if order else ref}"
            f": {why}",
            self._clock.now(),
            "error",
            order_ref=ref,
            reason=why,
        )

    async def wait(self) -> None:
        """Wait until every followed order has ended (tests, and the end of a session)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        for ref, task in list(self._tasks.items()):
            task.cancel()
            log.info("order_left_working", order_ref=ref)
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def reconcile(self) -> None:
        """Settle every journal order that may be live but that no task follows: at start
        (the previous run's), and before each cycle's sends (a placement whose reply was
        lost to a timeout or a disconnect, journalled UNKNOWN)."""
        open_rows = [r for r in self._journal.open_orders() if r["order_ref"] not in self._tasks]
        if not open_rows:
            return
        working = {s.order_ref: s for s in await self._broker.open_orders()}
        for row in open_rows:
            ref = row["order_ref"]
            state = working.get(ref)
            if state is None:
                self._ended_unseen(ref, "not working at the broker, and its end was not seen")
                continue
            if not state.owned:
                self._watch(ref, state)
                continue
            saved = json.loads(row["order_json"])
            order = order_from_json(saved, state)
            natural = float(saved["natural_usd"])
            log.info("order_recovered", order_ref=ref, order_id=state.order_id)
            self.follow(order, state, self._broker.order_events(), natural)

    def _ended_unseen(self, ref: str, reason: str) -> None:
        try:
            self._journal.record_order_state(
                ref, now=self._clock.now(), status=JournalOrderStatus.ENDED_UNSEEN, reason=reason
            )
        except JournalWriteFailed as exc:  # still open in the journal: settled next time
            log.error("order_state_not_journalled", order_ref=ref, reason=str(exc))
            return
        log.warning("order_reconciled", order_ref=ref, status=JournalOrderStatus.ENDED_UNSEEN)

    def _watch(self, ref: str, state: OrderState) -> None:
        task = asyncio.create_task(self._watch_foreign(ref, state), name=f"watch-{ref}")
        self._tasks[ref] = task
        task.add_done_callback(lambda t: self._ended(ref, t))

    async def _watch_foreign(self, ref: str, state: OrderState) -> None:
        """Poll another client's order until the broker no longer lists it (or lists it as
        ours again, when this session got the original client id back: the next
        reconcile then follows it by its events)."""
        log.info("order_watched", order_ref=ref, order_id=state.order_id)
        try:
            while True:
                await asyncio.sleep(self._params.foreign_order_poll_s)
                working = {s.order_ref: s for s in await self._broker.open_orders()}
                seen = working.get(ref)
                if seen is None:
                    self._ended_unseen(
                        ref,
                        "placed under another client id; it left the broker's open orders "
                        "(filled or expired: the positions tell)",
                    )
                    return
                if (seen.status, seen.filled_qty) != (state.status, state.filled_qty):
                    self._journal.record_order_state(
                        ref,
                        now=self._clock.now(),
                        status=JournalOrderStatus.of(seen.status),
                        filled_qty=seen.filled_qty,
                        avg_fill_usd=seen.avg_fill_price_usd,
                    )
                state = seen
                if state.owned:
                    return
        except (BrokerError, JournalWriteFailed) as exc:  # the next reconcile looks again
            log.error("order_follow_lost", order_ref=ref, reason=str(exc))

    # ---- one order ---------------------------------------------------------------------
    async def _run(
        self, order: ComboOrder, state: OrderState, stream: OrderEventStream, natural_usd: float
    ) -> None:
        progress = _Progress()
        reprices = 0
        try:
            state = await self._catch_up(stream, state, progress)
            while not state.status.is_terminal:
                deadline = self._clock.now() + timedelta(seconds=self._params.order_ttl_s)
                state = await self._until_end_or(deadline, stream, state, progress)
                if state.status.is_terminal:
                    return
                if not self._journal.writable:
                    # A re-priced order's state could not be written: leave this one
                    # working at its limit; reconcile follows it again once writes work.
                    log.error("order_reprice_paused", order_ref=order.order_ref)
                    return
                state = await self._cancel(stream, state, progress)
                if not state.status.is_terminal:
                    # No confirmation: a re-priced copy could double the order. Leave it
                    # to the broker and the next start's reconciliation.
                    log.error(
                        "order_cancel_unconfirmed",
                        order_ref=order.order_ref,
                        order_id=state.order_id,
                        waited_s=self._params.cancel_confirm_s,
                    )
                    return
                if state.status is OrderStatus.FILLED or state.remaining_qty <= 0:
                    return
                limit = next_limit(order, natural_usd, self._params.reprice_step_ticks, self._ticks)
                if reprices >= self._params.max_reprices or limit is None:
                    log.info("order_expired", order_ref=order.order_ref, reprices=reprices)
                    return
                progress.filled_before, cost = progress.totals(state)
                progress.cost_before_usd = (cost or 0.0) * progress.filled_before
                order = replace(order, quantity=state.remaining_qty, limit_price_usd=limit)
                reprices += 1
                state = await self._place_repriced(order, reprices)
                state = await self._catch_up(stream, state, progress)
        except OrderRejected as exc:
            with contextlib.suppress(JournalWriteFailed):  # logged by the journal
                self._journal.record_order_state(
                    order.order_ref,
                    now=self._clock.now(),
                    status=JournalOrderStatus.REJECTED,
                    reason=str(exc),
                )
            self._alerts.publish(
                NotifyEvent.ORDER_REJECTED,
                order_line("REJECTED", order.legs, order.quantity, str(exc)),
                self._clock.now(),
                "warning",
                order_ref=order.order_ref,
                reason=str(exc),
            )
        except (BrokerDisconnected, BrokerTimeout, BrokerError) as exc:
            # Its fate is for the broker to tell: reconcile settles it at the next start.
            log.error("order_follow_lost", order_ref=order.order_ref, reason=str(exc))
        except JournalWriteFailed as exc:
            # Its changes cannot be written (disk full): stop following, leave it working
            # at the broker; it is open in the journal, so the first reconcile after the
            # journal writes again follows it (or settles it) from the broker's state.
            log.error("order_follow_paused", order_ref=order.order_ref, reason=str(exc))
        finally:
            stream.close()

    async def _place_repriced(self, order: ComboOrder, reprice: int) -> OrderState:
        # The cancelled order's row is terminal: an open state goes first, as the intent
        # does for a first send, so a re-placed order is never live without an open row
        # (a failed write raises here, before anything is sent).
        self._journal.record_order_state(
            order.order_ref,
            now=self._clock.now(),
            status=JournalOrderStatus.REPRICING,
            limit_usd=order.limit_price_usd,
        )
        state = await self._broker.place_combo(order)
        self._journal.record_order_state(
            order.order_ref,
            now=self._clock.now(),
            status=JournalOrderStatus.of(state.status),
            order_id=str(state.order_id),
            limit_usd=order.limit_price_usd,
        )
        log.info(
            "order_repriced",
            order_ref=order.order_ref,
            limit_usd=order.limit_price_usd,
            reprice=reprice,
        )
        return state

    async def _catch_up(
        self, stream: OrderEventStream, state: OrderState, progress: _Progress
    ) -> OrderState:
        """An order that ended as it was placed (filled on arrival) still has its events,
        fills included, in the stream or on their way: journal them, so a fill is never
        lost because it came back with the placement."""
        if not state.status.is_terminal:
            return state
        ended = await self._read_to_end(stream, state.order_id, progress)
        return state if ended is None else ended

    async def _until_end_or(
        self, deadline: datetime, stream: OrderEventStream, state: OrderState, progress: _Progress
    ) -> OrderState:
        """Journal this order's events until it ends or the market clock reaches deadline."""
        while not state.status.is_terminal:
            timeout = real_seconds_until(self._clock, deadline)
            if timeout <= 0:
                return state
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # lands as an event arrives, and stop() would then wait on this task forever.
            try:
                async with asyncio.timeout(timeout):
                    event = await stream.__anext__()
            except (TimeoutError, StopAsyncIteration):
                return state
            if event.state.order_id == state.order_id:
                state = event.state
                self._record(event, progress)
        return state

    async def _cancel(
        self, stream: OrderEventStream, state: OrderState, progress: _Progress
    ) -> OrderState:
        await self._broker.cancel(state.order_id)
        ended = await self._read_to_end(stream, state.order_id, progress)
        return state if ended is None else ended

    async def _read_to_end(
        self, stream: OrderEventStream, order_id: int, progress: _Progress
    ) -> OrderState | None:
        """Journal order ``order_id``'s events until a terminal one (within
        ``execution.cancel_confirm_s``); the last state seen, None when none came."""
        last: OrderState | None = None
        with contextlib.suppress(TimeoutError, StopAsyncIteration):
            async with asyncio.timeout(self._params.cancel_confirm_s):
                while last is None or not last.status.is_terminal:
                    event = await stream.__anext__()
                    if event.state.order_id == order_id:
                        last = event.state
                        self._record(event, progress)
        return last

    def _record(self, event: OrderEvent, progress: _Progress) -> None:
        state = event.state
        filled, avg = progress.totals(state)
        if event.fill is not None:
            fill = event.fill
            self._journal.record_fill(
                state.order_ref,
                order_id=str(fill.order_id),
                quantity=fill.qty,
                price_usd=fill.price_usd,
                at=fill.time,
            )
            log.info(
                "order_fill",
                order_ref=state.order_ref,
                qty=fill.qty,
                price_usd=fill.price_usd,
                filled=filled,
            )
        self._journal.record_order_state(
            state.order_ref,
            now=event.time,
            status=JournalOrderStatus.of(state.status),
            order_id=str(state.order_id),
            filled_qty=filled,
            avg_fill_usd=avg,
            reason=state.reason or None,
        )
        if state.status is OrderStatus.FILLED:
            self._filled(state.order_ref, filled, avg, event.time)

    def _filled(self, ref: str, filled: int, avg: float | None, at: datetime) -> None:
        """The order's one ``order_filled`` alert (a broker may repeat the final state)."""
        order = self._orders.pop(ref, None)
        if order is None:
            return
        detail = "" if avg is None else f"avg {price(avg)}"
        self._alerts.publish(
            NotifyEvent.ORDER_FILLED,
            order_line("FILLED", order.legs, filled, detail),
            at,
            order_ref=ref,
            filled=filled,
            avg_fill_usd=avg,
        )
