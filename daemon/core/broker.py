"""The broker port: what the daemon asks of a broker, in core types only.

Two adapters implement it: the simulated market (``daemon.brokers.sim``) and Interactive
Brokers. Nothing here imports asyncio or a broker library: an ``async def`` in a
``Protocol`` is only a signature.

Prices are USD per share (the multiplier turns them into dollars). A combo is always
*bought* at ``limit_price_usd``: each leg's ``action`` says which side of that leg the
combo takes, so a positive price is a net debit and a negative one a net credit (the IB
BAG convention). One unit of the combo moves each leg's position by ``ratio`` contracts
(``+`` for BUY, ``-`` for SELL); ``quantity`` units move it ``ratio x quantity``.

Order lifecycle (``OrderStatus``)::

    PENDING_SUBMIT -> SUBMITTED -> PARTIALLY_FILLED* -> FILLED
                              \\-> CANCELLED (by cancel(), by the time in force, or at expiry)
    (refused on arrival)       -> REJECTED

Following an order: take a stream from ``order_events()`` *before* ``place_combo`` (the
stream is registered when the call returns, so nothing is missed), then ``async for`` over
it until an event for that ``order_id`` carries a terminal status; on your own deadline,
``cancel(order_id)`` and keep reading until the CANCELLED (or a last FILLED) event.
``close()`` the stream when done. Every event carries the order's whole state after it,
so a follower never has to add fills up itself.

Errors (``daemon.errors``): every call may raise ``BrokerDisconnected`` (the connection is
down: ``connect()`` again, then retry) or ``BrokerTimeout`` (no reply in time: retry);
``place_combo`` raises ``OrderRejected`` when the broker refuses the order on arrival (a
REJECTED event is published for it too), ``cancel`` raises it for an order id it does not
know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from daemon.core.models import (
    Action,
    BreadthDay,
    Contract,
    DailyBar,
    OptionQuote,
    Position,
    Quote,
)


class ConnectionState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    # Paper accounts at IB are the "DU..." ids; the execution guards refuse live ones
    # unless the configuration says otherwise.
    is_paper: bool


@dataclass(frozen=True)
class ComboLeg:
    contract: Contract
    ratio: int  # contracts of this leg per unit of the combo, > 0
    action: Action  # the side of this leg when the combo is bought


@dataclass(frozen=True)
class ComboOrder:
    """A limit order for ``quantity`` units of a combo (always bought; see the module)."""

    legs: tuple[ComboLeg, ...]
    quantity: int
    limit_price_usd: float  # per share of one combo unit; positive = debit, negative = credit
    order_ref: str  # the adjustment id, echoed in every state and fill
    # Time in force in seconds of market time; None = good for the day (until cancelled
    # or the legs expire).
    tif_s: float | None = None


class OrderStatus(StrEnum):
    PENDING_SUBMIT = "PendingSubmit"
    SUBMITTED = "Submitted"
    PARTIALLY_FILLED = "PartiallyFilled"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    REJECTED = "Rejected"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


@dataclass(frozen=True)
class OrderState:
    order_id: int
    order_ref: str
    status: OrderStatus
    filled_qty: int
    remaining_qty: int
    avg_fill_price_usd: float | None  # per share of one combo unit; None before a fill
    reason: str = ""  # why it was rejected or cancelled; empty otherwise
    # False: placed under another API client id of the account (an earlier run's, before a
    # client-id rotation). The broker streams none of its changes to this session and it
    # may not be cancelled from here: it is watched by polling open_orders() until it ends.
    owned: bool = True


@dataclass(frozen=True)
class Fill:
    """One execution of part (or all) of a combo order."""

    order_id: int
    order_ref: str
    qty: int  # combo units in this execution
    price_usd: float  # per share of one combo unit, same sign convention as the limit
    time: datetime


@dataclass(frozen=True)
class OrderEvent:
    """A change of an order: its state after the change, and the fill that caused it, if
    the change was an execution."""

    state: OrderState
    time: datetime
    fill: Fill | None = None


class OrderEventStream(Protocol):
    """A subscription to every order event published after it was opened, in order."""

    def __aiter__(self) -> OrderEventStream: ...

    async def __anext__(self) -> OrderEvent: ...

    def close(self) -> None:
        """Stop the subscription; a pending or later ``__anext__`` ends the iteration."""
        ...


class Broker(Protocol):
    """The daemon's view of a broker. See the module docstring for conventions."""

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connection_state(self) -> ConnectionState: ...

    async def account(self) -> AccountInfo: ...

    async def positions(self) -> list[Position]: ...

    async def index_quotes(self) -> dict[str, Quote]:
        """Quotes of the indices, keyed "SPX", "VIX", "VIX3M"."""
        ...

    async def vix_futures(self) -> dict[date, Quote]:
        """The listed VIX futures' quotes keyed by expiry (final settlement date)."""
        ...

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        """Listed expiries of an option class (SPX, SPXW, VIX), ascending."""
        ...

    async def option_strikes(self, symbol: str, trading_class: str, expiry: date) -> list[float]:
        """Listed strikes of one expiry, ascending."""
        ...

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        """One quote per requested contract, in the same order; a contract the broker does
        not know comes back with no bid and no ask."""
        ...

    async def spx_daily_history(self, sessions: int) -> list[DailyBar]:
        """The last ``sessions`` completed sessions' SPX closes, oldest first."""
        ...

    async def breadth_history(self, sessions: int) -> list[BreadthDay]:
        """The last ``sessions`` completed sessions of NYSE breadth, oldest first."""
        ...

    async def place_combo(self, order: ComboOrder) -> OrderState: ...

    async def open_orders(self) -> list[OrderState]: ...

    async def cancel(self, order_id: int) -> None: ...

    def order_events(self) -> OrderEventStream: ...
