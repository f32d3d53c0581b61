"""Logging: structlog events, rendered for a person on a terminal or as JSON lines.

One pipeline for everything: the daemon's structlog loggers and the standard-library
loggers of its libraries (the IB client, APScheduler) both end in a single handler whose
``ProcessorFormatter`` runs the same processors, so a journald or file reader sees one
format. Each line carries an ISO-8601 UTC ``timestamp`` (wall time, to line up with other
logs), the ``market_time`` (America/New_York, from the market clock the runtime sets with
``set_market_clock``: the simulated market's clock under the simulator), the ``level``,
the ``logger`` name and the ``event`` name, plus whatever was bound with
``structlog.contextvars.bind_contextvars`` (the runtime binds ``cycle_id`` for a cycle).

On a terminal a person reads one compact line per event, stamped in market time: an
event that carries a ``line`` (every alert, see ``daemon.runtime.notify``) is that line,
``cycle_summary`` is one short line, anything else is structlog's console rendering. The
full detail (an adjustment's whole reason) stays in the JSON lines and the journal.

APScheduler's "skipped: maximum number of running instances reached" warning is dropped
here: the runtime reports the same fact as a structured ``cycle_overrun`` event.

Secrets never reach a line: the only one today is the IB account id, masked to its last
three characters by ``mask_account`` on any key named ``account`` or ``account_id``, at any
depth of a logged mapping or sequence. The IB client's own loggers (ib_async, ib_insync)
print account ids inside their message text at INFO (positions, portfolio and account
updates: 8 lines a cycle), where no key names them: so every string of every line, from
structlog or the standard library, is also searched for IB's account-id shape
(``ACCOUNT_ID_PATTERN``: ``U``, ``DU``, ``F`` or ``DF`` then digits) and each match is
masked the same way. The handler's ``MaskAccountIds`` filter does it on the standard
library's records (message and arguments) before any formatter runs; the processor on
the formatted event (``mask_account``) on everything else. A stray word of that shape
that is not an account id gets masked too: cheaper than a leaked id.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Literal, TextIO
from zoneinfo import ZoneInfo

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["auto", "console", "json"]

SECRET_KEYS = frozenset({"account", "account_id"})
# IB account ids: individual U, paper DU, advisor F, paper advisor DF, then digits.
ACCOUNT_ID_PATTERN = re.compile(r"(?<![A-Za-z0-9])(?:DU|DF|U|F)\d{4,12}(?![A-Za-z0-9])")
_VISIBLE_CHARS = 3
_LEAD_KEYS = ("timestamp", "level", "event", "logger")
_MARKET_TZ = ZoneInfo("America/New_York")
_market_clock: Callable[[], datetime] | None = None


def set_market_clock(clock: Callable[[], datetime] | None) -> None:
    """Stamp lines with this clock's time (None: the wall clock, in New York)."""
    global _market_clock
    _market_clock = clock


def _add_market_time(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: ``market_time``, ISO-8601 in New York time."""
    now = _market_clock() if _market_clock is not None else datetime.now(_MARKET_TZ)
    event_dict["market_time"] = now.astimezone(_MARKET_TZ).isoformat(timespec="seconds")
    return event_dict


class _DropOverrunWarning(logging.Filter):
    """APScheduler's own overrun warning: the runtime logs ``cycle_overrun`` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith("apscheduler")
            and "maximum number of running instances reached" in str(record.msg)
        )


def mask_secret(value: object) -> str:
    """``DU1234567`` -> ``******567``: enough to tell accounts apart, not to use one."""
    text = str(value)
    visible = text[-_VISIBLE_CHARS:] if len(text) > _VISIBLE_CHARS else ""
    return "*" * (len(text) - len(visible)) + visible


def mask_account_ids(text: str) -> str:
    """Every IB account id in ``text`` masked (``mask_secret``)."""
    if "U" not in text and "F" not in text:  # the common case, without the regex
        return text
    return ACCOUNT_ID_PATTERN.sub(lambda m: mask_secret(m.group(0)), text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_account_ids(value)
    if isinstance(value, Mapping):
        return {
            k: mask_secret(v) if k in SECRET_KEYS and v is not None else _masked(v)
            for k, v in value.items()
        }
    if type(value) in (list, tuple):  # exact types: a NamedTuple would not rebuild so
        return type(value)(_masked(v) for v in value)
    return value


def mask_secrets(value: Any) -> Any:
    """``value`` (a mapping, sequence or string, e.g. a config dump) with every secret key's
    value and every account id masked, at any depth."""
    return _masked(value)


class MaskAccountIds(logging.Filter):
    """A standard-library record with its account ids masked (module docstring): the
    message is rendered once and replaced, so no formatter sees the id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, Mapping):  # structlog's own event: its processor masks it
            return True
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: mask what there is
            text = f"{record.msg} {record.args}"
        masked = mask_account_ids(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


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
        _add_market_time,
        mask_account,
    ]


def _num(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def cycle_line(ev: Mapping[str, Any]) -> str:
    """``cycle ok  SPX 5812.5  VIX 17.20  scalar 1.48  tail 412,300  hedge 380,100  2 adj``."""
    status = ev.get("status")
    if ev.get("spx") is None and status != "ok":
        return f"cycle {status}: {ev.get('reason', '')}"
    text = (
        f"cycle {status}  SPX {_num(ev.get('spx'), '.1f')}  VIX {_num(ev.get('vix'), '.2f')}"
        f"  scalar {_num(ev.get('scalar'), '.2f')}  tail {_num(ev.get('tail_loss_usd'), ',.0f')}"
        f"  hedge {_num(ev.get('hedge_payoff_usd'), ',.0f')}  {ev.get('adjustments', 0)} adj"
    )
    return text if status == "ok" else f"{text}: {ev.get('reason', '')}"


class CompactConsole:
    """The terminal renderer (module docstring): market-time stamp, then one line."""

    _MARKS: Final = {"warning": "WARN ", "error": "ERROR ", "critical": "ERROR "}

    def __init__(self, colors: bool) -> None:
        self._fallback = structlog.dev.ConsoleRenderer(colors=colors)

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        market = event_dict.pop("market_time", None)
        stamp = f"{datetime.fromisoformat(market):%d-%b %H:%M:%S}" if market else ""
        event = event_dict.get("event")
        line = event_dict.get("line")
        if line is None and event == "cycle_summary":
            line = cycle_line(event_dict)
        if line is not None:
            mark = self._MARKS.get(str(event_dict.get("level")), "")
            return f"{stamp}  {mark}{line}"
        event_dict.pop("timestamp", None)
        event_dict["timestamp"] = stamp
        return str(self._fallback(logger, name, event_dict))


def _renderer(fmt: LogFormat, stream: TextIO) -> Processor:
    is_tty = stream.isatty()
    if fmt == "console" or (fmt == "auto" and is_tty):
        return CompactConsole(colors=is_tty)
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
        # The traceback's text is masked like the rest once it is a string.
        final += [structlog.processors.format_exc_info, mask_account, _lead_keys]
    final.append(renderer)

    handler = logging.StreamHandler(out)
    handler.addFilter(_DropOverrunWarning())
    handler.addFilter(MaskAccountIds())
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
    # apprise's messages, and those of the HTTP client under it, can quote a target's URL,
    # and the URL holds its token: the notifier logs each failure itself
    # (``notify_failed``), without the URL.
    for talker in ("apprise", "urllib3", "requests"):
        logging.getLogger(talker).setLevel(logging.CRITICAL + 1)

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
