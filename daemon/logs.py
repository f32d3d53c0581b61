"""Logging: structlog events, rendered for a person on a terminal or as JSON lines.

One pipeline for everything: the daemon's structlog loggers and the standard-library
loggers of its libraries (the IB client, APScheduler) both end in a single handler whose
``ProcessorFormatter`` runs the same processors, so a journald or file reader sees one
format. Each line carries an ISO-8601 UTC ``timestamp``, the ``level``, the ``logger`` name
and the ``event`` name, plus whatever was bound with
``structlog.contextvars.bind_contextvars`` (the runtime binds ``cycle_id`` for a cycle).

Secrets never reach a line: the only one today is the IB account id, masked to its last
three characters by ``mask_account`` on any key named ``account`` or ``account_id``, at any
depth of a logged mapping or sequence.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["auto", "console", "json"]

SECRET_KEYS = frozenset({"account", "account_id"})
_VISIBLE_CHARS = 3
_LEAD_KEYS = ("timestamp", "level", "event", "logger")


def mask_secret(value: object) -> str:
    """``DU1234567`` -> ``******567``: enough to tell accounts apart, not to use one."""
    text = str(value)
    visible = text[-_VISIBLE_CHARS:] if len(text) > _VISIBLE_CHARS else ""
    return "*" * (len(text) - len(visible)) + visible


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: mask_secret(v) if k in SECRET_KEYS and v is not None else _masked(v)
            for k, v in value.items()
        }
    if type(value) in (list, tuple):  # exact types: a NamedTuple would not rebuild so
        return type(value)(_masked(v) for v in value)
    return value


def mask_account(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: mask the values of secret keys, including inside nested mappings."""
    masked: EventDict = _masked(event_dict)
    return masked


def _lead_keys(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: timestamp, level, event first, so a raw JSON line reads left to right."""
    lead = {k: event_dict.pop(k) for k in _LEAD_KEYS if k in event_dict}
    return {**lead, **event_dict}


def _shared_processors() -> list[Processor]:
    """What every line gets, from structlog or from the standard library."""
    return [
        # First, so a bound cycle_id is on every line, and masked like any other key.
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_account,
    ]


def _renderer(fmt: LogFormat, stream: TextIO) -> Processor:
    is_tty = stream.isatty()
    if fmt == "console" or (fmt == "auto" and is_tty):
        return structlog.dev.ConsoleRenderer(colors=is_tty)
    return structlog.processors.JSONRenderer()


def configure_logging(level: LogLevel, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """Send every log line at ``level`` or above to ``stream`` (default stderr).

    ``fmt``: ``console`` for people, ``json`` (one object per line) for machines, ``auto``
    = console when ``stream`` is a terminal, JSON otherwise. stderr by default so a
    command's own output on stdout stays clean. Calling it again reconfigures."""
    out = stream if stream is not None else sys.stderr
    level_no = logging.getLevelNamesMapping()[level.upper()]
    renderer = _renderer(fmt, out)
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if isinstance(renderer, structlog.processors.JSONRenderer):
        # The console renderer draws tracebacks itself; JSON needs them as a string.
        final += [structlog.processors.format_exc_info, _lead_keys]
    final.append(renderer)

    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(), processors=final
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_no)
    # APScheduler narrates every job run at INFO ("Running job ...", "executed
    # successfully"): noise beside the daemon's own events. Its warnings (a missed run,
    # a job that raised) still come through.
    logging.getLogger("apscheduler").setLevel(max(level_no, logging.WARNING))

    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        # Not cached: a reconfiguration (tests, a reload) reaches loggers made earlier.
        cache_logger_on_first_use=False,
    )
