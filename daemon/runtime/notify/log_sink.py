"""The first notifier: the log. Every notification becomes one structlog event named after
it, at its level, with its line and its fields (the JSON line keeps the full detail; the
console shows the line, see ``daemon.logs``)."""

from __future__ import annotations

import structlog

from daemon.runtime.notify.port import Notification

log = structlog.get_logger("alvh.alerts")


class LogNotifier:
    name = "log"
    off_path = False

    def send(self, note: Notification) -> None:
        method = getattr(log, note.level)
        method(note.event.value, line=note.line, **note.fields)
