"""Notifications: the port (``port``), the fan-out (``fanout``), and the sinks: the log
(``log_sink``) and apprise (``apprise_sink``)."""

from daemon.runtime.notify.fanout import Fanout, SinkStats
from daemon.runtime.notify.log_sink import LogNotifier
from daemon.runtime.notify.port import (
    DEFAULT_REMOTE_EVENTS,
    Notification,
    Notifier,
    NotifyEvent,
)

__all__ = [
    "DEFAULT_REMOTE_EVENTS",
    "Fanout",
    "LogNotifier",
    "Notification",
    "Notifier",
    "NotifyEvent",
    "SinkStats",
]
