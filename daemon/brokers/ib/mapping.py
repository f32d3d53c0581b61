"""Pure translation between Interactive Brokers' wire values and the core's types.

Nothing here imports the IB client library: the inputs are the plain strings and numbers
IB sends (library objects are read through the ``IbContractLike`` attributes), the outputs
are core types or keyword dicts the adapter turns into library objects. Every IB quirk the
adapter depends on is a table or a small function here (dates and expiries in
``dates.py``), testable without a socket (nautilus_trader's lesson: translation is data).

Error codes: https://www.interactivebrokers.com/campus/ibkr-api-page/tws-api-error-codes/
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from daemon.brokers.ib.dates import (
    AM_SETTLED_CLASSES,
    ib_date,
    option_expiry,
    parse_ib_date,
    vix_future_expiry,
)
from daemon.core.broker import ComboOrder, OrderStatus
from daemon.core.models import Action, Contract, FeedKind, Right, SecType

# ---- error codes, sorted by what the adapter must do about them -----------------------------
# Each code is in one set at most (tests/ib/test_ib_mapping.py checks every set), and every
# set is acted on: the session's error handler (session.py) for the connection's, pacing
# and refused cancels; market data, history and order status for the requests' own.
# The gateway lost its link to IB's servers (the API socket may stay up): requests stall.
CONNECTIVITY_LOST = frozenset({1100, 2110})
# 1101: restored, market data subscriptions lost (the standing streams are renewed);
# 1102: restored with data kept.
CONNECTIVITY_RESTORED = frozenset({1101, 1102})
DATA_LOST_ON_RESTORE = 1101
# The API socket itself is unusable: 502 cannot connect, 504 not connected,
# 507 bad message length (the gateway closes the socket), 1300 socket port reset.
SOCKET_LOST = frozenset({502, 504, 507, 1300})
# Another session already uses our client id; the gateway then closes the socket.
CLIENT_ID_IN_USE = frozenset({326})
# No data permission: 354 not subscribed, 10089/10090 needs (more) API subscriptions,
# 10168 not subscribed and delayed data disabled, 10197 a competing live session has it.
NO_MARKET_DATA = frozenset({354, 10089, 10090, 10168, 10197})
# Historical data service errors (162: query returned no data / not permitted).
HISTORICAL_DATA_ERRORS = frozenset({162, 166, 321, 366})
# Refused on placement: 103 duplicate order id, 110 price off the tick grid, 200 no such
# contract, 201 rejected (margin, permissions, ...), 203 security not allowed. 200 also
# answers a contract lookup that matches nothing; the lookup reads that as an empty reply
# (contracts.py), so 200 needs no set of its own. 202 (order cancelled) needs none either:
# the order's status says Cancelled, and a code outside this set leaves it CANCELLED.
ORDER_REJECTED = frozenset({103, 110, 200, 201, 203})
# A cancel IB refuses: 161 not in a cancellable state, 10147 no order with that id, 10148
# cannot be cancelled in its state (e.g. already filled).
CANCEL_REFUSED = frozenset({161, 10147, 10148})
# 100: more than 50 messages per second; the library throttles, so this means a burst.
PACING = frozenset({100})
# Farm status notes the gateway sends after every connect; 10167 = delayed data shown.
INFORMATIONAL = frozenset({2104, 2106, 2107, 2108, 2119, 2158, 10167})

# ---- order status --------------------------------------------------------------------------
# IB status -> ours; None = not a change of state (ValidationError is ib_async's note of a
# warning on a live order). PreSubmitted: held by IB until the route accepts it (still live).
# Inactive: IB refused or deactivated the order (e.g. error 201 after the fact).
ORDER_STATUS: dict[str, OrderStatus | None] = {
    "ApiPending": OrderStatus.PENDING_SUBMIT,
    "PendingSubmit": OrderStatus.PENDING_SUBMIT,
    "PreSubmitted": OrderStatus.SUBMITTED,
    "Submitted": OrderStatus.SUBMITTED,
    "ApiUpdate": OrderStatus.SUBMITTED,
    "PendingCancel": OrderStatus.SUBMITTED,
    "Filled": OrderStatus.FILLED,
    "ApiCancelled": OrderStatus.CANCELLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Inactive": OrderStatus.REJECTED,
    "ValidationError": None,
}

# ---- contracts -------------------------------------------------------------------------------
CURRENCY = "USD"
OPTION_EXCHANGE = "SMART"
COMBO_EXCHANGE = "SMART"
# Cboe publishes SPX, VIX and VIX3M; IB lists them as indices on CBOE.
INDEX_EXCHANGES: dict[str, str] = {"SPX": "CBOE", "VIX": "CBOE", "VIX3M": "CBOE"}
VIX_FUTURE_EXCHANGE = "CFE"
VIX_FUTURE_CLASS = "VX"  # VXM (mini) and the weeklies are left out, see vix_future_expiry
SEC_TYPES: dict[str, SecType] = {"IND": SecType.INDEX, "FUT": SecType.FUTURE, "OPT": SecType.OPTION}
MARKET_DATA_TYPES: dict[str, int] = {"live": 1, "frozen": 2, "delayed": 3, "delayed_frozen": 4}
# The type a ticker's quotes really are (IB's marketDataType message, 58), whatever was
# asked: with "live" asked and no subscription IB may still answer delayed (10167).
FEED_KINDS: dict[int, FeedKind] = {
    1: FeedKind.LIVE,
    2: FeedKind.FROZEN,
    3: FeedKind.DELAYED,
    4: FeedKind.DELAYED_FROZEN,
}


def feed_kind(market_data_type: int | None) -> FeedKind:
    """The feed of a ticker; a type IB may add later is never taken for live."""
    if market_data_type is None:
        return FeedKind.LIVE  # no 58 message: IB sends one only when the type is not 1
    return FEED_KINDS.get(int(market_data_type), FeedKind.DELAYED)


# Paper accounts: DU (individual), DF (advisor master).
PAPER_ACCOUNT_PREFIXES = ("DU", "DF")


class IbContractLike(Protocol):
    """The attributes of an IB library ``Contract`` this module reads."""

    conId: int
    symbol: str
    secType: str
    lastTradeDateOrContractMonth: str
    strike: float
    right: str
    multiplier: str
    localSymbol: str
    tradingClass: str


# ---- values ----------------------------------------------------------------------------------
# IB's UNSET_DOUBLE is the largest float; anything this big is a marker, not a value.
_UNSET_DOUBLE_FLOOR = 1e300


def clean_price(value: float | None) -> float | None:
    """A price, or None for IB's "no value" markers: NaN, UNSET, -1 and below zero."""
    if value is None or not math.isfinite(value) or value < 0 or value >= _UNSET_DOUBLE_FLOOR:
        return None
    return float(value)


def quote_side(price: float | None, size: float | None) -> float | None:
    """One side of a quote: None when the price is unset or the size is known to be 0."""
    if size is not None and math.isfinite(size) and size <= 0:
        return None
    return clean_price(price)


def model_iv_sigma(value: float | None) -> float | None:
    """IB's model implied vol (tick 13, a decimal), None when absent or not positive."""
    if value is None or not math.isfinite(value) or not 0 < value < _UNSET_DOUBLE_FLOOR:
        return None
    return float(value)


def is_paper_account(account_id: str) -> bool:
    return account_id.startswith(PAPER_ACCOUNT_PREFIXES)


# ---- contracts: IB -> core --------------------------------------------------------------------
def _multiplier(text: str, default: int) -> int:
    try:
        return int(float(text)) if text else default
    except ValueError:
        return default


def contract_from_ib(
    c: IbContractLike, min_tick: float | None = None, real_expiration: str = ""
) -> Contract:
    """The core's contract for an IB contract; anything but an index, a future or an option
    (a stock, a bond, ...) passes through as ``SecType.OTHER`` with its symbol."""
    sec_type = SEC_TYPES.get(c.secType, SecType.OTHER)
    con_id = c.conId or None
    tick = min_tick if min_tick is not None and math.isfinite(min_tick) and min_tick > 0 else None
    if sec_type is SecType.OPTION:
        return Contract(
            symbol=c.symbol,
            sec_type=sec_type,
            trading_class=c.tradingClass or c.symbol,
            expiry=option_expiry(
                c.lastTradeDateOrContractMonth, c.localSymbol, c.tradingClass, real_expiration
            ),
            strike=float(c.strike),
            right=Right(c.right[:1]) if c.right[:1] in ("C", "P") else None,
            multiplier=_multiplier(c.multiplier, 100),
            con_id=con_id,
            min_tick=tick,
        )
    if sec_type is SecType.FUTURE:
        expiry = vix_future_expiry(c.lastTradeDateOrContractMonth, real_expiration)
        if expiry is None:
            expiry = parse_ib_date(real_expiration or c.lastTradeDateOrContractMonth)
        return Contract(
            symbol=c.symbol,
            sec_type=sec_type,
            trading_class=c.tradingClass,
            expiry=expiry,
            multiplier=_multiplier(c.multiplier, 1000),
            con_id=con_id,
            min_tick=tick,
        )
    return Contract(
        symbol=c.symbol or c.localSymbol,
        sec_type=sec_type,
        trading_class=c.tradingClass,
        multiplier=_multiplier(c.multiplier, 1),
        con_id=con_id,
        min_tick=tick,
    )


# ---- contracts: core -> IB request fields -------------------------------------------------------
def exchange_for(contract: Contract) -> str:
    if contract.sec_type is SecType.INDEX:
        return INDEX_EXCHANGES.get(contract.symbol, "CBOE")
    if contract.sec_type is SecType.FUTURE:
        return VIX_FUTURE_EXCHANGE
    return OPTION_EXCHANGE


def index_fields(name: str) -> dict[str, object]:
    return {
        "symbol": name,
        "secType": "IND",
        "exchange": INDEX_EXCHANGES.get(name, "CBOE"),
        "currency": CURRENCY,
    }


def vix_futures_query_fields() -> dict[str, object]:
    """Every listed VIX future (contract details of this partial contract)."""
    return {
        "symbol": "VIX",
        "secType": "FUT",
        "exchange": VIX_FUTURE_EXCHANGE,
        "currency": CURRENCY,
        "tradingClass": VIX_FUTURE_CLASS,
    }


def chain_query_fields(symbol: str, trading_class: str, expiry: date) -> dict[str, object]:
    """A partial option contract whose contract details are every strike and right of one
    expiry. AM-settled classes are asked by month (IB may file them under the last trading
    day), the caller keeps the contracts whose parsed expiry matches."""
    when = expiry.strftime("%Y%m") if trading_class in AM_SETTLED_CLASSES else ib_date(expiry)
    return {
        "symbol": symbol,
        "secType": "OPT",
        "exchange": OPTION_EXCHANGE,
        "currency": CURRENCY,
        "tradingClass": trading_class,
        "lastTradeDateOrContractMonth": when,
    }


def by_con_id_fields(contract: Contract) -> dict[str, object]:
    """A known contract by its conId alone: other fields would have to match IB's exactly
    (an AM expiry's date, for one), and the conId says everything."""
    return {"conId": contract.con_id, "exchange": exchange_for(contract)}


# ---- orders ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderPlan:
    """How a ``ComboOrder`` goes to IB. A single-leg combo is sent as a plain order (IB
    wants two legs or more in a BAG): ``ratio`` IB units per combo unit, and the combo price
    is ``sign * ratio * IB price`` (sign -1 when the plain order sells)."""

    bag: bool
    symbol: str
    action: Action
    quantity: int  # IB units: combos for a BAG, contracts for a plain order
    limit_price: float  # per IB unit
    ratio: int = 1
    sign: int = 1

    def combo_qty(self, ib_qty: float) -> int:
        return round(ib_qty / self.ratio)

    def combo_price(self, ib_price: float) -> float:
        return self.sign * self.ratio * ib_price


def order_plan(order: ComboOrder) -> OrderPlan:
    """The IB side, quantity and price for ``order``; raises ValueError when IB cannot take
    it as one order (legs on different underlyings, no legs)."""
    if not order.legs:
        raise ValueError("a combo needs at least one leg")
    symbols = {leg.contract.symbol for leg in order.legs}
    if len(symbols) != 1:
        raise ValueError(f"IB combos need one underlying, got {sorted(symbols)}")
    symbol = symbols.pop()
    if len(order.legs) > 1:
        return OrderPlan(True, symbol, Action.BUY, order.quantity, order.limit_price_usd)
    # Unrounded: with a ratio above 1 the per-contract price may fall off the tick grid,
    # and IB then refuses it (110) rather than this adapter trading at another price.
    leg = order.legs[0]
    sign = 1 if leg.action is Action.BUY else -1
    price = sign * order.limit_price_usd / leg.ratio
    return OrderPlan(False, symbol, leg.action, order.quantity * leg.ratio, price, leg.ratio, sign)


def good_till(now: datetime, tif_s: float) -> str:
    """IB's UTC ``goodTillDate`` for an order that lives ``tif_s`` seconds from ``now``."""
    return (now + timedelta(seconds=tif_s)).astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")


def order_status(
    ib_status: str, filled_qty: int, remaining_qty: int, error_code: int = 0
) -> OrderStatus | None:
    """Our status from IB's: partial fills of a live order are PARTIALLY_FILLED; a
    cancellation caused by a placement error (``ORDER_REJECTED``) is REJECTED."""
    status = ORDER_STATUS.get(ib_status, OrderStatus.SUBMITTED if ib_status else None)
    if status is OrderStatus.CANCELLED and error_code in ORDER_REJECTED and filled_qty == 0:
        return OrderStatus.REJECTED
    if status is OrderStatus.SUBMITTED and filled_qty > 0:
        return OrderStatus.FILLED if remaining_qty <= 0 else OrderStatus.PARTIALLY_FILLED
    return status


# ---- history ------------------------------------------------------------------------------------
# NYSE breadth as IB index symbols on exchange NYSE, one daily series each (see history.py
# for what is known about their availability).
BREADTH_EXCHANGE = "NYSE"
BREADTH_SYMBOLS: dict[str, str] = {
    "advancing": "ADV-NYSE",
    "declining": "DECL-NYSE",
    "unchanged": "UNCH-NYSE",
}


def breadth_index_fields(symbol: str) -> dict[str, object]:
    return {"symbol": symbol, "secType": "IND", "exchange": BREADTH_EXCHANGE, "currency": CURRENCY}


def history_duration(sessions: int) -> str:
    """An IB duration covering ``sessions`` completed sessions: 7 calendar days per 5
    sessions plus two weeks of holidays and the session in progress. IB takes days up to
    365 and whole years beyond."""
    days = math.ceil(max(sessions, 1) * 7 / 5) + 14
    return f"{days} D" if days <= 365 else f"{math.ceil(days / 365)} Y"
