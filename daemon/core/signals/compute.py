"""From signals to readings: run each one, map its raw value to z, weigh it.

Rules (model page, section 3, and the choices made where it is silent):

- ``z = clip(map(raw) + bonus, -1, +1)``: the configured breakpoints, flat beyond the
  ends, plus a built-in signal's bonus (MACD's bearish cross); every z lives in [-1, +1]
  whatever breakpoints the config holds.
- ``contribution = weight * z``; an unavailable signal has ``raw``/``z`` ``None`` and
  contributes 0.0.
- A signal switched off in config (``enabled: false``) is reported as ``DISABLED`` and
  never run. The scalar does not count it as missing: switching a signal off is a
  decision, not a data problem, and must not push the cycle towards "insufficient data".
- A signal that raises anything other than ``Unavailable`` is ``FAILED`` with the
  exception's message, and the cycle goes on: one broken input (or a user's custom
  signal) must not stop the risk report. A raw value that is not a finite real number is
  ``NOT_A_NUMBER``.
- A custom signal's reading is named by its config ``name``; the object's own ``name``
  is only checked to exist when it is loaded (``daemon.plugins``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real

from daemon.core.params import CustomSignalParams, SignalParams, SignalsParams
from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    Signal,
    SignalInputs,
    SignalReading,
    Unavailable,
    UnavailableReason,
)
from daemon.core.signals.book import ProximitySignal
from daemon.core.signals.events import EventsSignal
from daemon.core.signals.maps import clip_unit, piecewise_linear
from daemon.core.signals.market import BreadthSignal, RvIvSignal, TermSignal
from daemon.core.signals.technical import MacdSignal, RsiSignal

BUILTIN_NAMES = ("rsi", "macd", "breadth", "term", "rv_iv", "events", "proximity")


@dataclass(frozen=True)
class CustomSignal:
    """A user's signal loaded from config: the object and its config entry (name,
    weight, breakpoints, enabled)."""

    params: CustomSignalParams
    impl: Signal


def builtin_signals(params: SignalsParams) -> tuple[tuple[BuiltinSignal, SignalParams], ...]:
    """The shipped signals, in reporting order, each with its config section."""
    return (
        (RsiSignal(params.rsi), params.rsi),
        (MacdSignal(params.macd), params.macd),
        (BreadthSignal(params.breadth), params.breadth),
        (TermSignal(params.term), params.term),
        (RvIvSignal(params.rv_iv), params.rv_iv),
        (EventsSignal(params.events), params.events),
        (ProximitySignal(params.proximity), params.proximity),
    )


def compute_signals(
    inputs: SignalInputs, params: SignalsParams, extra: Sequence[CustomSignal] = ()
) -> tuple[SignalReading, ...]:
    """One reading per built-in signal (in ``BUILTIN_NAMES`` order), then one per custom
    signal in ``extra`` (``daemon.plugins.load_custom_signals(params.custom)``)."""
    names = [*BUILTIN_NAMES, *(c.params.name for c in extra)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"signal names must be unique, repeated: {', '.join(duplicates)}")
    readings = [
        _reading(signal.name, section, _builtin_run(signal, inputs))
        for signal, section in builtin_signals(params)
    ]
    readings += [_reading(c.params.name, c.params, _custom_run(c.impl, inputs)) for c in extra]
    return tuple(readings)


def _builtin_run(signal: BuiltinSignal, inputs: SignalInputs) -> Callable[[], Score]:
    return lambda: signal.evaluate(inputs)


def _custom_run(impl: Signal, inputs: SignalInputs) -> Callable[[], Score]:
    def run() -> Score:
        result: object = impl.score(inputs)
        if isinstance(result, Unavailable):
            raise result
        if isinstance(result, bool) or not isinstance(result, Real):
            raise Unavailable(
                UnavailableReason.NOT_A_NUMBER,
                f"score returned {type(result).__name__}, not a number",
            )
        return Score(float(result))

    return run


def _unavailable(name: str, weight: float, reason: UnavailableReason, detail: str) -> SignalReading:
    return SignalReading(
        name=name,
        raw=None,
        z=None,
        weight=weight,
        contribution=0.0,
        unavailable=reason,
        detail=detail,
    )


def _reading(name: str, section: SignalParams, run: Callable[[], Score]) -> SignalReading:
    weight = section.weight
    if not section.enabled:
        return _unavailable(name, weight, UnavailableReason.DISABLED, "switched off in config")
    try:
        score = run()
    except Unavailable as exc:
        return _unavailable(name, weight, exc.reason, exc.detail)
    except Exception as exc:  # one failing signal is reported, not fatal
        return _unavailable(name, weight, UnavailableReason.FAILED, f"{type(exc).__name__}: {exc}")
    raw = float(score.raw)
    if not math.isfinite(raw):
        return _unavailable(name, weight, UnavailableReason.NOT_A_NUMBER, f"raw value {raw!r}")
    z = clip_unit(piecewise_linear(raw, section.breakpoints) + score.z_bonus)
    return SignalReading(
        name=name,
        raw=raw,
        z=z,
        weight=weight,
        contribution=weight * z,
        unavailable=None,
        detail=score.note,
    )
