"""``IbBroker``: the ``Broker`` port (``daemon.core.broker``) over IB Gateway / TWS.

Composition: ``IbSession`` (the connection, timeouts, error translation), a
``ContractResolver`` (conIds, cached per connection), ``MarketData`` (snapshots, chains),
``History`` (daily bars) and ``OrderDesk`` (orders and their event streams). Everything
runs on the caller's event loop and never blocks it: the library is asyncio throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from daemon.brokers.events import EventStream
from daemon.brokers.ib.client import IbLibrary, load_library
from daemon.brokers.ib.contracts import ContractResolver
from daemon.brokers.ib.history import History
from daemon.brokers.ib.mapping import contract_from_ib, is_paper_account
from daemon.brokers.ib.marketdata import MarketData
from daemon.brokers.ib.orders import OrderDesk
from daemon.brokers.ib.params import IbParams
from daemon.brokers.ib.session import IbSession
from daemon.core.broker import AccountInfo, ComboOrder, ConnectionState, OrderState
from daemon.core.models import BreadthDay, Contract, DailyBar, OptionQuote, Position, Quote


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IbBroker:
    """The Interactive Brokers adapter; implements ``daemon.core.broker.Broker``.

    ``params`` is the ``broker.ib`` config section;
    ``clock`` gives aware "now" (quote times when IB sent no tick, event times, GTD
    deadlines, which daily bar is complete); ``library`` overrides the import (tests)."""

    def __init__(
        self,
        params: IbParams,
        clock: Callable[[], datetime] = _utc_now,
        library: IbLibrary | None = None,
    ) -> None:
        lib = library or load_library(params.library)
        self._session = IbSession(lib, params, clock)
        self._resolver = ContractResolver(self._session)
        self._market = MarketData(self._session, self._resolver, params.snapshot_batch_size)
        self._history = History(self._session, self._resolver)
        self._orders = OrderDesk(self._session, self._resolver)

    @property
    def library_name(self) -> str:
        return self._session.lib.name

    # ---- connection ------------------------------------------------------------------------
    async def connect(self) -> None:
        await self._session.connect()

    async def close(self) -> None:
        self._orders.close_streams()
        await self._session.close()

    @property
    def connection_state(self) -> ConnectionState:
        return self._session.state

    # ---- account ------------------------------------------------------------------------------
    async def account(self) -> AccountInfo:
        account_id = self._session.account_id()
        return AccountInfo(account_id=account_id, is_paper=is_paper_account(account_id))

    async def positions(self) -> list[Position]:
        account_id = self._session.account_id()
        ib = self._session.ib
        async with self._session.lock("positions"):
            held = await self._session.call("positions", ib.reqPositionsAsync)
        mine = [p for p in held or [] if p.account == account_id and p.position != 0]
        self._market.hold(frozenset(p.contract.conId for p in mine if p.contract.secType == "OPT"))
        return sorted(
            (
                Position(contract_from_ib(p.contract), round(p.position), float(p.avgCost))
                for p in mine
            ),
            key=lambda p: p.contract,
        )

    # ---- market data --------------------------------------------------------------------------
    async def index_quotes(self) -> dict[str, Quote]:
        return await self._market.index_quotes()

    async def vix_futures(self) -> dict[date, Quote]:
        return await self._market.vix_futures()

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        return await self._market.option_expiries(symbol, trading_class)

    async def option_strikes(self, symbol: str, trading_class: str, expiry: date) -> list[float]:
        return await self._market.option_strikes(symbol, trading_class, expiry)

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        return await self._market.option_quotes(contracts)

    async def spx_daily_history(self, sessions: int) -> list[DailyBar]:
        return await self._history.spx_daily_history(sessions)

    async def breadth_history(self, sessions: int) -> list[BreadthDay]:
        return await self._history.breadth_history(sessions)

    # ---- orders -------------------------------------------------------------------------------
    async def place_combo(self, order: ComboOrder) -> OrderState:
        return await self._orders.place(order)

    async def open_orders(self) -> list[OrderState]:
        return await self._orders.open_orders()

    async def cancel(self, order_id: int) -> None:
        await self._orders.cancel(order_id)

    def order_events(self) -> EventStream:
        return self._orders.events()
