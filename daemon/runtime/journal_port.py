"""The journal port: what the runtime writes to and reads back, whatever stores it.

The engine, the executors (``executors``, ``submit``), the order follower (``follow``),
the alerts and the commands take a ``Journal`` (or, to read only, a ``JournalReader``);
``SqliteJournal`` (``journal.py`` with ``journal_reads.py``) is its one implementation
today, chosen at wiring time (``daemon.runtime.app``). A second store (a journal in
PostgreSQL, an in-memory one for a tool) implements these methods, raises
``JournalWriteFailed`` for a write it could not make durable and ``JournalError`` for a
second intent under one order reference, and nothing else changes.

The port's vocabulary is here too: ``JournalOrderStatus``, every status an order row can
hold, whose values are the text the journal stores; ``TERMINAL_ORDER_STATUSES``, those
after which an order can no longer fill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from daemon.core.broker import OrderStatus
from daemon.errors import JournalError


class JournalWriteFailed(JournalError):
    """The journal refused a write (disk full, I/O error, a read-only file): nothing of that
    transaction is in the journal. Callers that send orders stop sending (an order's intent
    must be durable before it goes out); the others log it and carry on."""


class JournalOrderStatus(StrEnum):
    """An order row's status; the value is the text stored (docs/reliability.md, "Order
    states"). The broker's states keep their ``OrderStatus`` member names; the others are
    the daemon's own:

    - ``INTENT``: written before the order is sent (a restart finds every order it may
      have sent);
    - ``REPRICING``: the cancelled order is about to be re-placed (never live without an
      open row);
    - ``UNKNOWN``: fate unknown: the placement's reply was lost (a disconnect, a timeout),
      or the task following it failed on an error nobody expected. Open, so nothing is
      sent again for it; reconciliation settles it against the broker's open orders;
    - ``ENDED_UNSEEN``: held as working, no longer listed by the broker, its end unseen.
    """

    INTENT = "INTENT"
    PENDING_SUBMIT = "PENDING_SUBMIT"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    REPRICING = "REPRICING"
    UNKNOWN = "UNKNOWN"
    ENDED_UNSEEN = "ENDED_UNSEEN"

    @classmethod
    def of(cls, status: OrderStatus) -> JournalOrderStatus:
        """The journal's name for a broker state (its member name, as stored since v1)."""
        return cls[status.name]

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_ORDER_STATUSES


# Order states after which an order can no longer fill: not "open" any more. The broker's
# (FILLED, CANCELLED, REJECTED) and the daemon's own: ENDED_UNSEEN, an order the journal
# held as working that the broker no longer lists and that no task was following (it
# filled or was cancelled while the daemon was down or had lost track of it; the next
# cycle's positions tell which).
TERMINAL_ORDER_STATUSES: tuple[JournalOrderStatus, ...] = (
    JournalOrderStatus.FILLED,
    JournalOrderStatus.CANCELLED,
    JournalOrderStatus.REJECTED,
    JournalOrderStatus.ENDED_UNSEEN,
)


class JournalReader(Protocol):
    """The queries asked of a journal; each reads committed rows only."""

    def fills_after(self, fill_id: int) -> list[dict[str, Any]]: ...
    def order_refs(self) -> list[str]: ...
    def order_refs_among(self, refs: Iterable[str]) -> set[str]: ...
    def has_order(self, order_ref: str) -> bool: ...
    def open_orders(self) -> list[dict[str, Any]]: ...
    def open_order_kinds(self) -> set[str]: ...
    def order_status_counts(self) -> dict[str, int]: ...
    def orders_on(self, trading_day: date) -> list[dict[str, Any]]: ...
    def hedge_spends(self, since: date) -> list[tuple[date, float]]: ...
    def last_income_day(self) -> date | None: ...
    def recent_cycles(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def cycles_on(self, trading_day: date) -> list[dict[str, Any]]: ...
    def cycle_record(self, cycle_id: str) -> dict[str, Any] | None: ...
    def recent_adjustments(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def recent_orders(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def events(self, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...
    def last_evaluated_cycle(self) -> dict[str, Any] | None: ...
    def scalar_history(self, sessions: int) -> list[dict[str, Any]]: ...
    def active_alerts(self, kind: str) -> list[dict[str, Any]]: ...
    def scalar_state(self) -> dict[str, Any] | None: ...


class Journal(JournalReader, Protocol):
    """Reads, and the writes: each ``record_*`` is one transaction, all of it or none."""

    @property
    def writable(self) -> bool:
        """False from a refused write until one commits again."""
        ...

    @property
    def last_write_error(self) -> str: ...

    @property
    def write_failures(self) -> int:
        """How many transactions the store refused (the metrics read it)."""
        ...

    def check_writable(self, now: datetime) -> bool:
        """Writable, or, after a failure, whether a write goes through again."""
        ...

    def start_run(
        self,
        run_id: str,
        *,
        now: datetime,
        version: str,
        host: str,
        mode: str,
        broker: str,
        config: Mapping[str, Any],
    ) -> None: ...

    def end_run(self, run_id: str, *, now: datetime, reason: str) -> None: ...

    def record_cycle(
        self,
        *,
        cycle_id: str,
        run_id: str,
        started_at: datetime,
        finished_at: datetime,
        trading_day: date,
        status: str,
        reason: str | None,
        record: Mapping[str, Any],
        scalar: float | None = None,
        tail_loss_usd: float | None = None,
        scalar_state: Mapping[str, Any] | None = None,
        adjustments: tuple[Mapping[str, Any], ...] = (),
    ) -> None: ...

    def record_event(
        self,
        kind: str,
        *,
        now: datetime,
        detail: Mapping[str, Any],
        run_id: str | None = None,
        cycle_id: str | None = None,
    ) -> None: ...

    def record_order_intent(
        self,
        order_ref: str,
        *,
        cycle_id: str,
        trading_day: date,
        now: datetime,
        quantity: int,
        limit_usd: float,
        debit_usd: float,
        leg_keys: Sequence[str],
        order: Mapping[str, Any],
    ) -> None:
        """Before the order is sent; a second intent for one reference is ``JournalError``."""
        ...

    def record_order_state(
        self,
        order_ref: str,
        *,
        now: datetime,
        status: JournalOrderStatus,
        order_id: str | None = None,
        filled_qty: int | None = None,
        avg_fill_usd: float | None = None,
        reason: str | None = None,
        limit_usd: float | None = None,
    ) -> None: ...

    def record_fill(
        self, order_ref: str, *, order_id: str, quantity: int, price_usd: float, at: datetime
    ) -> None: ...

    def record_alerts(
        self, standing: Sequence[Mapping[str, Any]], ended: Sequence[str], *, now: datetime
    ) -> None: ...

    def close(self) -> None: ...
