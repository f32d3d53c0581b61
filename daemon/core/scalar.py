"""Layer 2: combine the signals into the hedge scalar, then smooth and rate-limit it.

Model page section 3 (shared/design/alvh-model.md). One cycle:

1. ``raw = 1 + sum_i w_i z_i`` over the available signals (an unavailable signal contributes
   0; the readings carry their own ``contribution = w * z``).
2. ``target = clip(raw, min_value, max_value)``.
3. Exponential smoothing toward the target with a half-life in minutes:
   ``s = target + (s_prev - target) * 0.5 ** (dt_min / half_life_min)``.
   This is the exact solution of ds/dt = -(ln 2 / half_life) (s - target) over an interval
   in which the target holds, so the result does not depend on how often the cycle runs
   (a 1-minute and a 15-minute cadence agree up to how the target path is sampled).
4. Rate limit: ``|s - s_prev| <= max_change_per_hour * dt_min / 60``; then clip to
   ``[min_value, max_value]`` again (a previous value persisted under wider bounds must not
   leak past the current ones).

Decisions where the model page is silent:

- **First cycle** (no persisted state): the scalar starts at the clipped raw, with no rate
  limit. A neutral 1.0 start would under-hedge a stressed market for hours while the cap
  walks the value up; the cap exists to stop cycle-to-cycle churn, and there is no previous
  cycle to churn against. From the second cycle on the cap applies.
- **dt <= 0** (same instant, or the clock went back): no movement. The state keeps its
  previous time so that the regressed clock cannot double-count an interval later.
- **Insufficient data** (more than ``max_missing_count`` signals unavailable; a signal
  switched off in config, ``UnavailableReason.DISABLED``, is not missing): the scalar does
  not move and the state is returned unchanged (its time too, so that when data returns
  the smoothing covers the whole gap, as if the cycle had run at the earlier time and then
  again now). On a first cycle with insufficient data there is no value at all: ``value``
  and ``state`` are ``None`` and the cycle proposes nothing.
- **Long gaps** (overnight, a weekend, an outage): the smoothing and the cap both scale
  with the real elapsed time, so after a long gap the scalar can reach the current target
  in one step. That is the cadence-independence the model asks for: a cycle running every
  minute through the gap would have got there too.
- **Bounds always hold**: ``value`` is inside ``[min_value, max_value]`` in every branch,
  even when a persisted state is outside bounds that were narrowed in config since.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.core.params import ScalarParams
from daemon.core.signals import SignalReading, UnavailableReason

# The schema version of ``ScalarState.to_json``; bump on any incompatible change.
STATE_VERSION = 1
NEUTRAL_RAW = 1.0


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")


def _finite(value: Any, what: str) -> float:
    """A JSON number (bools rejected) that is finite, as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


@dataclass(frozen=True)
class ScalarState:
    """What a cycle persists so the next one (or a restarted daemon) resumes smoothly.

    ``value`` is the smoothed scalar, ``time`` when it was reached (aware), ``raw`` the
    unclipped combination of the signals at that time (kept for the journal)."""

    value: float
    time: datetime
    raw: float

    def __post_init__(self) -> None:
        _require_aware(self.time, "ScalarState.time")
        _finite(self.value, "ScalarState.value")
        _finite(self.raw, "ScalarState.raw")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; the time as ISO 8601 with its UTC offset."""
        return {
            "v": STATE_VERSION,
            "value": self.value,
            "time": self.time.isoformat(),
            "raw": self.raw,
        }

    @classmethod
    def from_json(cls, data: Any) -> ScalarState:
        """Inverse of ``to_json``; ``ValueError`` on anything else."""
        if not isinstance(data, dict):
            raise ValueError(f"scalar state must be a JSON object, got {type(data).__name__}")
        if data.get("v") != STATE_VERSION:
            raise ValueError(f"unsupported scalar state version {data.get('v')!r}")
        expected = {"v", "value", "time", "raw"}
        if set(data) != expected:
            raise ValueError(f"scalar state keys must be {sorted(expected)}, got {sorted(data)}")
        if not isinstance(data["time"], str):
            raise ValueError(f"scalar state time must be a string, got {data['time']!r}")
        try:
            time = datetime.fromisoformat(data["time"])
        except ValueError as exc:
            raise ValueError(f"scalar state time is not ISO 8601: {data['time']!r}") from exc
        return cls(
            value=_finite(data["value"], "value"),
            time=time,
            raw=_finite(data["raw"], "raw"),
        )


@dataclass(frozen=True)
class MissingSignal:
    """A signal that could not be computed this cycle, and why."""

    name: str
    reason: UnavailableReason
    detail: str


@dataclass(frozen=True)
class ScalarResult:
    """One cycle of the scalar, everything the journal needs to explain it.

    ``raw`` is 1 + sum w*z before clipping, ``clipped_raw`` the smoothing target.
    ``value`` is the smoothed scalar the overlay uses and ``previous_value`` the one it
    came from (``None`` on a first cycle); both ``value`` and ``state`` are ``None`` only
    when a first cycle has insufficient data. ``capped`` says the hourly step cap bound.
    The journal's record is ``plain.to_plain`` of it (every field, in order)."""

    raw: float
    clipped_raw: float
    value: float | None
    previous_value: float | None
    components: tuple[SignalReading, ...]
    missing: tuple[MissingSignal, ...]
    insufficient: bool
    capped: bool
    state: ScalarState | None
    detail: str


def combine(readings: tuple[SignalReading, ...]) -> float:
    """raw = 1 + sum of the available readings' contributions (w * z), dimensionless."""
    contributions = []
    for reading in readings:
        if reading.unavailable is not None:
            continue
        contributions.append(_finite(reading.contribution, f"{reading.name} contribution"))
    return NEUTRAL_RAW + math.fsum(contributions)


def missing_signals(readings: tuple[SignalReading, ...]) -> tuple[MissingSignal, ...]:
    """The unavailable readings, except those switched off in config (not missing)."""
    return tuple(
        MissingSignal(r.name, r.unavailable, r.detail)
        for r in readings
        if r.unavailable is not None and r.unavailable is not UnavailableReason.DISABLED
    )


def smooth(previous: float, target: float, dt_min: float, half_life_min: float) -> float:
    """Exponential approach to ``target``: the gap shrinks by half every half-life.

    Exact solution of ds/dt = -(ln 2 / half_life)(s - target) with the target held over
    ``dt_min`` minutes. A zero half-life means no smoothing."""
    if dt_min <= 0:
        return previous
    if half_life_min <= 0:
        return target
    return target + (previous - target) * math.pow(0.5, dt_min / half_life_min)


def _clip(value: float, params: ScalarParams) -> float:
    return min(max(value, params.min_value), params.max_value)


def update_scalar(
    readings: tuple[SignalReading, ...],
    state: ScalarState | None,
    params: ScalarParams,
    now: datetime,
) -> ScalarResult:
    """Advance the scalar to ``now`` (aware). See the module docstring for the rules."""
    _require_aware(now, "now")
    if params.min_value > params.max_value:
        raise ValueError(f"scalar min_value {params.min_value} > max_value {params.max_value}")
    raw = combine(readings)
    target = _clip(raw, params)
    missing = missing_signals(readings)
    previous = None if state is None else state.value
    insufficient = len(missing) > params.max_missing_count

    def result(
        value: float | None, new_state: ScalarState | None, capped: bool, detail: str
    ) -> ScalarResult:
        return ScalarResult(
            raw=raw,
            clipped_raw=target,
            value=value,
            previous_value=previous,
            components=readings,
            missing=missing,
            insufficient=insufficient,
            capped=capped,
            state=new_state,
            detail=detail,
        )

    if insufficient:
        names = ", ".join(f"{m.name} ({m.reason.value})" for m in missing)
        detail = (
            f"{len(missing)} signals unavailable, more than the {params.max_missing_count} "
            f"allowed: {names}; scalar held"
        )
        return result(None if previous is None else _clip(previous, params), state, False, detail)
    if state is None:
        return result(target, ScalarState(target, now, raw), False, "first cycle: start at target")

    dt_min = (now - state.time).total_seconds() / 60.0
    if dt_min <= 0:
        held = _clip(state.value, params)
        detail = f"no time elapsed ({dt_min:g} min): held"
        return result(held, ScalarState(held, state.time, raw), False, detail)

    smoothed = smooth(state.value, target, dt_min, params.half_life_min)
    max_step = params.max_change_per_hour * dt_min / 60.0
    step = smoothed - state.value
    capped = abs(step) > max_step
    if capped:
        smoothed = state.value + math.copysign(max_step, step)
    value = _clip(smoothed, params)
    detail = f"smoothed over {dt_min:g} min" + (f", step capped at {max_step:g}" if capped else "")
    return result(value, ScalarState(value, now, raw), capped, detail)
