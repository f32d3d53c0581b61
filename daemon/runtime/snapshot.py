"""Taking one cycle's ``MarketSnapshot`` from the broker, phase by phase.

Only what the model reads is asked for, because a real broker meters market data and
paces requests (IB: about 50 messages a second, 100 market data lines): the expiries the
model can use are chosen from the listings first, then each one's strikes by delta from
the index level (``daemon.runtime.chain_window``); each hedge family says which expiries
of its underlying it needs (``HedgeFamily.quote_expiries``, ``daemon.core.families``).
Daily history (SPX closes, NYSE breadth) is fetched once per trading day: it only
changes at the close.

Each phase (account, positions, indices, futures, listings, options, history) runs under
its own budget (``snapshot.phase_budgets``); one that runs out raises ``BrokerTimeout``
naming the phase, so the skipped cycle says where the time went.

Breadth is the one series a cycle can do without (docs/reliability.md, "Breadth: a data
gap or a lost connection"): a ``BrokerError`` or ``DataError`` reading it (no
subscription, no such data) is logged ``breadth_unavailable`` and its reason goes with the
snapshot to the breadth signal's "unavailable" text; a lost connection or a timeout
(``BrokerDisconnected``, ``BrokerTimeout``) is the connection's failure, not the series',
and skips the cycle like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

import structlog

from daemon.config import SnapshotParams
from daemon.core.broker import Broker
from daemon.core.calendar import NY
from daemon.core.families import families
from daemon.core.families.base import QuoteContext
from daemon.core.models import (
    BreadthDay,
    Contract,
    DailyBar,
    MarketEvent,
    MarketSnapshot,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.params import ModelParams
from daemon.errors import BrokerDisconnected, BrokerError, BrokerTimeout, DataError
from daemon.runtime.chain_window import (
    OptionContracts,
    WindowParams,
    held_neighbours,
    nearest_dte,
    spx_window,
    vix_window,
)

T = TypeVar("T")
# One expiry's window: its (trading class, expiry) and its contracts.
_Window = tuple[tuple[str, date], list[Contract]]

log = structlog.get_logger("alvh.snapshot")


@dataclass
class _HistoryCache:
    day: date | None = None
    spx: tuple[DailyBar, ...] = ()
    breadth: tuple[BreadthDay, ...] = ()
    breadth_unavailable: str = ""  # why ``breadth`` is empty, when the broker said


class SnapshotTaker:
    def __init__(
        self,
        broker: Broker,
        model: ModelParams,
        params: SnapshotParams,
        events: tuple[MarketEvent, ...],
    ) -> None:
        self._broker = broker
        self._model = model
        self._params = params
        self._events = events
        self._history = _HistoryCache()
        fields = WindowParams.__dataclass_fields__
        self._window = WindowParams(**{k: getattr(params, k) for k in fields})
        self._options = OptionContracts()

    async def take(self, now: datetime) -> MarketSnapshot:
        b = self._params.phase_budgets
        account = await _phase("account", b.account_s, self._broker.account())
        positions = tuple(await _phase("positions", b.positions_s, self._broker.positions()))
        indices = await _phase("indices", b.indices_s, self._broker.index_quotes())
        if "SPX" not in indices or "VIX" not in indices:
            raise DataError(f"the broker returned no SPX or VIX quote (got {sorted(indices)})")
        futures = await _phase("futures", b.futures_s, self._broker.vix_futures())
        spot = indices["SPX"].mid
        vix = indices["VIX"].mid
        if spot is None or vix is None:
            raise DataError("SPX or VIX has no price: cannot choose the strikes to quote")
        contracts = await _phase(
            "listings", b.listings_s, self._contracts(now, positions, spot, vix, futures)
        )
        options = tuple(await _phase("options", b.options_s, self._broker.option_quotes(contracts)))
        spx_history, breadth = await _phase("history", b.history_s, self._daily_history(now))
        return MarketSnapshot(
            now=now,
            account_id=account.account_id,
            is_paper=account.is_paper,
            positions=positions,
            spx=indices["SPX"],
            vix=indices["VIX"],
            vix3m=indices.get("VIX3M"),
            vix_futures=dict(futures),
            options=options,
            spx_history=spx_history,
            breadth_history=breadth,
            breadth_unavailable=self._history.breadth_unavailable,
            events=self._events,
        )

    async def _daily_history(
        self, now: datetime
    ) -> tuple[tuple[DailyBar, ...], tuple[BreadthDay, ...]]:
        today = now.astimezone(NY).date()
        if self._history.day != today:
            sessions = self._params.history_sessions
            spx = tuple(await self._broker.spx_daily_history(sessions))
            unavailable = ""
            try:
                breadth = tuple(await self._broker.breadth_history(sessions))
            except (BrokerDisconnected, BrokerTimeout):
                raise
            except (BrokerError, DataError) as exc:
                # No breadth data (e.g. no subscription): the breadth signal reports itself
                # unavailable, saying why, and the cycle goes on; a dead connection still
                # skips it. Kept for the day, as the series would have been.
                breadth = ()
                unavailable = f"{type(exc).__name__}: {exc}"
                log.warning("breadth_unavailable", reason=unavailable)
            self._history = _HistoryCache(today, spx, breadth, unavailable)
        return self._history.spx, self._history.breadth

    async def _contracts(
        self,
        now: datetime,
        positions: Sequence[Position],
        spot: float,
        vix: float,
        futures: Mapping[date, Quote],
    ) -> list[Contract]:
        today = now.astimezone(NY).date()
        self._options.forget_expired(today)
        held = [p.contract for p in positions if p.contract.sec_type is SecType.OPTION]
        wanted: dict[str, Contract] = {c.key: c for c in held}
        out = list(wanted.values())
        # A window contract can only repeat a held leg of its own class and expiry: the
        # windows are distinct strikes of distinct (class, expiry) pairs. Only those are
        # looked up by key (a key is a formatted string: a cycle asks for ~300 contracts).
        held_at = {(c.trading_class, c.expiry) for c in held}
        spx = await self._spx_contracts(today, held, spot, vix)
        for at, window in [*spx, *await self._vix_contracts(today, held, futures, vix)]:
            if at not in held_at:
                out += window
                continue
            for c in window:
                if (key := c.key) not in wanted:
                    wanted[key] = c
                    out.append(c)
        return out

    async def _spx_expiries(self, today: date, held: Sequence[Contract]) -> set[tuple[str, date]]:
        """The (class, expiry) pairs the model can use (``chain_window``'s docstring)."""
        listed = {
            tc: [d for d in await self._broker.option_expiries("SPX", tc) if d >= today]
            for tc in ("SPX", "SPXW")
        }
        held_days = {
            (c.trading_class or "SPX", c.expiry)
            for c in held
            if c.symbol == "SPX" and c.expiry is not None
        }
        chosen = {(tc, d) for tc, d in held_days if d in listed.get(tc, ())}
        for tc, days in listed.items():
            skew = nearest_dte(days, today, self._model.signals.skew.tenor_days)
            if skew is not None:
                chosen.add((tc, skew))
        # Each SPX hedge family's expiries (``HedgeFamily.quote_expiries``).
        ctx = self._quote_context(today, sorted(d for _, d in held_days))
        for family in families():
            if family.symbol == "SPX":
                chosen |= family.quote_expiries(listed, ctx)
        return chosen

    def _quote_context(self, today: date, held: Sequence[date]) -> QuoteContext:
        return QuoteContext(today, tuple(held), self._model, self._params)

    async def _spx_contracts(
        self, today: date, held: Sequence[Contract], spot: float, vix: float
    ) -> list[_Window]:
        out: list[_Window] = []
        for tc, expiry in sorted(await self._spx_expiries(today, held), key=_by_date):
            strikes = await self._broker.option_strikes("SPX", tc, expiry)
            puts, calls = spx_window(strikes, spot, vix, expiry, today, self._window)
            mine = [c for c in held if c.trading_class == tc and c.expiry == expiry]
            puts, calls = self._with_neighbours(mine, strikes, puts, calls)
            out.append(((tc, expiry), self._options.window("SPX", tc, expiry, puts, calls)))
        return out

    def _with_neighbours(
        self,
        mine: Sequence[Contract],
        strikes: Sequence[float],
        puts: list[float],
        calls: list[float],
    ) -> tuple[list[float], list[float]]:
        """The window's strikes and the held legs' neighbours (most expiries hold none)."""
        if not mine:
            return puts, calls
        n = self._params.held_neighbour_strikes
        return (
            [*puts, *held_neighbours(mine, strikes, Right.PUT, n)],
            [*calls, *held_neighbours(mine, strikes, Right.CALL, n)],
        )

    async def _vix_contracts(
        self, today: date, held: Sequence[Contract], futures: Mapping[date, Quote], vix: float
    ) -> list[_Window]:
        listed = [d for d in await self._broker.option_expiries("VIX", "VIX") if d >= today]
        held_days = [c.expiry for c in held if c.symbol == "VIX" and c.expiry is not None]
        # Each VIX hedge family's expiries (``HedgeFamily.quote_expiries``).
        ctx = self._quote_context(today, held_days)
        chosen: set[date | None] = set()
        for family in families():
            if family.symbol == "VIX":
                chosen |= {d for _, d in family.quote_expiries({"VIX": listed}, ctx)}
        listed_days = set(listed)
        chosen |= {c.expiry for c in held if c.symbol == "VIX" and c.expiry in listed_days}
        out: list[_Window] = []
        for expiry in sorted(d for d in chosen if d is not None):
            strikes = await self._broker.option_strikes("VIX", "VIX", expiry)
            quote = futures.get(expiry)
            level = (quote.mid if quote is not None else None) or vix
            puts, calls = vix_window(strikes, level, expiry, today, self._window)
            mine = [c for c in held if c.symbol == "VIX" and c.expiry == expiry]
            puts, calls = self._with_neighbours(mine, strikes, puts, calls)
            out.append((("VIX", expiry), self._options.window("VIX", "VIX", expiry, puts, calls)))
        return out


def _by_date(pair: tuple[str, date]) -> tuple[date, int]:
    # PM-settled SPXW before AM SPX on one date, as the core prefers it.
    return pair[1], 0 if pair[0].endswith("W") else 1


async def _phase(name: str, budget_s: float, step: Awaitable[T]) -> T:
    """Run one phase of the snapshot under its budget (``snapshot.phase_budgets``)."""
    budget = asyncio.timeout(budget_s)
    try:
        async with budget:
            return await step
    except TimeoutError:
        if not budget.expired():
            raise
        raise BrokerTimeout(
            f"snapshot phase '{name}' ran out of its {budget_s:g} s budget "
            f"(snapshot.phase_budgets.{name}_s)"
        ) from None
