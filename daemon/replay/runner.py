"""One policy's replay: a session at a time, the daemon's own cycle inside it.

Each session, at ``replay.cycle_before_close_min`` minutes before its close:

1. market time jumps there (``ReplayClock``); the broker settles what expired;
2. the ledger takes the settlements' cash (``Ledger.settle_due``);
3. the book rule sells the month's condor when one is due (``daemon.replay.book``);
4. the policy acts: ``static`` / ``vxth`` send their rule's orders; ``alvh`` and
   ``alvh-flat`` run the daemon's ``Engine.run_cycle`` (snapshot -> evaluate -> submit
   executor with its guards -> journal) and wait for its orders to end;
5. the ledger reads the session's fills from the journal, checks its positions against
   the broker's, marks them at mid and journals a ``replay_session`` event with the
   account (equity, cash, marks, book and hedge P&L, costs, credit and premium to date).

Every policy journals one cycle a session: the daemon's own cycle record, or for a rule
a cycle with status ``ok`` whose record says what the rule did and why.
"""

from __future__ import annotations

import math
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from pathlib import Path
from typing import Any

import structlog

import daemon
from daemon.config import AppConfig
from daemon.core.calendar import NY, session_bounds
from daemon.core.candidates import LegSpec
from daemon.core.models import Action
from daemon.replay.book import (
    choose_condor,
    is_roll_day,
    next_standard_expiry,
    read_positions_csv,
)
from daemon.replay.chain import spx_expiry, vix_calls
from daemon.replay.clock import ReplayClock
from daemon.replay.ledger import BOOK, BOOK_REF_PREFIX, Accounts, Ledger
from daemon.replay.params import ReplayParams
from daemon.replay.policies import (
    DAEMON_POLICIES,
    HedgeOrder,
    config_for,
    first_vix_expiry_after,
    is_vix_expiry,
    static_order,
    vx1_pts,
    vxth_order,
    vxth_weight_frac,
)
from daemon.replay.source import ReplayMarket
from daemon.replay.trader import Trader, price_combo
from daemon.runtime.engine import Engine, new_cycle_id
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.snapshot import SnapshotTaker
from daemon.runtime.submit import SubmitExecutor

log = structlog.get_logger("alvh.replay")
SESSION_EVENT = "replay_session"
START_EVENT = "replay_started"


def cycle_time(day: date, params: ReplayParams) -> datetime:
    return session_bounds(day)[1] - timedelta(minutes=params.cycle_before_close_min)


@dataclass
class SessionResult:
    day: date
    accounts: Accounts
    notes: list[str]


class PolicyReplay:
    """One policy over a market, into its own journal (``open`` then ``session`` a day)."""

    def __init__(
        self, policy: str, config: AppConfig, market: ReplayMarket, journal_path: Path
    ) -> None:
        self.policy = policy
        self.config = config_for(policy, config)
        self.params = config.replay
        self.market = market
        self.broker = market.broker
        self.clock = ReplayClock(market.clock, self.params.wait_speed_x)
        if journal_path.exists():
            raise FileExistsError(f"{journal_path} exists: replay into an empty --out")
        self.journal = SqliteJournal.open(journal_path)
        self.journal.relax_durability()  # a replay can be run again; see the method
        self.ledger = Ledger(
            self.params.initial_equity_usd, self.params.commission_per_contract_usd
        )
        self.trader = Trader(self.broker, self.journal, self.config.ticks)
        self.run_id = f"replay-{policy}-{uuid.uuid4().hex[:8]}"
        self.engine: Engine | None = None
        self.executor: SubmitExecutor | None = None
        self._improvement = self.params.book.price_improvement_frac
        self._r = self.config.pricing.risk_free_rate_frac

    async def open(self, first: date, last: date) -> None:
        now = self.clock.now()
        self.journal.start_run(
            self.run_id,
            now=now,
            version=daemon.__version__,
            host=socket.gethostname(),
            mode="submit" if self.policy in DAEMON_POLICIES else "rule",
            broker=f"replay-{self.market.name}",
            config=self.config.model_dump(mode="json"),
        )
        detail = {"policy": self.policy, "from": first.isoformat(), "to": last.isoformat()}
        self.journal.record_event(START_EVENT, now=now, run_id=self.run_id, detail=detail)
        await self.broker.connect()
        if self.policy in DAEMON_POLICIES:
            self._build_engine()
            assert self.executor is not None
            await self.executor.start()

    def _build_engine(self) -> None:
        cfg = self.config
        # The replay's own kill switch, beside its journals, so a live daemon's does not
        # stop a replay (and the other way round).
        execution = cfg.execution.model_copy(
            update={"kill_switch_path": self.journal.path.parent / "KILL"}
        )
        self.executor = SubmitExecutor(
            self.broker, self.journal, execution, cfg.ticks, self.clock, env={}
        )
        model = cfg.model_params()
        self.engine = Engine(
            broker=self.broker,
            journal=self.journal,
            executor=self.executor,
            snapshots=SnapshotTaker(self.broker, model, cfg.snapshot, self.market.events),
            model=model,
            run_id=self.run_id,
            clock=self.clock.now,
            cycle_timeout_s=cfg.schedule.cycle_timeout_s,
        )

    async def close(self, reason: str) -> None:
        if self.executor is not None:
            await self.executor.shutdown()
        self.journal.end_run(self.run_id, now=self.clock.now(), reason=reason)
        await self.broker.close()
        self.journal.close()

    # ---- one session ---------------------------------------------------------------------
    async def session(self, day: date, first: bool) -> SessionResult:
        """One session, all or nothing in the journal: one transaction (one commit
        instead of ~15), and an interrupted or failed session leaves no half of itself
        behind the finished ones (docs/replay.md, "One transaction a session")."""
        with self.journal.all_or_nothing():
            return await self._session(day, first)

    async def _session(self, day: date, first: bool) -> SessionResult:
        now = self.clock.advance_to(cycle_time(day, self.params))
        await self.broker.positions()  # the market catches up: settlements happen here
        self.ledger.settle_due(now, self.market.settlement_value)
        cycle_id = new_cycle_id(now)
        notes: list[str] = []
        credit = await self._book_step(now, cycle_id, first, notes)
        if self.engine is not None and self.executor is not None:
            await self.engine.run_cycle(now)
            await self.executor.wait()
        else:
            await self._rule_step(now, cycle_id, first, credit, notes)
        self.ledger.ingest_fills(self.journal.fills_after(self.ledger.fill_cursor))
        self.ledger.check_against(await self.broker.positions())
        accounts = await self._mark()
        await self._record_session(now, cycle_id, day, accounts, notes)
        return SessionResult(day, accounts, notes)

    async def _book_step(
        self, now: datetime, cycle_id: str, first: bool, notes: list[str]
    ) -> float:
        """Sell the condor when due; returns its credit (USD), 0 when none was sold."""
        p = self.params.book
        if p.source == "csv":
            return await self._csv_book(now, cycle_id, notes) if first else 0.0
        # The book's own holdings only: the daemon's diagonals also hold SPX options.
        held = any(purpose == BOOK for purpose, _ in self.ledger.holdings)
        today = now.astimezone(NY).date()
        if held or not (first or is_roll_day(today)):
            return 0.0
        expiry = next_standard_expiry(today)
        listed = await self.broker.option_expiries("SPX", p.trading_class)
        if expiry not in listed:
            notes.append(f"book: {p.trading_class} {expiry} not listed")
            return 0.0
        spot = (await self.broker.index_quotes())["SPX"].mid
        if spot is None:
            notes.append("book: no SPX price")
            return 0.0
        puts, calls = await spx_expiry(self.broker, p.trading_class, expiry, now, self._r, spot)
        equity = self.ledger.mark(await self._mids()).equity_usd
        choice = choose_condor(puts, calls, p, equity)
        if choice is None:
            notes.append(f"book: no condor fits on {expiry}")
            return 0.0
        quotes = {s.contract.key: (s.bid, s.ask) for s in (*puts, *calls)}
        priced = price_combo(choice.legs, quotes, self._improvement, self.config.ticks)
        ref = f"{BOOK_REF_PREFIX}{today.isoformat()}-{expiry.isoformat()}"
        filled, price = await self.trader.trade(
            choice.legs, choice.quantity, priced, ref, cycle_id, now
        )
        notes.append(f"book: sold {filled} condors {expiry} at {price}")
        return 0.0 if price is None else -price * filled * 100

    async def _csv_book(self, now: datetime, cycle_id: str, notes: list[str]) -> float:
        """The user's positions, one order per expiry, on the first session."""
        path = self.params.book.positions_csv
        assert path is not None  # the params' validator requires it for source csv
        by_expiry: dict[date, list[tuple[LegSpec, int]]] = {}
        for pos in read_positions_csv(path):
            action = Action.BUY if pos.quantity > 0 else Action.SELL
            spec = LegSpec(pos.contract, abs(pos.quantity), action)
            assert pos.contract.expiry is not None
            by_expiry.setdefault(pos.contract.expiry, []).append((spec, abs(pos.quantity)))
        credit = 0.0
        for expiry, specs in sorted(by_expiry.items()):
            unit = reduce(math.gcd, (q for _, q in specs))
            legs = tuple(LegSpec(spec.contract, q // unit, spec.action) for spec, q in specs)
            quotes = await self.broker.option_quotes([spec.contract for spec in legs])
            two_sided = {
                q.contract.key: (q.quote.bid, q.quote.ask)
                for q in quotes
                if q.quote.bid is not None and q.quote.ask is not None
            }
            if len(two_sided) < len(legs):
                notes.append(f"book: csv positions on {expiry} not quoted")
                continue
            priced = price_combo(legs, two_sided, self._improvement, self.config.ticks)
            ref = f"{BOOK_REF_PREFIX}csv-{expiry.isoformat()}"
            filled, price = await self.trader.trade(legs, unit, priced, ref, cycle_id, now)
            notes.append(f"book: opened {filled} x csv positions {expiry} at {price}")
            credit += 0.0 if price is None else max(-price * filled * 100, 0.0)
        return credit

    async def _rule_step(
        self, now: datetime, cycle_id: str, first: bool, credit: float, notes: list[str]
    ) -> None:
        order = await self._rule_order(now, first, credit, notes)
        if order is not None:
            kind = self.policy
            ref = f"{kind}-{now.date().isoformat()}"
            filled, price = await self.trader.trade(
                order.legs, order.quantity, order.priced, ref, cycle_id, now
            )
            notes.append(
                f"{kind}: bought {filled} x {'/'.join(s.contract.key for s in order.legs)}"
                f" at {price} (budget {order.budget_usd:.2f} USD)"
            )
        self.journal.record_cycle(
            cycle_id=cycle_id,
            run_id=self.run_id,
            started_at=now,
            finished_at=self.clock.now(),
            trading_day=now.date(),
            status="ok",
            reason="; ".join(notes) or f"{self.policy}: nothing to do",
            record={"policy": self.policy, "notes": notes},
        )

    async def _rule_order(
        self, now: datetime, first: bool, credit: float, notes: list[str]
    ) -> HedgeOrder | None:
        """The rule's order this session; when the rule is due but buys nothing, why."""
        today = now.date()
        if self.policy == "static" and credit > 0:
            s = self.config.replay.static
            expiry = first_vix_expiry_after(today, s.min_dte_days)
            calls = [] if expiry is None else await vix_calls(self.broker, expiry, now, self._r)
            order = static_order(calls, s, credit, self._improvement, self.config.ticks)
            if order is None:
                notes.append(
                    f"static: nothing bought ({len(calls)} VIX calls quoted on {expiry};"
                    f" budget {s.credit_frac * credit:.2f} USD)"
                )
            return order
        if self.policy == "vxth" and (first or is_vix_expiry(today)):
            futures = {d: q.mid for d, q in (await self.broker.vix_futures()).items()}
            front = vx1_pts(futures, now)
            expiry = first_vix_expiry_after(today, 1)
            if front is None or expiry is None:
                notes.append("vxth: no front VX future quoted, nothing bought")
                return None
            calls = await vix_calls(self.broker, expiry, now, self._r)
            equity = self.ledger.mark(await self._mids()).equity_usd
            v = self.config.replay.vxth
            order = vxth_order(calls, v, front, equity, self._improvement, self.config.ticks)
            if order is None:
                weight = vxth_weight_frac(front, v)
                notes.append(f"vxth: VX1 {front:.2f}, weight {weight:.2%}, nothing bought")
            return order
        return None

    # ---- the account -----------------------------------------------------------------------
    async def _mids(self) -> dict[str, float | None]:
        contracts = self.ledger.contracts()
        if not contracts:
            return {}
        quotes = await self.broker.option_quotes(contracts)
        return {c.key: q.quote.mid for c, q in zip(contracts, quotes, strict=True)}

    async def _mark(self) -> Accounts:
        return self.ledger.mark(await self._mids())

    async def _record_session(
        self, now: datetime, cycle_id: str, day: date, accounts: Accounts, notes: list[str]
    ) -> None:
        indices = await self.broker.index_quotes()
        futures = {d: q.mid for d, q in (await self.broker.vix_futures()).items()}
        scalar = None
        if self.engine is not None and self.engine.state is not None:
            scalar = self.engine.state.value
        detail: dict[str, Any] = {
            "policy": self.policy,
            "day": day.isoformat(),
            "spx": indices["SPX"].mid if "SPX" in indices else None,
            "vix": indices["VIX"].mid if "VIX" in indices else None,
            "vx1": vx1_pts(futures, now),
            "scalar": scalar,
            **accounts.to_json(),
            "notes": notes,
        }
        self.journal.record_event(
            SESSION_EVENT, now=now, run_id=self.run_id, cycle_id=cycle_id, detail=detail
        )
