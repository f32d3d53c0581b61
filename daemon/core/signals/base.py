"""The shared vocabulary of layer 2's signals: inputs, readings, unavailability.

A signal is a small object with a ``name`` and ``score(inputs) -> raw value`` (model page,
section 3). It may say it cannot score this cycle by raising ``Unavailable`` (or returning
one) with a reason; ``compute_signals`` turns raw values into readings.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import ClassVar, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from daemon.core.models import MarketEvent

FloatArray = npt.NDArray[np.float64]


class UnavailableReason(StrEnum):
    """Why a signal could not score this cycle."""

    # The input is absent altogether (no breadth feed, no event calendar reaching today).
    NO_DATA = "no_data"
    TOO_SHORT_HISTORY = "too_short_history"
    MISSING_QUOTE = "missing_quote"
    NOT_A_NUMBER = "not_a_number"
    NO_POSITIONS = "no_positions"
    # Switched off in config: reported, but not counted as missing by the scalar.
    DISABLED = "disabled"
    FAILED = "failed"


class Unavailable(Exception):
    """A signal's "cannot score": raise it or return it from ``score``."""

    def __init__(self, reason: UnavailableReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SignalReading:
    """One signal in one cycle.

    ``raw`` in the signal's own units, ``z`` its score in [-1, +1] (+1 = more hedge),
    ``contribution = weight * z`` (0.0 when unavailable). ``unavailable`` is ``None`` when
    the signal scored, else the reason, and ``detail`` says what was seen either way."""

    name: str
    raw: float | None
    z: float | None
    weight: float
    contribution: float
    unavailable: UnavailableReason | None
    detail: str


def _frozen_series(values: npt.ArrayLike, what: str) -> FloatArray:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class SkewChain:
    """One SPX expiry's put smile for the skew: strikes (index points, increasing),
    each put's implied vol (decimal sigma; NaN where the quote gave none), the expiry's
    implied forward (index points), time to expiry (ACT/365 years), rate (decimal)."""

    strikes: FloatArray
    put_iv_sigma: FloatArray
    forward: float
    t_years: float
    rate_frac: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "strikes", _frozen_series(self.strikes, "strikes"))
        object.__setattr__(self, "put_iv_sigma", _frozen_series(self.put_iv_sigma, "put_iv_sigma"))
        if len(self.strikes) != len(self.put_iv_sigma):
            raise ValueError(
                f"{len(self.strikes)} strikes but {len(self.put_iv_sigma)} implied vols"
            )


def _no_sessions(start_day: date, day: date) -> int:
    raise ValueError("SignalInputs.sessions_until was not given: cannot count sessions")


@dataclass(frozen=True, eq=False)
class SignalInputs:
    """Everything the signals read in one cycle; arrays are copied and made read-only.

    ``spx_closes``: past SPX daily closes, oldest first, *not* including today.
    ``spx_last``: the live SPX price (``None`` without a quote). ``vix``/``vix3m`` in vol
    points. Breadth: NYSE advancing/declining/unchanged issues per session, oldest first,
    same length; ``breadth_unavailable``, the broker's reason when it gave none.
    ``sessions_until(today, day)``: exchange sessions from today to ``day``
    (0 when ``day`` is today), ``daemon.core.calendar.sessions_until`` in production.
    ``nearest_short_sigmas``: the nearest short strike's distance from spot in sigmas
    (from the risk layer; ``None`` with no short strikes). ``skew``: the chain for the
    skew, when one was available."""

    today: date
    spx_closes: FloatArray = field(default_factory=lambda: np.empty(0))
    spx_last: float | None = None
    vix: float | None = None
    vix3m: float | None = None
    advancing: FloatArray = field(default_factory=lambda: np.empty(0))
    declining: FloatArray = field(default_factory=lambda: np.empty(0))
    unchanged: FloatArray = field(default_factory=lambda: np.empty(0))
    breadth_unavailable: str = ""
    events: tuple[MarketEvent, ...] = ()
    sessions_until: Callable[[date, date], int] = _no_sessions
    nearest_short_sigmas: float | None = None
    skew: SkewChain | None = None

    def __post_init__(self) -> None:
        for name in ("spx_closes", "advancing", "declining", "unchanged"):
            object.__setattr__(self, name, _frozen_series(getattr(self, name), name))
        lengths = {len(self.advancing), len(self.declining), len(self.unchanged)}
        if len(lengths) != 1:
            raise ValueError(
                "breadth series must have one value per session each, got lengths "
                f"{len(self.advancing)}, {len(self.declining)}, {len(self.unchanged)}"
            )


class Signal(Protocol):
    """What a signal is: a name and a raw value per cycle (custom signals implement this)."""

    @property
    def name(self) -> str: ...

    def score(self, inputs: SignalInputs) -> float | Unavailable: ...


class Score(NamedTuple):
    """A built-in signal's answer: the raw value, an additive z bonus (MACD's bearish
    cross) and a short note for the journal."""

    raw: float
    z_bonus: float = 0.0
    note: str = ""


class BuiltinSignal(ABC):
    """A signal shipped with the daemon: scores through ``evaluate``, which may add a z
    bonus; ``score`` gives the plain raw value, as a custom signal would."""

    name: ClassVar[str]

    @abstractmethod
    def evaluate(self, inputs: SignalInputs) -> Score:
        """The raw value, or raise ``Unavailable``."""

    def score(self, inputs: SignalInputs) -> float:
        return self.evaluate(inputs).raw


def require_quote(value: float | None, what: str) -> float:
    """A live quote as a finite float, else ``Unavailable`` (missing or not a number)."""
    if value is None:
        raise Unavailable(UnavailableReason.MISSING_QUOTE, f"no {what} quote")
    result = float(value)
    if not math.isfinite(result):
        raise Unavailable(UnavailableReason.NOT_A_NUMBER, f"{what} quote is {value!r}")
    return result


def require_finite(values: FloatArray, what: str) -> FloatArray:
    """``values`` unchanged if all finite, else ``Unavailable(NOT_A_NUMBER)``."""
    if not np.isfinite(values).all():  # the method: without ``np.all``'s dispatch
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise Unavailable(UnavailableReason.NOT_A_NUMBER, f"{bad} non-finite value(s) in {what}")
    return values
