"""A fake IB Gateway: an asyncio TCP server on 127.0.0.1 speaking the TWS API (server
version 176) well enough for the real ``ib_async`` / ``ib_insync`` client.

It performs the handshake, answers the start-up requests every connect makes, and serves
the ``Book``: positions, contract details, option parameters, snapshots, daily bars, and
orders (placeOrder, cancelOrder) with openOrder / orderStatus / execDetails replies.
Scripted faults: ``client_id_in_use`` / ``busy_client_ids`` (326 and a closed socket),
``no_market_data`` (354 for those symbols), ``silent`` (request message ids left unanswered),
``order_mode = "reject"`` (201), and ``drop_with_1100()``. Everything it was sent is kept
(``requests``, ``orders``, ``cancels``, ...) for tests to assert on.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.ib import wire
from tests.ib.book import Book, BookQuote
from tests.ib.wire import BAG_CON_ID, BookContract, WireContract, frame, read_frame, read_handshake

INFO_AFTER_CONNECT = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
NO_SECURITY_DEFINITION = "No security definition has been found for the request"
DELAYED_SHOWN = "Requested market data is not subscribed. Displaying delayed market data."
EXEC_TIME = "20261124 15:00:01 US/Eastern"
# Tick types: (live, delayed) for bid, ask, last and the model option computation.
BID, ASK, LAST, MODEL = (1, 66), (2, 67), (4, 68), (13, 83)


@dataclass
class PlacedOrder:
    """A placeOrder as the gateway parsed it off the wire."""

    order_id: int
    client_id: int
    contract: WireContract
    action: str
    quantity: float
    order_type: str
    limit_price: float
    tif: str
    good_till: str
    account: str
    order_ref: str
    transmit: bool
    legs: list[tuple[int, int, str, str]] = field(default_factory=list)  # conId, ratio, ...
    status: str = "PendingSubmit"

    @classmethod
    def parse(cls, f: Sequence[str], client_id: int) -> PlacedOrder:
        contract = WireContract.parse(f[2:14])
        legs: list[tuple[int, int, str, str]] = []
        i = 35  # after hidden: the BAG's legs, or the fields that follow them
        if contract.sec_type == "BAG":
            n = int(f[i])
            legs = [
                (int(f[j]), int(f[j + 1]), f[j + 2], f[j + 3])
                for j in range(i + 1, i + 1 + 8 * n, 8)
            ]
            i += 1 + 8 * n
            i += 1 + int(f[i])  # per-leg prices
            i += 1 + 2 * int(f[i])  # smart combo routing params
        # then: "" (shares allocation), discretionaryAmt, goodAfterTime, goodTillDate
        return cls(
            order_id=int(f[1]), client_id=client_id, contract=contract, action=f[16],
            quantity=float(f[17]), order_type=f[18], limit_price=float(f[19]), tif=f[21],
            good_till=f[i + 3], account=f[23], order_ref=f[26], transmit=f[27] == "1", legs=legs,
        )  # fmt: skip


@dataclass(eq=False)
class _Conn:
    writer: asyncio.StreamWriter
    client_id: int = -1
    market_data_type: int = 1

    def send(self, fields: Sequence[object]) -> None:
        if not self.writer.is_closing():
            self.writer.write(frame(fields))


def _matches(c: BookContract, q: WireContract) -> bool:
    if q.con_id:
        return c.con_id == q.con_id
    checks = (
        (q.symbol, c.symbol), (q.sec_type, c.sec_type), (q.right[:1], c.right),
        (q.trading_class, c.trading_class), (q.currency, c.currency),
        (q.local_symbol, c.local_symbol),
    )  # fmt: skip
    if any(asked and asked != listed for asked, listed in checks):
        return False
    if q.last_trade and not c.last_trade.startswith(q.last_trade):
        return False
    if q.strike and q.strike != c.strike:
        return False
    return q.exchange in ("", "SMART") or q.exchange == c.exchange


class FakeGateway:
    """Start with ``async with FakeGateway() as gw``; connect a client to ``gw.port``."""

    def __init__(self, book: Book | None = None) -> None:
        self.book = book or Book()
        self.port = 0
        self.client_id_in_use = False  # every id: 326
        self.busy_client_ids: set[int] = set()  # these ids only: 326
        self.no_market_data: set[str] = set()
        self.silent: set[int] = set()
        self.order_mode = "fill"  # "fill" | "rest" | "reject"
        self.snapshot_delay_s = 0.0
        self.stream_interval_s = 0.05
        self.streams: dict[tuple[int, int], tuple[_Conn, BookContract]] = {}
        self.stream_requests = 0
        self._by_con_id: dict[int, BookContract] = {}
        self.handshakes: list[str] = []
        self.requests: list[list[str]] = []
        self.orders: dict[int, PlacedOrder] = {}
        self.cancels: list[int] = []
        self.market_data_types: list[int] = []
        self.history_requests: list[dict[str, str]] = []
        self.max_open_snapshots = 0
        self._open_snapshots = 0
        self._next_order_id = 1
        self._exec_seq = 0
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._handlers: dict[int, Callable[[_Conn, list[str]], None]] = {
            71: self._start_api, 61: self._positions, 5: self._open_orders,
            99: lambda conn, f: conn.send([102]), 6: self._account_updates,
            76: self._account_updates_multi, 7: lambda conn, f: conn.send([55, 1, f[2]]),
            9: self._contract_details, 78: self._sec_def, 59: self._market_data_type,
            16: self._all_open_orders,
            1: self._market_data, 2: self._cancel_market_data, 20: self._historical,
            3: self._place_order,
            4: self._cancel_order, 8: lambda conn, f: conn.send([9, 1, self._next_order_id]),
            62: lambda conn, f: conn.send([64, 1, f[2]]),  # account summary: nothing, end
        }  # fmt: skip

    async def __aenter__(self) -> FakeGateway:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._tick_streams())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for conn in list(self._conns):
            conn.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def drop_with_1100(self) -> None:
        """IB's connectivity-lost notice (1100), then every socket closes."""
        for conn in list(self._conns):
            conn.send(wire.error(-1, 1100, "Connectivity between IB and TWS has been lost."))
            await conn.writer.drain()
            conn.writer.close()

    async def broadcast_error(self, code: int, message: str) -> None:
        """A notice for no request (reqId -1) to every client, e.g. 1100 / 1102."""
        for conn in list(self._conns):
            conn.send(wire.error(-1, code, message))
            await conn.writer.drain()

    def _find(self, query: WireContract) -> list[BookContract]:
        """The listed contracts a request's contract names; by conId through an index
        (a realistic listing has ~100k contracts), else by a scan of the fields."""
        if query.con_id:
            if len(self._by_con_id) != len(self.book.contracts):
                self._by_con_id = {c.con_id: c for c in self.book.contracts}
            found = self._by_con_id.get(query.con_id)
            return [] if found is None else [found]
        return [c for c in self.book.contracts if _matches(c, query)]

    def requests_of(self, msg_id: int) -> list[list[str]]:
        return [f for f in self.requests if f[0] == str(msg_id)]

    # ---- the connection -------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self._conns.add(conn)
        try:
            versions = await read_handshake(reader)
            if versions is None:
                return
            self.handshakes.append(versions)
            conn.send([wire.SERVER_VERSION, "20261124 09:31:02 EST"])
            while True:
                fields = await read_frame(reader)
                self.requests.append(fields)
                handler = self._handlers.get(int(fields[0]))
                if handler is not None and int(fields[0]) not in self.silent:
                    handler(conn, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client left, or the gateway is shutting down
        finally:
            self._conns.discard(conn)
            writer.close()

    def _start_api(self, conn: _Conn, f: list[str]) -> None:
        conn.client_id = int(f[2])
        if self.client_id_in_use or conn.client_id in self.busy_client_ids:
            conn.send(wire.error(-1, 326, "Unable to connect as the client id is already in use."))
            conn.writer.close()
            return
        conn.send([9, 1, self._next_order_id])
        conn.send([15, 1, self.book.account])
        for code, message in INFO_AFTER_CONNECT:
            conn.send(wire.error(-1, code, message))

    # ---- account ----------------------------------------------------------------------------
    def _positions(self, conn: _Conn, _f: list[str]) -> None:
        for contract, qty, avg_cost in self.book.positions:
            conn.send(wire.position(self.book.account, contract, qty, avg_cost))
        conn.send([62, 1])

    def _account_updates(self, conn: _Conn, f: list[str]) -> None:
        conn.send([6, 2, "NetLiquidation", "1000000", "USD", f[3]])
        conn.send([8, 1, "15:00"])
        conn.send([54, 1, f[3]])

    def _account_updates_multi(self, conn: _Conn, f: list[str]) -> None:
        conn.send([73, 1, f[2], f[3], "", "NetLiquidation", "1000000", "USD"])
        conn.send([74, 1, f[2]])

    # ---- reference data ---------------------------------------------------------------------
    def _contract_details(self, conn: _Conn, f: list[str]) -> None:
        req_id, query = int(f[2]), WireContract.parse(f[3:15])
        found = self._find(query)
        if not found:
            conn.send(wire.error(req_id, 200, NO_SECURITY_DEFINITION))
            return
        for contract in found:
            conn.send(wire.contract_details(req_id, contract))
        conn.send([52, 1, req_id])

    def _sec_def(self, conn: _Conn, f: list[str]) -> None:
        req_id, symbol, under_con_id = int(f[1]), f[2], int(f[5] or 0)
        for exchange, tc, expirations, strikes in self.book.sec_def(symbol):
            conn.send(
                wire.sec_def_option_parameter(
                    req_id, exchange, under_con_id, tc, expirations, strikes
                )
            )
        conn.send([76, req_id])

    def _historical(self, conn: _Conn, f: list[str]) -> None:
        req_id, query = int(f[1]), WireContract.parse(f[2:14])
        self.history_requests.append(
            {"symbol": query.symbol, "end": f[15], "bar_size": f[16], "duration": f[17],
             "use_rth": f[18], "what": f[19]}
        )  # fmt: skip
        bars = self.book.bars.get(query.con_id)
        if not bars:
            conn.send(wire.error(req_id, 162, "Historical Market Data Service error message"))
            return
        conn.send(wire.historical_data(req_id, bars))

    # ---- market data ------------------------------------------------------------------------
    def _market_data_type(self, conn: _Conn, f: list[str]) -> None:
        conn.market_data_type = int(f[2])
        self.market_data_types.append(conn.market_data_type)

    def _market_data(self, conn: _Conn, f: list[str]) -> None:
        # [1, 11, reqId, C12, deltaNeutral flag, genericTicks, snapshot, ...] (no BAG here)
        if f[17] == "1":
            self._spawn(self._snapshot(conn, f))
            return
        req_id = int(f[2])
        contract = self._quotable(conn, req_id, f)
        if contract is not None:
            self.streams[(id(conn), req_id)] = (conn, contract)
            self.stream_requests += 1
            self._send_ticks(conn, req_id, contract, end=False)

    def _quotable(self, conn: _Conn, req_id: int, f: list[str]) -> BookContract | None:
        """The one listed contract a market data request names, or None after sending IB's
        refusal: 200 (no such contract) or 354 (no subscription for its symbol)."""
        found = self._find(WireContract.parse(f[3:15]))
        if len(found) != 1:
            conn.send(wire.error(req_id, 200, NO_SECURITY_DEFINITION))
        elif found[0].symbol in self.no_market_data:
            conn.send(wire.error(req_id, 354, "Requested market data is not subscribed."))
        else:
            return found[0]
        return None

    def _cancel_market_data(self, conn: _Conn, f: list[str]) -> None:
        self.streams.pop((id(conn), int(f[2])), None)

    def _spawn(self, step: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick_streams(self) -> None:
        """Standing subscriptions tick every ``stream_interval_s``, as live quotes do."""
        while True:
            await asyncio.sleep(self.stream_interval_s)
            for (_, req_id), (conn, contract) in list(self.streams.items()):
                if conn in self._conns:
                    self._send_ticks(conn, req_id, contract, end=False)

    async def _snapshot(self, conn: _Conn, f: list[str]) -> None:
        req_id = int(f[2])
        self._open_snapshots += 1
        self.max_open_snapshots = max(self.max_open_snapshots, self._open_snapshots)
        try:
            await asyncio.sleep(self.snapshot_delay_s)
            contract = self._quotable(conn, req_id, f)
            if contract is not None:
                self._send_ticks(conn, req_id, contract)
            await conn.writer.drain()
        finally:
            self._open_snapshots -= 1

    def _send_ticks(
        self, conn: _Conn, req_id: int, contract: BookContract, end: bool = True
    ) -> None:
        q = self.book.quotes.get(contract.con_id, BookQuote())
        kind = 1 if conn.market_data_type in (3, 4) else 0  # delayed tick types
        if kind:  # IB's notice that delayed quotes are shown in place of live ones
            conn.send(wire.error(req_id, 10167, DELAYED_SHOWN))
        conn.send([58, 1, req_id, conn.market_data_type])
        conn.send(wire.tick_price(req_id, BID[kind], q.bid, q.bid_size))
        conn.send(wire.tick_price(req_id, ASK[kind], q.ask, q.ask_size))
        if not math.isnan(q.last):
            conn.send(wire.tick_price(req_id, LAST[kind], q.last, 0))
        if contract.sec_type == "OPT" and not math.isnan(q.model_iv):
            conn.send(wire.model_option_computation(req_id, MODEL[kind], q.model_iv, 5950.25))
        if end:
            conn.send([57, 1, req_id])

    # ---- orders --------------------------------------------------------------------------------
    def _send_open_order(self, conn: _Conn, o: PlacedOrder) -> None:
        c = o.contract
        contract = BookContract(
            c.con_id or BAG_CON_ID, c.symbol, c.sec_type, c.last_trade, c.strike, c.right,
            c.multiplier, c.exchange, c.currency, c.local_symbol, c.trading_class,
        )  # fmt: skip
        conn.send(
            wire.open_order(
                o.order_id, contract, o.legs, o.action, o.quantity, o.limit_price, o.tif,
                o.account, o.order_ref, o.client_id, 1000 + o.order_id, o.status,
            )
        )  # fmt: skip

    def _send_status(self, conn: _Conn, o: PlacedOrder, filled: float, avg: float) -> None:
        remaining = o.quantity - filled
        conn.send(
            wire.order_status(
                o.order_id, o.status, filled, remaining, avg, 1000 + o.order_id, o.client_id
            )
        )

    def _place_order(self, conn: _Conn, f: list[str]) -> None:
        o = PlacedOrder.parse(f, conn.client_id)
        self.orders[o.order_id] = o
        self._next_order_id = max(self._next_order_id, o.order_id + 1)
        if self.order_mode == "reject":
            o.status = "Cancelled"
            conn.send(wire.error(o.order_id, 201, "Order rejected - reason:Insufficient margin"))
            return
        o.status = "Submitted"
        self._send_open_order(conn, o)
        self._send_status(conn, o, 0, 0)
        if self.order_mode == "fill":
            self._fill(conn, o)

    def _fill(self, conn: _Conn, o: PlacedOrder) -> None:
        perm_id = 1000 + o.order_id
        executions: list[tuple[BookContract, str, float, float]] = []
        for con_id, ratio, action, _ in o.legs:
            leg = self.book.by_con_id(con_id)
            assert leg is not None, f"unknown leg conId {con_id}"
            side = "BOT" if action == "BUY" else "SLD"
            executions.append((leg, side, o.quantity * ratio, 1.0))
        if o.legs:
            bag = BookContract(BAG_CON_ID, o.contract.symbol, "BAG")
            executions.append((bag, "BOT", o.quantity, o.limit_price))
        else:
            listed = self.book.by_con_id(o.contract.con_id)
            assert listed is not None
            side = "BOT" if o.action == "BUY" else "SLD"
            executions.append((listed, side, o.quantity, o.limit_price))
        for contract, side, shares, price in executions:
            self._exec_seq += 1
            conn.send(
                wire.exec_details(
                    o.order_id, contract, f"0001f4e8.{self._exec_seq:04d}.01.01", EXEC_TIME,
                    o.account, side, shares, price, perm_id, o.client_id, o.order_ref,
                )
            )  # fmt: skip
        o.status = "Filled"
        self._send_status(conn, o, o.quantity, o.limit_price)

    def _cancel_order(self, conn: _Conn, f: list[str]) -> None:
        order_id = int(f[2])
        self.cancels.append(order_id)
        o = self.orders.get(order_id)
        if o is None or o.status in ("Filled", "Cancelled"):
            conn.send(wire.error(order_id, 10147, f"OrderId {order_id} is not found."))
            return
        o.status = "Cancelled"
        conn.send(wire.error(order_id, 202, "Order Canceled - reason:"))
        self._send_status(conn, o, 0, 0)

    def _open_orders(self, conn: _Conn, _f: list[str]) -> None:
        """reqOpenOrders (5): this client's working orders only, as IB answers it."""
        self._send_working(conn, [o for o in self.orders.values() if o.client_id == conn.client_id])

    def _all_open_orders(self, conn: _Conn, _f: list[str]) -> None:
        """reqAllOpenOrders (16): every API client's working orders of the account."""
        self._send_working(conn, list(self.orders.values()))

    def _send_working(self, conn: _Conn, orders: list[PlacedOrder]) -> None:
        for o in orders:
            if o.status == "Submitted":
                self._send_open_order(conn, o)
                self._send_status(conn, o, 0, 0)
        conn.send([53, 1])

    async def fill_resting(self, order_id: int) -> None:
        """Fill a working order now; its messages go to the client that placed it only
        (IB streams an order's changes to its own client id), if it is still connected."""
        o = self.orders[order_id]
        owner = next((c for c in self._conns if c.client_id == o.client_id), None)
        if owner is None:
            o.status = "Filled"
            return
        self._fill(owner, o)
        await owner.writer.drain()
