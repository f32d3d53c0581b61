"""The ALVH scalar: combination, clipping, half-life smoothing, hourly cap, persistence."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.params import ScalarParams
from daemon.core.plain import to_plain
from daemon.core.scalar import ScalarResult, ScalarState, update_scalar
from daemon.core.signals import SignalReading, UnavailableReason

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=NY)
PARAMS = ScalarParams()
# A cap so loose it never binds: isolates the smoothing.
UNCAPPED = ScalarParams(max_change_per_hour=10.0)


def reading(
    name: str, z: float | None, weight: float = 0.25, why: UnavailableReason | None = None
) -> SignalReading:
    """A signal reading as daemon.core.signals produces it (contribution = w * z)."""
    if z is None or why is not None:
        return SignalReading(
            name=name,
            raw=None,
            z=None,
            weight=weight,
            contribution=0.0,
            unavailable=why or UnavailableReason.NO_DATA,
            detail="test: unavailable",
        )
    return SignalReading(
        name=name, raw=z, z=z, weight=weight, contribution=weight * z, unavailable=None, detail=""
    )


def readings_for_raw(raw: float) -> tuple[SignalReading, ...]:
    """One weight-1 reading whose z puts 1 + w*z exactly at ``raw``."""
    return (reading("path", raw - 1.0, weight=1.0),)


def missing_reason() -> UnavailableReason:
    """Any unavailability reason that is not DISABLED."""
    return next(r for r in UnavailableReason if r is not UnavailableReason.DISABLED)


def run(path: list[tuple[datetime, float]], params: ScalarParams) -> list[ScalarResult]:
    """Feed a sequence of (time, raw) cycles through the scalar, carrying state."""
    state: ScalarState | None = None
    results = []
    for now, raw in path:
        result = update_scalar(readings_for_raw(raw), state, params, now)
        state = result.state
        results.append(result)
    return results


z_values = st.floats(-1.0, 1.0, allow_nan=False)
weights = st.floats(0.0, 2.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    prev_value=st.floats(-5.0, 10.0, allow_nan=False),
    zs=st.lists(st.tuples(weights, z_values), min_size=0, max_size=8),
    dt_min=st.floats(-60.0, 3000.0, allow_nan=False),
    first=st.booleans(),
)
def test_scalar_within_bounds(
    prev_value: float, zs: list[tuple[float, float]], dt_min: float, first: bool
) -> None:
    """Whatever the signals, the previous value and the elapsed time, the scalar stays in bounds."""
    signals = tuple(reading(f"s{i}", z, w) for i, (w, z) in enumerate(zs))
    state = None if first else ScalarState(prev_value, T0, 1.0)
    result = update_scalar(signals, state, PARAMS, T0 + timedelta(minutes=dt_min))
    assert result.value is not None
    assert PARAMS.min_value <= result.value <= PARAMS.max_value
    assert PARAMS.min_value <= result.clipped_raw <= PARAMS.max_value


@settings(max_examples=60, deadline=None)
@given(
    zs=st.lists(st.tuples(weights, z_values), min_size=1, max_size=8),
    index=st.integers(0, 7),
    bump=st.floats(0.0, 2.0, allow_nan=False),
)
def test_raising_a_z_never_lowers_raw(
    zs: list[tuple[float, float]], index: int, bump: float
) -> None:
    """The combination is monotone: more stress in any signal never means less hedge."""
    i = index % len(zs)
    before = tuple(reading(f"s{k}", z, w) for k, (w, z) in enumerate(zs))
    raised = tuple(reading(f"s{k}", z + bump if k == i else z, w) for k, (w, z) in enumerate(zs))
    low = update_scalar(before, None, PARAMS, T0)
    high = update_scalar(raised, None, PARAMS, T0)
    assert high.raw >= low.raw
    assert high.clipped_raw >= low.clipped_raw


def test_components_add_up() -> None:
    """raw is 1 + the sum of the available contributions, hand-computed; unavailable add 0."""
    signals = (
        reading("rsi", 0.8, 0.25),
        reading("term", -0.5, 0.25),
        reading("events", 1.0, 0.2),
        reading("proximity", 0.4, 0.35),
        reading("macd", None, 0.25),
    )
    result = update_scalar(signals, None, PARAMS, T0)
    # 1 + 0.2 - 0.125 + 0.2 + 0.14 = 1.415
    assert result.raw == pytest.approx(1.415, abs=1e-12)
    assert result.raw == pytest.approx(1.0 + sum(r.contribution for r in result.components))
    assert result.components == signals


def test_raw_is_clipped_to_bounds() -> None:
    """A raw above the maximum (or below the minimum) is clipped before smoothing."""
    high = update_scalar(readings_for_raw(4.0), None, PARAMS, T0)
    low = update_scalar(readings_for_raw(0.1), None, PARAMS, T0)
    assert high.raw == pytest.approx(4.0) and high.clipped_raw == PARAMS.max_value
    assert low.raw == pytest.approx(0.1) and low.clipped_raw == PARAMS.min_value


def test_first_cycle_starts_at_clipped_raw_uncapped() -> None:
    """With no persisted state the scalar starts at the clipped raw, without the hourly cap."""
    result = update_scalar(readings_for_raw(2.2), None, PARAMS, T0)
    assert result.value == pytest.approx(2.2)
    assert result.previous_value is None
    assert not result.capped
    assert result.state is not None
    assert result.state.time == T0 and result.state.value == result.value


def test_half_life_halves_the_gap() -> None:
    """After one half-life at a constant target the gap halves; after two it quarters."""
    state = ScalarState(2.0, T0, 2.0)
    signals = readings_for_raw(1.0)
    one = update_scalar(signals, state, UNCAPPED, T0 + timedelta(minutes=30))
    two = update_scalar(signals, state, UNCAPPED, T0 + timedelta(minutes=60))
    assert one.value == pytest.approx(1.5, abs=1e-12)
    assert two.value == pytest.approx(1.25, abs=1e-12)
    assert not one.capped and not two.capped


@settings(max_examples=50, deadline=None)
@given(
    start=st.floats(0.5, 2.5),
    target=st.floats(0.5, 2.5),
    dt1=st.floats(0.1, 240.0),
    dt2=st.floats(0.1, 240.0),
)
def test_smoothing_composes(start: float, target: float, dt1: float, dt2: float) -> None:
    """Two steps of dt1 then dt2 at a constant target equal one step of dt1 + dt2."""
    state = ScalarState(start, T0, target)
    signals = readings_for_raw(target)
    mid = update_scalar(signals, state, UNCAPPED, T0 + timedelta(minutes=dt1))
    assert mid.state is not None
    split = update_scalar(signals, mid.state, UNCAPPED, T0 + timedelta(minutes=dt1 + dt2))
    whole = update_scalar(signals, state, UNCAPPED, T0 + timedelta(minutes=dt1 + dt2))
    assert split.value == pytest.approx(whole.value, abs=1e-9)


def test_cadence_independence_over_a_day() -> None:
    """A 1-minute and a 15-minute cadence on the same smooth raw path agree within 1%."""

    def raw_at(minutes: float) -> float:
        # A day-long swell from 1.0 to 2.0 and most of the way back (a smooth path).
        return 1.5 - 0.5 * math.cos(2.0 * math.pi * minutes / 1800.0)

    day_min = 24 * 60

    def path(step_min: int) -> list[tuple[datetime, float]]:
        return [(T0 + timedelta(minutes=m), raw_at(m)) for m in range(0, day_min + 1, step_min)]

    fine = {r.state.time: r.state.value for r in run(path(1), PARAMS) if r.state}
    coarse = {r.state.time: r.state.value for r in run(path(15), PARAMS) if r.state}
    for when, value in coarse.items():
        assert value == pytest.approx(fine[when], rel=0.01), when
    # The comparison is not vacuous: the scalar really moved over the day.
    assert max(fine.values()) - min(fine.values()) > 0.5


def test_cap_binds_on_a_jump() -> None:
    """A jump in the raw moves the scalar at most max_change_per_hour pro rata, both ways."""
    up = update_scalar(
        readings_for_raw(2.5), ScalarState(1.0, T0, 1.0), PARAMS, T0 + timedelta(minutes=15)
    )
    down = update_scalar(
        readings_for_raw(0.5), ScalarState(2.0, T0, 2.0), PARAMS, T0 + timedelta(minutes=6)
    )
    assert up.capped and up.value == pytest.approx(1.0 + 0.5 * 15 / 60)
    assert down.capped and down.value == pytest.approx(2.0 - 0.5 * 6 / 60)


def test_cap_does_not_bind_on_a_small_move() -> None:
    """A move smaller than the cap is the plain smoothed value and not flagged."""
    result = update_scalar(
        readings_for_raw(1.1), ScalarState(1.0, T0, 1.0), PARAMS, T0 + timedelta(minutes=30)
    )
    assert not result.capped
    assert result.value == pytest.approx(1.05)  # half the 0.1 gap after one half-life


def test_no_movement_when_clock_does_not_advance() -> None:
    """Same instant or a clock that went back: the scalar and the state time stay put."""
    state = ScalarState(1.2, T0, 1.2)
    for dt in (timedelta(0), timedelta(minutes=-5)):
        result = update_scalar(readings_for_raw(2.5), state, PARAMS, T0 + dt)
        assert result.value == 1.2
        assert result.state is not None
        assert (result.state.value, result.state.time) == (1.2, T0)


def test_too_many_missing_is_insufficient_and_holds() -> None:
    """More than max_missing unavailable signals: insufficient, value and state unchanged."""
    state = ScalarState(1.3, T0, 1.3)
    n_missing = PARAMS.max_missing_count + 1
    signals = (
        reading("rsi", 1.0),
        *(reading(f"m{i}", None, why=missing_reason()) for i in range(n_missing)),
    )
    result = update_scalar(signals, state, PARAMS, T0 + timedelta(hours=2))
    assert result.insufficient
    assert result.state == state
    assert result.value == 1.3
    assert len(result.missing) == n_missing
    assert "m0" in result.detail


def test_insufficient_on_first_cycle_has_no_value() -> None:
    """Insufficient data with no history: no scalar at all rather than an invented one."""
    signals = tuple(reading(f"m{i}", None) for i in range(PARAMS.max_missing_count + 1))
    result = update_scalar(signals, None, PARAMS, T0)
    assert result.insufficient
    assert result.value is None and result.state is None


def test_disabled_signals_are_not_missing() -> None:
    """Signals switched off in config do not count toward max_missing."""
    allowed = PARAMS.max_missing_count
    disabled = tuple(
        reading(f"d{i}", None, why=UnavailableReason.DISABLED) for i in range(allowed + 2)
    )
    missing = tuple(reading(f"m{i}", None, why=missing_reason()) for i in range(allowed))
    ok = update_scalar(disabled + missing, None, PARAMS, T0)
    extra = reading("one_more", None, why=missing_reason())
    too_many = update_scalar((*disabled, *missing, extra), None, PARAMS, T0)
    assert not ok.insufficient
    assert {m.name for m in ok.missing} == {f"m{i}" for i in range(allowed)}
    assert too_many.insufficient


def test_state_json_round_trip() -> None:
    """A state survives to_json -> json text -> from_json unchanged, time instant included."""
    state = ScalarState(1.734, datetime(2026, 11, 2, 15, 45, 12, 500, tzinfo=NY), 1.91)
    text = json.dumps(state.to_json())
    back = ScalarState.from_json(json.loads(text))
    assert back == state
    assert back.time.utcoffset() == state.time.utcoffset()
    assert json.loads(text)["v"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"v": 1, "value": 1.0, "time": "2026-01-05T10:00:00-05:00"},
        {"v": 2, "value": 1.0, "time": "2026-01-05T10:00:00-05:00", "raw": 1.0},
        {"v": 1, "value": 1.0, "time": "2026-01-05T10:00:00", "raw": 1.0},
        {"v": 1, "value": "1.0", "time": "2026-01-05T10:00:00-05:00", "raw": 1.0},
        {"v": 1, "value": float("nan"), "time": "2026-01-05T10:00:00-05:00", "raw": 1.0},
        {"v": 1, "value": True, "time": "2026-01-05T10:00:00-05:00", "raw": 1.0},
        {"v": 1, "value": 1.0, "time": "yesterday", "raw": 1.0},
        {"v": 1, "value": 1.0, "time": 5, "raw": 1.0},
        {"v": 1, "value": 1.0, "time": "2026-01-05T10:00:00-05:00", "raw": 1.0, "x": 0},
    ],
)
def test_state_from_bad_json_raises(bad: object) -> None:
    """Anything but a well-formed current-version state is a ValueError."""
    with pytest.raises(ValueError):
        ScalarState.from_json(bad)


def test_naive_times_rejected() -> None:
    """A naive ``now`` or state time is a ValueError: time zones are never guessed."""
    with pytest.raises(ValueError):
        update_scalar(readings_for_raw(1.0), None, PARAMS, datetime(2026, 3, 2, 10, 0))
    with pytest.raises(ValueError):
        ScalarState(1.0, datetime(2026, 3, 2, 10, 0), 1.0)


def test_restart_continues_identically() -> None:
    """Persisting the state through JSON mid-run and resuming gives the same path exactly."""
    path = [(T0 + timedelta(minutes=7 * k), 1.0 + 0.1 * (k % 13)) for k in range(60)]
    straight = run(path, PARAMS)
    first_half = run(path[:25], PARAMS)
    state = first_half[-1].state
    assert state is not None
    restored: ScalarState | None = ScalarState.from_json(json.loads(json.dumps(state.to_json())))
    resumed = []
    for now, raw in path[25:]:
        result = update_scalar(readings_for_raw(raw), restored, PARAMS, now)
        restored = result.state
        resumed.append(result.value)
    assert resumed == [r.value for r in straight[25:]]


def test_result_serialises_to_json() -> None:
    """The result's journal form (``to_plain``) is plain JSON (json.dumps accepts it) with
    the missing reasons."""
    signals = (reading("rsi", 0.5), reading("macd", None, why=missing_reason()))
    result = update_scalar(signals, ScalarState(1.0, T0, 1.0), PARAMS, T0 + timedelta(hours=1))
    data = json.loads(json.dumps(to_plain(result)))
    assert data["missing"][0]["name"] == "macd"
    assert data["components"][0]["contribution"] == pytest.approx(0.125)
    assert data["state"]["v"] == 1
