"""The daemon's own exceptions: raised on purpose, each saying what went wrong in words.

::

    AlvhError                  anything the daemon raises on purpose (exit 1)
    ├── ConfigError            the configuration cannot be used (exit 2); .problems lists
    │                          each with its dotted path, the bad value and what is allowed
    ├── JournalError           the journal cannot be opened, read or written
    ├── BrokerError            the broker failed us
    │   ├── BrokerDisconnected     the connection is gone (temporary: reconnect, retry)
    │   ├── BrokerTimeout          a request got no answer in time (temporary: retry)
    │   └── OrderRejected          the broker refused an order (operational: do not retry)
    └── DataError              market data unusable for a cycle (skip the cycle, journal why)

Library exceptions (pydantic, yaml, sqlite3, the IB client) are translated into these once,
at the boundary (``raise ConfigError(...) from exc``), so callers catch one tree. The CLI
turns an ``AlvhError`` into one line per problem on stderr and ``exit_code``, never a
traceback.
"""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass

# Longest rendering of a bad value in a message: a whole section pasted back is noise.
_MAX_VALUE_CHARS = 60


class AlvhError(Exception):
    """Base of every error the daemon raises on purpose."""

    exit_code: int = 1


class _NoValue(enum.Enum):
    NO_VALUE = enum.auto()


NO_VALUE = _NoValue.NO_VALUE
"""Marks a problem that has no offending value (a missing key, an unreadable file)."""


class _BoundedRepr(reprlib.Repr):
    """``repr`` that looks at a few items of a few levels only: a value built from YAML
    aliases can expand to billions of items, and Python refuses to print an integer of
    more than 4,300 digits; the message keeps the first characters anyway."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 4
        self.maxstring = self.maxother = _MAX_VALUE_CHARS
        self.maxlong = _MAX_VALUE_CHARS

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * _MAX_VALUE_CHARS:  # ~80 digits: never print it whole
            return f"<integer of {x.bit_length():,} bits>"
        return super().repr_int(x, level)


_BOUNDED_REPR = _BoundedRepr()


def _render(value: object) -> str:
    text = _BOUNDED_REPR.repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration.

    ``where`` is a dotted path (``signals.rsi.weight``, ``signals.custom[0].name``), an
    environment variable, or a file position (``config/x.yaml:3:5``); ``message`` says what
    is allowed; ``source`` is the ``file:line`` the value came from, when known."""

    where: str
    message: str
    value: object = NO_VALUE
    source: str | None = None

    def __str__(self) -> str:
        head = self.where if self.value is NO_VALUE else f"{self.where} = {_render(self.value)}"
        tail = f" ({self.source})" if self.source else ""
        return f"{head}: {self.message}{tail}"


class ConfigError(AlvhError):
    """The configuration cannot be used; ``problems`` holds every problem found at once."""

    exit_code = 2

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, where: str, message: str, value: object = NO_VALUE) -> ConfigError:
        """A ConfigError with one problem."""
        return cls([ConfigProblem(where, message, value)])


class JournalError(AlvhError):
    """The journal cannot be opened, read or written (corrupt, newer schema, duplicate)."""


class BrokerError(AlvhError):
    """The broker failed; the subclasses say what the loop should do about it."""


class BrokerDisconnected(BrokerError):
    """The connection to the broker is gone (temporary: reconnect, then retry)."""


class BrokerTimeout(BrokerError):
    """A broker request got no answer within its timeout (temporary: retry)."""


class OrderRejected(BrokerError):
    """The broker refused an order (operational: do not resend it unchanged)."""


class DataError(AlvhError):
    """Market data is unusable for this cycle (the cycle is skipped and journalled)."""
