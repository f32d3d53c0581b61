"""Submit mode: adjustments become combo orders, behind the guards, followed to the end.

Per adjustment, in this order:
1. the guards (``daemon.runtime.guards``) over a context gathered once per cycle;
2. the intent is journalled (the adjustment id is the order reference);
3. the order is placed, its state journalled;
4. a follower task reads the broker's order events until the order is filled, cancelled
   or rejected; when ``order_ttl_s`` passes unfilled it is repriced ``reprice_step_ticks``
   toward the natural price (never past it), at most ``max_reprices`` times, by cancel and
   re-place of the remaining quantity under the same reference; then cancelled.

A journal that cannot be written (disk full) stops submission: no intent, no order; the
cycle's adjustments are logged and alerted as refused (``journal_unwritable``) until a
write goes through again. An order placed just before the journal failed keeps its
durable intent row, and reconciliation picks it up then.

A placement that fails with a lost connection or a timeout leaves the order's fate unknown:
it is journalled ``UNKNOWN`` (not terminal), so no second order goes out for the same
adjustment, and the start-up reconciliation settles it against the broker's open orders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Literal

import structlog

from daemon.config import ExecutionParams
from daemon.core.broker import Broker, ComboLeg, ComboOrder, OrderState
from daemon.core.calendar import NY, is_session, session_bounds
from daemon.core.evaluate import CycleResult, CycleStatus
from daemon.core.params import TickParams
from daemon.core.proposal import Adjustment
from daemon.errors import BrokerDisconnected, BrokerTimeout, JournalError, OrderRejected
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.executors import Execution, ExecutionOutcome, adjustment_fields
from daemon.runtime.follow import OrderFollower
from daemon.runtime.guards import GuardContext, GuardLimits, OrderIntent, check_order
from daemon.runtime.journal_port import Journal, JournalOrderStatus, JournalWriteFailed
from daemon.runtime.notify import Fanout, NotifyEvent
from daemon.runtime.notify.lines import adjustment_line
from daemon.runtime.notify.params import AlertParams
from daemon.runtime.order_codec import order_to_json
from daemon.runtime.triggers import MarketClock

log = structlog.get_logger("alvh.execution")


def _leg_keys(adj: Adjustment) -> tuple[str, ...]:
    return tuple(leg.contract.key for leg in adj.legs)


def _debit_usd(adj: Adjustment) -> float:
    """What the order may cost at its limit (USD): nothing for a credit. An adjustment
    without legs is a programming error, never priced at an assumed multiplier."""
    if not adj.legs:
        raise ValueError(f"adjustment {adj.id} has no legs: nothing to price or send")
    multiplier = adj.legs[0].contract.multiplier
    return max(adj.limit_price_usd, 0.0) * multiplier * adj.quantity


@dataclass(frozen=True)
class _NotPlaced:
    """How an order that was not placed is journalled, alerted and reported."""

    status: JournalOrderStatus
    event: NotifyEvent
    label: str  # the alert line's first words
    level: Literal["warning", "error"]
    outcome: ExecutionOutcome


_REJECTED = _NotPlaced(
    JournalOrderStatus.REJECTED,
    NotifyEvent.ORDER_REJECTED,
    "REJECTED",
    "warning",
    ExecutionOutcome.REJECTED,
)
_FATE_UNKNOWN = _NotPlaced(
    JournalOrderStatus.UNKNOWN,
    NotifyEvent.ORDER_FATE_UNKNOWN,
    "FATE UNKNOWN",
    "error",
    ExecutionOutcome.UNKNOWN,
)


class SubmitExecutor:
    mode = "submit"

    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        params: ExecutionParams,
        ticks: TickParams,
        clock: MarketClock,
        env: dict[str, str] | None = None,
        alerts: DecisionAlerts | None = None,
    ) -> None:
        self._broker = broker
        self._journal = journal
        self._params = params
        self._clock = clock
        self._env = dict(os.environ) if env is None else env
        self._limits = GuardLimits(
            allow_live=params.allow_live,
            max_orders_per_day=params.max_orders_per_day,
            max_contracts_per_order=params.max_contracts_per_order,
            max_debit_per_day_usd=params.max_debit_per_day_usd,
            quiet_after_open_min=params.quiet_after_open_min,
            quiet_before_close_min=params.quiet_before_close_min,
        )
        # Without alerts of its own (tests, tools), the log alone is told.
        self.alerts = alerts or DecisionAlerts(journal, Fanout.log_only(), AlertParams())
        self._follower = OrderFollower(broker, journal, params, ticks, clock, self.alerts)

    async def start(self) -> None:
        await self._follower.reconcile()

    async def shutdown(self) -> None:
        await self._follower.stop()

    async def wait(self) -> None:
        """Until every order followed has ended (filled, cancelled or rejected)."""
        await self._follower.wait()

    async def execute(self, result: CycleResult, cycle_id: str) -> tuple[Execution, ...]:
        if not self._journal.check_writable(result.now):
            return self._journal_down(result)
        await self._follower.reconcile()  # orders in doubt since the last cycle, first
        if not result.adjustments:
            self.alerts.refusals([], result.now)
            return ()
        ctx = await self._context(result)
        out: list[Execution] = []
        refusals: list[tuple[Adjustment, list[str]]] = []
        for adj in result.adjustments:
            intent = OrderIntent(
                adj.id, adj.quantity, _debit_usd(adj), _leg_keys(adj), adj.kind.value
            )
            verdict = check_order(ctx, self._limits, intent)
            if not verdict.allowed:
                refused = [f"{code.value}: {why}" for code, why in verdict.refused]
                refusals.append((adj, refused))
                self._journal.record_event(
                    "order_refused",
                    now=result.now,
                    cycle_id=cycle_id,
                    detail={"adjustment_id": adj.id, "guards": refused},
                )
                out.append(Execution(adj.id, ExecutionOutcome.REFUSED, "; ".join(refused)))
                continue
            execution = await self._send(adj, result, cycle_id)
            out.append(execution)
            if execution.outcome is ExecutionOutcome.UNKNOWN or not self._journal.writable:
                break  # the connection or the journal is in doubt: send nothing more
            ctx = replace(
                ctx,
                journal_refs=ctx.journal_refs | {adj.id},
                busy_leg_keys=ctx.busy_leg_keys | set(intent.leg_keys),
                orders_today=ctx.orders_today + 1,
                debit_today_usd=ctx.debit_today_usd + intent.debit_usd,
            )
        self.alerts.refusals(refusals, result.now)  # once per decision, as proposals are
        return tuple(out)

    def _journal_down(self, result: CycleResult) -> tuple[Execution, ...]:
        """The journal cannot be written: nothing is sent (an intent must be durable before
        its order goes out), nothing is reconciled or re-priced; each adjustment is said
        in the log and alerted as refused, as a proposal would be."""
        why = f"journal_unwritable: {self._journal.last_write_error or 'write refused'}"
        log.error("submission_paused", reason=why, adjustments=len(result.adjustments))
        for adj in result.adjustments:
            log.warning("adjustment_not_sent", line=adjustment_line(adj), reason=why)
        self.alerts.refusals([(adj, [why]) for adj in result.adjustments], result.now)
        return tuple(Execution(adj.id, ExecutionOutcome.REFUSED, why) for adj in result.adjustments)

    async def _context(self, result: CycleResult) -> GuardContext:
        account = await self._broker.account()
        working = await self._broker.open_orders()
        day = result.trading_day
        bounds = session_bounds(day) if is_session(day) else (None, None)
        today_orders = self._journal.orders_on(day)
        busy: set[str] = set()
        for row in self._journal.open_orders():
            busy.update(row["leg_keys"].split("|") if row.get("leg_keys") else ())
        return GuardContext(
            now=result.now.astimezone(NY),
            session_open=bounds[0],
            session_close=bounds[1],
            account_id=account.account_id,
            is_paper=account.is_paper,
            live_confirmation=self._env.get(self._params.live_confirm_env_var) or None,
            kill_switch_on=self._params.kill_switch_path.exists(),
            data_validated=result.status is CycleStatus.OK,
            journal_refs=frozenset(
                self._journal.order_refs_among(adj.id for adj in result.adjustments)
            ),
            broker_open_refs=frozenset(s.order_ref for s in working),
            busy_leg_keys=frozenset(busy),
            busy_kinds=frozenset(self._journal.open_order_kinds()),
            orders_today=len(today_orders),
            debit_today_usd=sum(float(row["debit_usd"]) for row in today_orders),
        )

    async def _send(self, adj: Adjustment, result: CycleResult, cycle_id: str) -> Execution:
        order = ComboOrder(
            legs=tuple(ComboLeg(leg.contract, leg.ratio, leg.action) for leg in adj.legs),
            quantity=adj.quantity,
            limit_price_usd=adj.limit_price_usd,
            order_ref=adj.id,
        )
        try:
            self._journal.record_order_intent(
                adj.id,
                cycle_id=cycle_id,
                trading_day=result.trading_day,
                now=result.now,
                quantity=adj.quantity,
                limit_usd=adj.limit_price_usd,
                debit_usd=_debit_usd(adj),
                leg_keys=_leg_keys(adj),
                order=order_to_json(order, adj.natural_price_usd),
            )
        except JournalError as exc:  # a duplicate, or the journal refused the write
            return Execution(adj.id, ExecutionOutcome.REFUSED, str(exc))
        stream = self._broker.order_events()
        try:
            state = await self._broker.place_combo(order)
        except OrderRejected as exc:
            stream.close()
            return self._not_placed(adj, result, exc, _REJECTED)
        except (BrokerDisconnected, BrokerTimeout) as exc:
            stream.close()
            return self._not_placed(adj, result, exc, _FATE_UNKNOWN)
        if self._record_placed(adj, state):
            self._follower.follow(order, state, stream, adj.natural_price_usd)
        else:  # its open intent row brings it back to a follower once the journal writes
            stream.close()
        return Execution(adj.id, ExecutionOutcome.SUBMITTED, state.status.value, state.order_id)

    def _not_placed(
        self, adj: Adjustment, result: CycleResult, exc: Exception, how: _NotPlaced
    ) -> Execution:
        """Journal and alert an order the broker refused, or whose fate is unknown."""
        self._try_state(adj.id, status=how.status, reason=str(exc))
        self.alerts.publish(
            how.event,
            f"{how.label} {adjustment_line(adj)}: {exc}",
            result.now,
            how.level,
            adjustment_id=adj.id,
            reason=str(exc),
        )
        return Execution(adj.id, how.outcome, str(exc))

    def _try_state(
        self,
        ref: str,
        status: JournalOrderStatus,
        order_id: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Journal an order's new state; False (logged) when the journal refuses it: the
        order's intent is durable, so reconciliation settles it once writes go through."""
        try:
            self._journal.record_order_state(
                ref, now=self._clock.now(), status=status, order_id=order_id, reason=reason
            )
        except JournalWriteFailed as exc:
            log.error("order_state_not_journalled", order_ref=ref, status=status, reason=str(exc))
            return False
        return True

    def _record_placed(self, adj: Adjustment, state: OrderState) -> bool:
        """Journal and alert a placed order; whether its state is in the journal."""
        recorded = self._try_state(
            adj.id, status=JournalOrderStatus.of(state.status), order_id=str(state.order_id)
        )
        self.alerts.publish(
            NotifyEvent.ORDER_SUBMITTED,
            f"SENT {adjustment_line(adj)}  order {state.order_id}",
            self._clock.now(),
            order_id=state.order_id,
            **adjustment_fields(adj),
        )
        return recorded
