"""The notifier port: what the runtime tells people, and the sinks that carry it.

A ``Notification`` is one event worth a person's attention (an adjustment proposed, an
order filled, a cycle failed...) with a one-line text for a terminal or a phone and the
full detail for the JSON log. The runtime publishes it to a ``Fanout``
(``daemon.runtime.notify.fanout``), which hands it to every ``Notifier`` sink, each failure
contained, in the manner of freqtrade's RPC manager. The log is the first sink and
always gets everything; remote sinks (apprise) run off the caller's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

Level = Literal["debug", "info", "warning", "error"]


class NotifyEvent(StrEnum):
    """Every event a notifier can carry; the value is the log's event name."""

    ADJUSTMENT_PROPOSED = "adjustment_proposed"
    ADJUSTMENT_WITHDRAWN = "adjustment_withdrawn"
    ORDER_SUBMITTED = "order_submitted"
    ORDER_REFUSED = "order_refused"
    ORDER_FILLED = "order_filled"
    ORDER_REJECTED = "order_rejected"
    ORDER_FATE_UNKNOWN = "order_fate_unknown"
    CYCLE_FAILED = "cycles_failing"
    CYCLE_RECOVERED = "cycles_recovered"
    CYCLE_OVERRUN = "cycle_overrun"
    BROKER_DISCONNECTED = "broker_disconnected"
    BROKER_RESTORED = "broker_connection_restored"
    DAEMON_STARTED = "daemon_started"
    DAEMON_STOPPED = "daemon_stopped"
    SESSION_SUMMARY = "session_summary"


# What goes to a phone unless the config says otherwise: decisions, order outcomes a
# trader must know, and the daemon's health. Each failure's recovery goes with it.
DEFAULT_REMOTE_EVENTS: tuple[NotifyEvent, ...] = (
    NotifyEvent.ADJUSTMENT_PROPOSED,
    NotifyEvent.ADJUSTMENT_WITHDRAWN,
    NotifyEvent.ORDER_FILLED,
    NotifyEvent.ORDER_REJECTED,
    NotifyEvent.ORDER_FATE_UNKNOWN,
    NotifyEvent.CYCLE_FAILED,
    NotifyEvent.CYCLE_RECOVERED,
    NotifyEvent.BROKER_DISCONNECTED,
    NotifyEvent.BROKER_RESTORED,
    NotifyEvent.DAEMON_STARTED,
    NotifyEvent.DAEMON_STOPPED,
    NotifyEvent.SESSION_SUMMARY,
)


@dataclass(frozen=True)
class Notification:
    """One event for people. ``line``: the compact text (terminal, phone); ``fields``: the
    whole detail (the JSON log); ``at``: market time."""

    event: NotifyEvent
    line: str
    at: datetime
    level: Level = "info"
    fields: Mapping[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """A sink. ``send`` may block (network) and raise: the fan-out contains both.
    ``off_path``: True for a sink that does I/O; the fan-out then runs it on a worker of
    its own, so the publisher (a cycle) never waits for it."""

    name: str
    off_path: bool

    def send(self, note: Notification) -> None: ...
