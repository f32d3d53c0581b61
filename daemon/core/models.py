"""Plain data shared by every part of the core: contracts, positions, quotes, the snapshot.

Everything here is frozen and free of broker types: the adapters translate the broker's
objects into these at the boundary. "No value" is ``None``, never NaN, past that boundary.

Units: prices in USD per share (the contract multiplier turns them into dollars), strikes
in index points, VIX and vols quoted in vol points (VIX 18.5 = 18.5) unless a name says
``_frac`` or ``sigma`` (a decimal fraction, 0.185).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any


class Right(StrEnum):
    CALL = "C"
    PUT = "P"


class SecType(StrEnum):
    INDEX = "IND"
    FUTURE = "FUT"
    OPTION = "OPT"
    OTHER = "OTHER"


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True, order=True)
class Contract:
    """One instrument. ``symbol`` is the underlying (SPX, VIX); ``trading_class`` tells
    SPX (monthly, AM-settled) from SPXW (PM-settled) and VIX from VIXW."""

    symbol: str
    sec_type: SecType
    trading_class: str = ""
    expiry: date | None = None
    strike: float | None = None
    right: Right | None = None
    multiplier: int = 100
    con_id: int | None = None
    # Minimum price increment as the broker reports it (contract metadata), if it did.
    min_tick: float | None = None

    @property
    def is_option(self) -> bool:
        return self.sec_type is SecType.OPTION

    @cached_property
    def key(self) -> str:
        """A stable human-readable identity, e.g. ``SPXW 2026-12-18 5800 P``.

        Formatted once per object and kept in its ``__dict__`` (``cached_property``
        writes there directly, so a frozen instance can keep it): a cycle asks ~450
        times, mostly of the same contracts, which the broker adapters reuse from cycle
        to cycle. Not a field, so equality, hashing, ordering, ``dataclasses.replace``
        and ``to_plain`` see the fields only; it is a function of them, so a copy or an
        unpickled instance that carries it carries the right one."""
        if self.sec_type is SecType.OPTION:
            strike = "?" if self.strike is None else f"{self.strike:g}"
            return f"{self.trading_class} {self.expiry} {strike} {self.right}"
        if self.sec_type is SecType.FUTURE:
            return f"{self.symbol} FUT {self.expiry}"
        return f"{self.symbol} {self.sec_type}"

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Contract:
        """Inverse of ``plain.to_plain(contract)``: every field (the journal keeps orders'
        legs this way)."""
        return cls(
            symbol=d["symbol"],
            sec_type=SecType(d["sec_type"]),
            trading_class=d["trading_class"],
            expiry=None if d["expiry"] is None else date.fromisoformat(d["expiry"]),
            strike=d["strike"],
            right=None if d["right"] is None else Right(d["right"]),
            multiplier=int(d["multiplier"]),
            con_id=d["con_id"],
            min_tick=d["min_tick"],
        )


@dataclass(frozen=True)
class Position:
    contract: Contract
    quantity: int  # signed: + long, - short, in contracts
    avg_cost_usd: float = 0.0  # per contract, multiplier included (IB convention)


class FeedKind(StrEnum):
    """What kind of market data a quote is: only ``LIVE`` may be traded on. IB's market
    data types 1-4 (reqMarketDataType): frozen = the last quote kept while the market is
    closed, delayed = 15-20 minutes old (error 10167 announces it)."""

    LIVE = "live"
    FROZEN = "frozen"
    DELAYED = "delayed"
    DELAYED_FROZEN = "delayed_frozen"


@dataclass(frozen=True)
class Quote:
    """A two-sided quote with the time the market data was stamped.

    ``bid``/``ask`` are ``None`` when the broker had no side. ``model_iv_sigma`` carries the
    broker's own implied vol (a decimal) when it sends one. ``feed`` says whether the quote
    is live; anything else fails validation whatever its time stamp says."""

    bid: float | None
    ask: float | None
    time: datetime
    last: float | None = None
    model_iv_sigma: float | None = None
    feed: FeedKind = FeedKind.LIVE

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return self.last if self.bid is None and self.ask is None else None
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True)
class OptionQuote:
    contract: Contract
    quote: Quote


@dataclass(frozen=True)
class DailyBar:
    day: date
    close: float


@dataclass(frozen=True)
class BreadthDay:
    """One session of NYSE issues: advancing, declining, unchanged."""

    day: date
    advancing: int
    declining: int
    unchanged: int


class EventKind(StrEnum):
    FOMC = "FOMC"
    CPI = "CPI"
    PPI = "PPI"
    GDP = "GDP"


@dataclass(frozen=True)
class MarketEvent:
    kind: EventKind
    day: date
    note: str = ""


@dataclass(frozen=True)
class MarketSnapshot:
    """Everything one cycle knows about the market and the account, taken at ``now``.

    Index quotes: ``spx``, ``vix``, ``vix3m``. ``vix_futures`` maps a VIX future's
    expiry (final settlement date) to its quote. ``options`` holds the SPX/SPXW and VIX
    chains the cycle looked at, held positions' legs included."""

    now: datetime
    account_id: str
    is_paper: bool
    positions: tuple[Position, ...]
    spx: Quote
    vix: Quote
    vix3m: Quote | None
    vix_futures: dict[date, Quote] = field(default_factory=dict)
    options: tuple[OptionQuote, ...] = ()
    spx_history: tuple[DailyBar, ...] = ()
    breadth_history: tuple[BreadthDay, ...] = ()
    # Why ``breadth_history`` is empty when the broker could not give it ("" otherwise):
    # the breadth signal's "unavailable" text carries it.
    breadth_unavailable: str = ""
    events: tuple[MarketEvent, ...] = ()
