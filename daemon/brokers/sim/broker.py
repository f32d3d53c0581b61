"""``SimBroker``: the ``Broker`` port over the simulated market (a real market, not a mock).

Wiring: a ``SimClock`` gives market time; the market source (``source.py``: the seeded
model ``SimMarket`` by default, or ``HistoricalSource`` playing real daily history) moves
forward lazily to the clock's time on every call, and after every market step the
``OrderBook`` settles expired legs (cash-settled on the source's settlement print) and
matches resting orders; their events go to every open ``order_events()`` stream.
Between calls a background pump (started by ``connect``, stopped by ``close``) advances
the market every ``pump_interval_s`` real seconds, so an engine that only listens for
events still sees its orders fill or expire.

Fault knobs (``FaultParams``, changed at run time with ``set_faults``) are played here:
a dropped or refused connection raises ``BrokerDisconnected``; ``slow_reply_s`` delays every
reply by that many real seconds (``asyncio.sleep``) and, at or above
``request_timeout_s``, the call raises ``BrokerTimeout`` after the timeout instead; quote
faults and random rejects are ``faults.py``'s; ``keep_settled_positions_min`` keeps a
settled position in ``positions()`` that long after its settlement instant (its cash is
settled at once), as IB lists expired positions until its overnight processing.

For tests and the replay: ``clock`` (advance it by hand with ``SimClock.manual``),
``source``, ``market`` (the model's ``SimMarket``; model source only), ``chains``,
``cash_usd``, ``settlements``, ``orders_received`` and ``sync()`` (evolve now, without
fault checks) are public.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from daemon.brokers.events import EventHub, EventStream
from daemon.brokers.sim.book import open_initial_book
from daemon.brokers.sim.chains import SPX, SPXW, VIX, vix_future
from daemon.brokers.sim.clock import SimClock, next_open
from daemon.brokers.sim.evolution import SimMarket
from daemon.brokers.sim.faults import apply_quote_faults, rejects_order
from daemon.brokers.sim.market import MarketState
from daemon.brokers.sim.orders import OrderBook, Settlement, record_received, validate
from daemon.brokers.sim.params import FaultParams, SimParams
from daemon.brokers.sim.source import MarketSource, ModelSource
from daemon.core.broker import AccountInfo, ComboLeg, ComboOrder, ConnectionState, OrderState
from daemon.core.calendar import settlement_time
from daemon.core.models import (
    BreadthDay,
    Contract,
    DailyBar,
    FeedKind,
    OptionQuote,
    Position,
    Quote,
    SecType,
)
from daemon.errors import BrokerDisconnected, BrokerTimeout, OrderRejected

_CLASSES = {SPX: (SPX, SPXW), VIX: (VIX,)}
_SETTLE_TIMES_MAX = 20_000


# ``Quote`` and ``OptionQuote`` are frozen dataclasses with no ``__post_init__`` and no
# slots: an instance made as pickle and copy remake one (``object.__new__``, then its
# ``__dict__``) equals the constructor's, field for field, at half the cost (a frozen
# constructor sets each field through ``object.__setattr__``); a cycle quotes ~300
# options. tests/runtime/test_sim_broker.py checks both stay so.
_new, _set = object.__new__, object.__setattr__
_LIVE = FeedKind.LIVE


def _quote(bid: float, ask: float, now: datetime, sigma: float) -> Quote:
    """``Quote(bid, ask, now, None, sigma)``, live, made without the constructor."""
    quote: Quote = _new(Quote)
    _set(
        quote,
        "__dict__",
        {"bid": bid, "ask": ask, "time": now, "last": None, "model_iv_sigma": sigma, "feed": _LIVE},
    )
    return quote


def _option_quote(contract: Contract, quote: Quote) -> OptionQuote:
    """``OptionQuote(contract, quote)``, made without the constructor."""
    made: OptionQuote = _new(OptionQuote)
    _set(made, "__dict__", {"contract": contract, "quote": quote})
    return made


class _QuotedSides:
    """The fault-free (bid, ask) of one ``option_quotes`` request's options, at its market
    time: an order placed at that time, before the next market step, is matched on these
    instead of pricing its legs again (the replay sends and re-prices its orders at the
    cycle's minute). Looked up by the identity of the chains' own contracts (``resolve``
    hands out one object per contract; ``priced`` holds them, so no id is reused); a leg
    not among them prices the whole order afresh and drops these. Bit for bit the
    source's answer: a quote's sides are elementwise arithmetic on its own grid row
    (surface.py), and the grids change only at a step or when the source is asked."""

    def __init__(
        self, now: datetime, priced: list[Contract], sides: list[tuple[float, float]]
    ) -> None:
        self.now = now
        self._priced = priced
        self._sides = sides
        self._index: dict[int, int] | None = None  # made on the first order's lookup

    def of(self, contracts: Sequence[Contract]) -> list[tuple[float, float]] | None:
        if self._index is None:
            self._index = {id(c): i for i, c in enumerate(self._priced)}
        index, out = self._index, []
        for contract in contracts:
            i = index.get(id(contract))
            if i is None:
                return None
            out.append(self._sides[i])
        return out


class SimBroker:
    """The simulated broker; implements ``daemon.core.broker.Broker``."""

    def __init__(
        self,
        params: SimParams,
        clock: SimClock | None = None,
        source: MarketSource | None = None,
    ) -> None:
        """The market starts at the clock's time; without a clock, an accelerated one is
        made at ``params.start`` (default: the next session open from the wall clock).
        Without a ``source`` the prices come from the seeded model (``ModelSource``)."""
        if clock is None:
            start = params.start or next_open(datetime.now(UTC))
            clock = SimClock.accelerated(start, params.clock_speed_x, params.closed_speed_x)
        self._p = params
        self.clock = clock
        self.source: MarketSource = source or ModelSource(params, clock.now())
        self.source.advance_to(clock.now())
        self.chains = self.source.chains
        self._book = OrderBook(
            params.orders, self._leg_quotes, self.chains.combo_tick, self.source.settlement_pts
        )
        # By the contract object's id, checked by identity (a position's and an order's
        # legs are the same objects step after step; hashing a ``Contract`` hashes its
        # nine fields): each step asks of every position and working order's leg.
        self._settle_times: dict[int, tuple[Contract, datetime]] = {}
        self._sorted: tuple[int, list[Position]] | None = None  # positions(), by changes
        self._hub = EventHub()
        self._faults = params.faults
        self._state = ConnectionState.DISCONNECTED
        self._pump: asyncio.Task[None] | None = None
        # Answers kept until the next market step or another market time (see _on_step):
        # the last quote request's sides, the VIX futures' quotes (asked twice a replay
        # session), and the last order's checked legs (a re-priced copy has the same).
        self._quoted: _QuotedSides | None = None
        self._futures: tuple[datetime, dict[date, Quote]] | None = None
        self._checked: tuple[tuple[ComboLeg, ...], datetime, tuple[ComboLeg, ...]] | None = None
        self.source.add_listener(self._on_step)
        now = clock.now()
        open_initial_book(
            params,
            self.chains,
            self._book,
            self.source.spx_pts(),
            lambda contracts: self.source.theo(contracts, now),
            self.source.option_bid_ask,
            now,
        )

    # ---- faults and plumbing ---------------------------------------------------------------
    @property
    def faults(self) -> FaultParams:
        return self._faults

    def set_faults(self, **changes: object) -> FaultParams:
        """Change fault knobs by name (validated as ``FaultParams``); returns the new set."""
        self._faults = FaultParams.model_validate({**self._faults.model_dump(), **changes})
        return self._faults

    @property
    def params(self) -> SimParams:
        return self._p

    @property
    def market(self) -> SimMarket:
        """The model's market (``TypeError`` with another source)."""
        if not isinstance(self.source, ModelSource):
            raise TypeError("the simulated broker is not running the stochastic model")
        return self.source.market

    @property
    def state(self) -> MarketState:
        """The model state at the last step applied (call ``sync`` first for "now")."""
        return self.market.state

    @property
    def cash_usd(self) -> float:
        """Cash moved by every fill and settlement since the start (see ``orders.py``)."""
        return self._book.cash_usd

    @property
    def settlements(self) -> list[Settlement]:
        """Every position cash-settled at expiry so far, oldest first."""
        return list(self._book.settlements)

    @property
    def orders_received(self) -> list[tuple[int, ComboOrder, datetime]]:
        """Every order sent to this broker (order id, order, arrival), rejected included."""
        return self._book.received()

    def sync(self) -> datetime:
        """Evolve the market to the clock's now and deliver the events due; returns now."""
        now = self.clock.now()
        self.source.advance_to(now)
        self._hub.publish(self._book.drain())
        return now

    async def _enter(self) -> datetime:
        """Every port call starts here: connection, slowness, then the market catches up."""
        if self._state is not ConnectionState.CONNECTED:
            raise BrokerDisconnected("not connected to the simulated broker")
        f = self._faults
        if f.slow_reply_s > 0:
            timeout_s = self._p.request_timeout_s
            await asyncio.sleep(min(f.slow_reply_s, timeout_s))
            if f.slow_reply_s >= timeout_s:
                raise BrokerTimeout(f"simulated broker gave no reply within {timeout_s:g} s")
        if f.drop_connection:
            self._state = ConnectionState.DISCONNECTED
            self._faults = f.model_copy(update={"drop_connection": False})
            raise BrokerDisconnected("simulated connection drop (fault knob drop_connection)")
        return self.sync()

    def _on_step(self, time: datetime) -> None:
        self._quoted = self._futures = None  # the market moved: prices are new
        self._book.on_step(time, lambda c: self._settlement(c) <= time)

    def _settlement(self, contract: Contract) -> datetime:
        hit = self._settle_times.get(id(contract))
        if hit is None or hit[0] is not contract:
            if len(self._settle_times) >= _SETTLE_TIMES_MAX:
                self._settle_times = {}  # bounded: a long run meets many contracts
            hit = self._settle_times[id(contract)] = (contract, settlement_time(contract))
        return hit[1]

    def _leg_quotes(
        self, contracts: Sequence[Contract], now: datetime
    ) -> list[tuple[float, float]]:
        quoted = self._quoted
        if quoted is not None and quoted.now == now:
            sides = quoted.of(contracts)
            if sides is not None:
                return sides
        # Asked afresh, the source may price a new strike into an expiry's grid, and a
        # grid priced again repairs its arbitrage over all its strikes: the kept sides
        # could then differ from what the source answers, so they go.
        self._quoted = None
        return self.source.quotes(contracts, now)[1]

    async def _pump_loop(self) -> None:
        while True:
            await asyncio.sleep(self._p.pump_interval_s)
            self.sync()

    # ---- connection ------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._faults.refuse_connect:
            raise BrokerDisconnected("simulated gateway refuses the connection (refuse_connect)")
        self._state = ConnectionState.CONNECTED
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._pump_loop())

    async def close(self) -> None:
        self._state = ConnectionState.DISCONNECTED
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        self._hub.close_all()

    @property
    def connection_state(self) -> ConnectionState:
        return self._state

    # ---- account and market data -----------------------------------------------------------
    async def account(self) -> AccountInfo:
        await self._enter()
        a = self._p.account
        prefix = "U" if a.live_looking else "DU"
        return AccountInfo(account_id=prefix + a.number, is_paper=not a.live_looking)

    async def positions(self) -> list[Position]:
        now = await self._enter()
        if self._faults.keep_settled_positions_min > 0:  # the listing changes with now
            listed = [*self._book.positions.values(), *self._settled_still_listed(now)]
            return sorted(listed, key=lambda p: p.contract)
        changes = self._book.positions_changes
        if self._sorted is None or self._sorted[0] != changes:
            # Sorted again only after a trade or a settlement (a Contract compares
            # field by field in Python); the caller gets a list of its own.
            ordered = sorted(self._book.positions.values(), key=lambda p: p.contract)
            self._sorted = (changes, ordered)
        return list(self._sorted[1])

    def _settled_still_listed(self, now: datetime) -> list[Position]:
        """Settled positions IB would still list (fault knob keep_settled_positions_min):
        the cash is already settled, only the listing lingers."""
        keep_s = self._faults.keep_settled_positions_min * 60.0
        if keep_s <= 0:
            return []
        return [
            Position(s.contract, s.quantity, s.avg_cost_usd)
            for s in self._book.settlements
            if now.astimezone(UTC)
            < self._settlement(s.contract).astimezone(UTC) + timedelta(seconds=keep_s)
        ]

    def _quote_faults_on(self) -> bool:
        f = self._faults
        return f.stale_quotes_s != 0 or f.nan_quote_frac != 0 or f.crossed_quote_frac != 0

    def _faulty(self, quote: Quote, key: str | Contract) -> Quote:
        if not self._quote_faults_on():
            return quote  # the common case, without building the instrument's key
        f = self._faults
        name = key.key if isinstance(key, Contract) else key
        return apply_quote_faults(quote, name, f, self._p.seed)

    async def index_quotes(self) -> dict[str, Quote]:
        now = await self._enter()
        values = self.source.index_levels()
        return {
            name: self._faulty(Quote(bid=None, ask=None, time=now, last=round(v, 2)), name)
            for name, v in values.items()
        }

    async def vix_futures(self) -> dict[date, Quote]:
        now = await self._enter()
        quotes = self._futures_at(now)
        if not self._quote_faults_on():
            return dict(quotes)  # the common case, without building each future's key
        return {e: self._faulty(q, vix_future(e).key) for e, q in quotes.items()}

    def _futures_at(self, now: datetime) -> dict[date, Quote]:
        """The listed VIX futures' quotes at ``now`` without faults, kept for the step."""
        if self._futures is None or self._futures[0] != now:
            quotes = {}
            for expiry in self.chains.expiries(VIX, now):
                fair = self.source.vix_future_pts(expiry, now)
                if fair is not None:
                    bid, ask = self.source.future_bid_ask(fair)
                    quotes[expiry] = Quote(bid, ask, now)
            self._futures = (now, quotes)
        return self._futures[1]

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        now = await self._enter()
        if trading_class not in _CLASSES.get(symbol, ()):
            return []
        return self.chains.expiries(trading_class, now)

    async def option_strikes(self, symbol: str, trading_class: str, expiry: date) -> list[float]:
        now = await self._enter()
        if trading_class not in _CLASSES.get(symbol, ()):
            return []
        if expiry not in self.chains.expiries(trading_class, now):
            return []
        return self.chains.strikes(trading_class, expiry, self.source.spx_pts())

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        now = await self._enter()
        known = self.chains.resolve_all(contracts, now)
        priced = [k for k in known if k is not None and k.sec_type is SecType.OPTION]
        theo, sides = self.source.quotes(priced, now)
        self._quoted = _QuotedSides(now, priced, sides)
        # Comprehensions, not a loop of appends: this runs for every quote of every cycle.
        quotes = [
            _quote(b, a, now, s) for s, (b, a) in zip(theo.sigma.tolist(), sides, strict=True)
        ]
        if self._quote_faults_on():
            quotes = [self._faulty(q, k) for q, k in zip(quotes, priced, strict=True)]
        if len(quotes) == len(contracts):  # every contract a listed option: the usual case
            return [_option_quote(c, q) for c, q in zip(contracts, quotes, strict=True)]
        none = Quote(bid=None, ask=None, time=now)
        # The priced quotes line up, in order, with the known options among the contracts.
        found = iter(quotes)
        return [
            OptionQuote(c, next(found) if k is not None and k.sec_type is SecType.OPTION else none)
            for c, k in zip(contracts, known, strict=True)
        ]

    async def spx_daily_history(self, sessions: int) -> list[DailyBar]:
        await self._enter()
        return self.source.daily_bars(sessions)

    async def breadth_history(self, sessions: int) -> list[BreadthDay]:
        await self._enter()
        return self.source.breadth_days(sessions)

    # ---- orders ------------------------------------------------------------------------------
    async def place_combo(self, order: ComboOrder) -> OrderState:
        now = await self._enter()
        order_id = self._book.next_order_id()
        if self._p.received_orders_path:
            record_received(self._p.received_orders_path, order_id, order, now)
        checked, reason = self._validate(order, now)
        reason = reason or (rejects_order(order_id, self._faults, self._p.seed) or "")
        if checked is None or reason:
            self._book.reject(order_id, order, reason, now)
            self._hub.publish(self._book.drain())
            raise OrderRejected(f"order {order_id} ({order.order_ref}) rejected: {reason}")
        state = self._book.submit(order_id, checked, now, self.source.is_open(now))
        self._hub.publish(self._book.drain())
        return state

    def _validate(self, order: ComboOrder, now: datetime) -> tuple[ComboOrder | None, str]:
        """``validate``, the legs checked once per market time (a re-priced copy of an
        order keeps its legs' tuple: ``dataclasses.replace`` of quantity and limit)."""
        last = self._checked
        known = last[2] if last is not None and last[0] is order.legs and last[1] == now else None
        checked, reason = validate(
            order, lambda c: self.chains.resolve(c, now), self.chains.combo_tick, known
        )
        if checked is not None and known is None:
            self._checked = (order.legs, now, checked.legs)
        return checked, reason

    async def open_orders(self) -> list[OrderState]:
        await self._enter()
        return self._book.open_orders()

    async def cancel(self, order_id: int) -> None:
        now = await self._enter()
        if not self._book.knows(order_id):
            raise OrderRejected(f"cancel: no order with id {order_id}")
        self._book.cancel(order_id, now, "cancelled by request")
        self._hub.publish(self._book.drain())

    def order_events(self) -> EventStream:
        """A stream of every order event from now on (see ``daemon.core.broker``)."""
        return self._hub.open()
