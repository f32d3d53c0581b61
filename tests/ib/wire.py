"""The TWS API wire format, gateway side, at server version 176: framing, and the reply
messages the fake gateway sends, field by field.

Layouts were read from the installed clients' ``decoder.py`` (ib_async 2.1 and
ib_insync 0.9.86 decode them identically at this version; ib_insync unpacks
``position`` and ``execDetails`` strictly, so the counts here are exact).
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

SERVER_VERSION = 176
BAG_CON_ID = 28812380  # IB gives every BAG contract this conId


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def frame(fields: Sequence[object]) -> bytes:
    """One message: 4-byte big-endian length, then each field ended by NUL."""
    payload = "".join(_text(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> list[str]:
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    return (await reader.readexactly(size)).decode().split("\0")[:-1]


async def read_handshake(reader: asyncio.StreamReader) -> str | None:
    """``API\\0`` then one framed text without a NUL: the client's version range."""
    if await reader.readexactly(4) != b"API\0":
        return None
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    return (await reader.readexactly(size)).decode()


@dataclass(frozen=True)
class WireContract:
    """The 12 contract fields every request carries, as the client sent them."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade: str
    strike: float
    right: str
    multiplier: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str

    @classmethod
    def parse(cls, f: Sequence[str]) -> WireContract:
        return cls(
            int(f[0] or 0), f[1], f[2], f[3], float(f[4] or 0), f[5], f[6], f[7], f[8], f[9],
            f[10], f[11],
        )  # fmt: skip


@dataclass(frozen=True)
class BookContract:
    """A contract the fake gateway lists."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = "SMART"
    currency: str = "USD"
    local_symbol: str = ""
    trading_class: str = ""
    real_expiration: str = ""
    min_tick: float = 0.05

    def fields(self) -> list[object]:
        """conId, symbol, secType, expiry, strike, right, multiplier, exchange, currency,
        localSymbol, tradingClass (position / execDetails / openOrder order)."""
        return [
            self.con_id, self.symbol, self.sec_type, self.last_trade, self.strike, self.right,
            self.multiplier, self.exchange, self.currency, self.local_symbol, self.trading_class,
        ]  # fmt: skip


# ---- replies ---------------------------------------------------------------------------------
def error(req_id: int, code: int, message: str) -> list[object]:
    return [4, 2, req_id, code, message, ""]  # sv >= 166: advancedOrderRejectJson


def position(account: str, c: BookContract, qty: float, avg_cost: float) -> list[object]:
    return [61, 3, account, *c.fields(), qty, avg_cost]


def contract_details(req_id: int, c: BookContract) -> list[object]:
    return [
        10, req_id, c.symbol, c.sec_type, c.last_trade, c.strike, c.right, c.exchange,
        c.currency, c.local_symbol, c.trading_class, c.trading_class, c.con_id, c.min_tick,
        c.multiplier, "LMT,MKT", "SMART,CBOE", 1, 0, f"{c.symbol} {c.sec_type}", c.exchange,
        c.last_trade[:6], "", "", "", "US/Eastern", "", "", "", "",
        0,  # no secIds
        1, c.symbol, "IND", "", c.real_expiration, "", 1, 1, 1,
    ]  # fmt: skip


def sec_def_option_parameter(
    req_id: int, exchange: str, under_con_id: int, trading_class: str, expirations: Sequence[str],
    strikes: Sequence[float],
) -> list[object]:  # fmt: skip
    return [
        75, req_id, exchange, under_con_id, trading_class, "100",
        len(expirations), *expirations, len(strikes), *strikes,
    ]  # fmt: skip


def tick_price(req_id: int, tick_type: int, price: float, size: float) -> list[object]:
    return [1, 6, req_id, tick_type, price, size, 0]


def model_option_computation(req_id: int, tick_type: int, iv: float, under: float) -> list[object]:
    # impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice (-1/-2: unset)
    return [21, req_id, tick_type, 1, iv, 0.25, -1, -1, 0.001, 5.0, -1.0, under]


def historical_data(req_id: int, bars: Sequence[tuple[str, float]]) -> list[object]:
    fields: list[object] = [17, req_id, "", "", len(bars)]
    for day, close in bars:
        fields += [day, close, close, close, close, 0, close, 0]
    return fields


def order_status(
    order_id: int, status: str, filled: float, remaining: float, avg: float, perm_id: int,
    client_id: int,
) -> list[object]:  # fmt: skip
    # orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice,
    # clientId (must be the session's), whyHeld, mktCapPrice
    return [3, order_id, status, filled, remaining, avg, perm_id, 0, avg, client_id, "", 0]


def exec_details(
    order_id: int, c: BookContract, exec_id: str, time: str, account: str, side: str,
    shares: float, price: float, perm_id: int, client_id: int, order_ref: str,
) -> list[object]:  # fmt: skip
    return [
        11, -1, order_id, *c.fields(), exec_id, time, account, c.exchange, side, shares, price,
        perm_id, client_id, 0, shares, price, order_ref, "", "", "", 1,
    ]  # fmt: skip


def open_order(
    order_id: int, c: BookContract, legs: Sequence[tuple[int, int, str, str]], action: str,
    qty: float, limit: float, tif: str, account: str, order_ref: str, client_id: int,
    perm_id: int, status: str,
) -> list[object]:  # fmt: skip
    """openOrder (5) for a limit order; every field after the legs is IB's default."""
    head: list[object] = [
        5, order_id, *c.fields(), action, qty, "LMT", limit, "", tif, "", account, "", 0,
        order_ref, client_id, perm_id, 0, 0, 0, "", "", "", "", "",
        "",  # faProfile (sv < 177)
        "", "", "", "", "", 0, "", "", 0, "", "", "", "", "", 0, 0, 0, 0, "", 0, 0, 0, "",
        0, 0, "", 0, "", "",  # ... volatility, volatilityType, deltaNeutralOrderType ""
        0, 0, "", "", "", "",  # continuousUpdate ... basisPointsType
        "|".join(f"{con_id}|{ratio}" for con_id, ratio, _, _ in legs),
        len(legs),
    ]  # fmt: skip
    for con_id, ratio, leg_action, exchange in legs:
        head += [con_id, ratio, leg_action, exchange, 0, 0, "", -1]
    tail: list[object] = [
        0, 0,  # no order combo leg prices, no smart combo routing params
        "", "", "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        0, "", "", 0, 0,  # optOutSmartRouting, clearingAccount, clearingIntent, notHeld, dnc
        "",  # algoStrategy
        0, 0, status, "", "", "", "", "", "", "", "", "", "", "", "", "", "", 0, 0,
        0,  # no conditions
        "", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, "", 0,
        "", "", 0,  # duration, postToAts, autoCancelParent
        "", "", "", "", "",  # minTradeQty ... midOffsetAtHalf (sv >= 170)
    ]  # fmt: skip
    return head + tail
