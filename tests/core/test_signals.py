"""Layer 2's signals: readings, unavailability, the MACD cross bonus, events, skew."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
import talib
from scipy.optimize import brentq
from scipy.stats import norm

from daemon.core.models import EventKind, MarketEvent
from daemon.core.params import (
    CustomSignalParams,
    MacdParams,
    ProximityParams,
    SignalsParams,
    SkewParams,
)
from daemon.core.signals import (
    BUILTIN_NAMES,
    CustomSignal,
    SignalInputs,
    SignalReading,
    SkewChain,
    Unavailable,
    UnavailableReason,
    compute_signals,
    piecewise_linear,
)
from daemon.core.signals.events import event_proximity
from daemon.core.signals.skew import chain_skew_pts, skew_pts, vix_share

TODAY = date(2026, 3, 2)  # a Monday
PARAMS = SignalsParams()


def weekday_sessions(start: date, day: date) -> int:
    """Sessions in (start, day] on a Monday-Friday calendar: a simple stand-in for
    daemon.core.calendar.sessions_until."""
    count, d = 0, start
    while d < day:
        d += timedelta(days=1)
        count += d.weekday() < 5
    return count


def closes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 5800.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n)))


def inputs(**overrides: Any) -> SignalInputs:
    """A complete, valid cycle; each test breaks one thing."""
    rng = np.random.default_rng(2)
    base: dict[str, Any] = {
        "today": TODAY,
        "spx_closes": closes(260),
        "spx_last": 5790.0,
        "vix": 19.0,
        "vix3m": 20.5,
        "advancing": rng.integers(1000, 2000, 60),
        "declining": rng.integers(1000, 2000, 60),
        "unchanged": rng.integers(50, 100, 60),
        "events": (MarketEvent(EventKind.CPI, date(2026, 3, 11)),),
        "sessions_until": weekday_sessions,
        "nearest_short_sigmas": 1.2,
    }
    base.update(overrides)
    return SignalInputs(**base)


def by_name(readings: tuple[SignalReading, ...]) -> dict[str, SignalReading]:
    return {r.name: r for r in readings}


def test_complete_inputs_give_every_builtin_reading() -> None:
    """With full data every built-in signal scores, in order, with contribution = w * z."""
    readings = compute_signals(inputs(), PARAMS)
    assert tuple(r.name for r in readings) == BUILTIN_NAMES
    for r in readings:
        assert r.unavailable is None, r
        assert r.raw is not None and r.z is not None
        assert -1.0 <= r.z <= 1.0
        assert r.contribution == pytest.approx(r.weight * r.z)


def test_raw_values_against_independent_oracles() -> None:
    """RSI (TA-Lib on closes + live), term (VIX/VIX3M), proximity and rv_iv raw values."""
    data = inputs()
    got = by_name(compute_signals(data, PARAMS))
    with_live = np.append(data.spx_closes, data.spx_last)
    assert got["rsi"].raw == pytest.approx(talib.RSI(with_live, 14)[-1], abs=1e-9)
    assert got["rsi"].z == pytest.approx(piecewise_linear(got["rsi"].raw, PARAMS.rsi.breakpoints))
    assert got["term"].raw == pytest.approx(19.0 / 20.5)
    assert got["proximity"].raw == 1.2
    rets = np.diff(np.log(data.spx_closes[-21:]))
    rv = 100 * math.sqrt(252) * float(np.std(rets, ddof=1))
    assert got["rv_iv"].raw == pytest.approx(rv - 19.0)


# The model page's original proximity map, explicit: the test is about the breached side.
PROXIMITY_MAP = ((0.75, 1.0), (1.5, 0.0), (2.5, -0.5))


@pytest.mark.parametrize(
    ("sigmas", "expected_z"),
    [(2.5, -0.5), (1.5, 0.0), (0.75, 1.0), (0.1, 1.0), (-0.4, 1.0), (-3.0, 1.0)],
)
def test_proximity_breached_strike_asks_for_the_most_hedge(
    sigmas: float, expected_z: float
) -> None:
    """A strike spot has crossed (negative sigmas) scores like the nearest, never as safe."""
    params = PARAMS.model_copy(update={"proximity": ProximityParams(breakpoints=PROXIMITY_MAP)})
    got = by_name(compute_signals(replace(inputs(), nearest_short_sigmas=sigmas), params))
    assert got["proximity"].raw == sigmas
    assert got["proximity"].z == pytest.approx(expected_z)


TOO_SHORT = {
    "rsi": {"spx_closes": closes(13)},  # 13 + live = 14 closes < 15
    "macd": {"spx_closes": closes(35)},  # 35 + live = 36 < 26 + 9 - 1 + 3
    "breadth": {"advancing": [1] * 9, "declining": [1] * 9, "unchanged": [1] * 9},
    "rv_iv": {"spx_closes": closes(20)},  # 20 returns need 21 closes
}


@pytest.mark.parametrize("name", sorted(TOO_SHORT))
def test_too_short_history_is_unavailable_not_zero(name: str) -> None:
    """A history shorter than the signal needs gives TOO_SHORT_HISTORY, no raw, no z."""
    r = by_name(compute_signals(inputs(**TOO_SHORT[name]), PARAMS))[name]
    assert r.unavailable is UnavailableReason.TOO_SHORT_HISTORY
    assert (r.raw, r.z, r.contribution) == (None, None, 0.0)
    assert r.detail


MISSING = {
    "rsi": ({"spx_last": None}, UnavailableReason.MISSING_QUOTE),
    "macd": ({"spx_last": None}, UnavailableReason.MISSING_QUOTE),
    "term": ({"vix3m": None}, UnavailableReason.MISSING_QUOTE),
    "rv_iv": ({"vix": None}, UnavailableReason.MISSING_QUOTE),
    "breadth": ({"advancing": [], "declining": [], "unchanged": []}, UnavailableReason.NO_DATA),
    "events": ({"events": ()}, UnavailableReason.NO_DATA),
    "proximity": ({"nearest_short_sigmas": None}, UnavailableReason.NO_POSITIONS),
}


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_input_is_unavailable_with_its_reason(name: str) -> None:
    """Each signal without its input is unavailable with the matching reason, never 0."""
    overrides, reason = MISSING[name]
    r = by_name(compute_signals(inputs(**overrides), PARAMS))[name]
    assert r.unavailable is reason
    assert (r.raw, r.z, r.contribution) == (None, None, 0.0)


def test_proximity_unavailable_without_positions() -> None:
    """No short strike (no positions) makes proximity NO_POSITIONS; the rest still score."""
    got = by_name(compute_signals(inputs(nearest_short_sigmas=None), PARAMS))
    assert got["proximity"].unavailable is UnavailableReason.NO_POSITIONS
    assert all(got[n].unavailable is None for n in BUILTIN_NAMES if n != "proximity")


def test_nan_inputs_are_not_a_number() -> None:
    """A NaN close or quote gives NOT_A_NUMBER, not a NaN score."""
    bad = closes(260)
    bad[-5] = np.nan
    got = by_name(compute_signals(inputs(spx_closes=bad, vix=math.nan), PARAMS))
    assert got["rsi"].unavailable is UnavailableReason.NOT_A_NUMBER
    assert got["term"].unavailable is UnavailableReason.NOT_A_NUMBER


def test_disabled_signal_is_reported_not_run() -> None:
    """enabled: false gives DISABLED with no value, even when its input is missing."""
    params = PARAMS.model_copy(update={"rsi": PARAMS.rsi.model_copy(update={"enabled": False})})
    r = by_name(compute_signals(inputs(spx_last=None), params))["rsi"]
    assert r.unavailable is UnavailableReason.DISABLED
    assert (r.raw, r.z, r.contribution) == (None, None, 0.0)


# ---- MACD cross bonus -------------------------------------------------------------------
def talib_hist(series: np.ndarray) -> np.ndarray:
    return talib.MACD(series, 12, 26, 9)[2]


def first_bearish_cross(series: np.ndarray, start: int) -> int:
    """Index of the first bar after ``start`` whose TA-Lib histogram turns negative."""
    hist = talib_hist(series)
    for i in range(start, len(series)):
        if hist[i - 1] >= 0 > hist[i] and not np.isnan(hist[i - 1]):
            return i
    raise AssertionError("no bearish cross in the test series")


def macd_reading(series: np.ndarray, upto: int) -> SignalReading:
    """The macd reading with closes[:upto] as history and closes[upto] as the live price."""
    data = inputs(spx_closes=series[:upto], spx_last=float(series[upto]))
    return by_name(compute_signals(data, PARAMS))["macd"]


@pytest.mark.parametrize(("after", "bonus"), [(0, True), (1, True), (2, True), (3, False)])
def test_macd_cross_bonus(after: int, bonus: bool) -> None:
    """A bearish cross 0-2 sessions ago adds +0.5 to z; 3 ago does not (TA-Lib oracle)."""
    series = closes(400, seed=9)
    cross = first_bearish_cross(series, 120)
    upto = cross + after
    hist = talib_hist(series[: upto + 1])
    # No second cross between the first one and the reading's day.
    assert all(hist[i] < 0 for i in range(cross, upto + 1))
    raw = hist[-1] / series[upto] * 1000
    base_z = piecewise_linear(raw, MacdParams().breakpoints)
    expected = min(1.0, base_z + 0.5) if bonus else base_z
    r = macd_reading(series, upto)
    assert r.raw == pytest.approx(raw, abs=1e-9)
    assert r.z == pytest.approx(expected, abs=1e-9)
    assert ("bearish cross" in r.detail) is bonus


def test_macd_bonus_is_clipped_at_one() -> None:
    """A deeply negative histogram already at z = +1 stays at +1 with the bonus."""
    params = PARAMS.model_copy(
        update={"macd": PARAMS.macd.model_copy(update={"breakpoints": ((-1e-9, 1.0), (0, 0))})}
    )
    series = closes(400, seed=9)
    cross = first_bearish_cross(series, 120)
    data = inputs(spx_closes=series[:cross], spx_last=float(series[cross]))
    assert by_name(compute_signals(data, params))["macd"].z == 1.0


# ---- events -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event_day", "kind", "expected_raw"),
    [
        (TODAY, EventKind.FOMC, 1.0),  # today: 0 sessions, proximity 1
        (date(2026, 3, 3), EventKind.FOMC, 1.0),  # in 1 session: proximity 1
        (date(2026, 3, 5), EventKind.FOMC, 0.5),  # in 3 sessions: proximity 0.5
        (date(2026, 3, 9), EventKind.FOMC, 0.0),  # in 5 sessions: beyond the steps
        (date(2026, 3, 5), EventKind.CPI, 0.3),  # 0.6 x 0.5
        (date(2026, 3, 3), EventKind.PPI, 0.3),  # 0.3 x 1
        (date(2026, 3, 2), EventKind.GDP, 0.3),  # 0.3 x 1
    ],
)
def test_events_proximity_table(event_day: date, kind: EventKind, expected_raw: float) -> None:
    """The events signal is kind weight x proximity, identity-mapped to z."""
    data = inputs(events=(MarketEvent(kind, event_day), MarketEvent(kind, date(2026, 6, 1))))
    r = by_name(compute_signals(data, PARAMS))["events"]
    assert r.unavailable is None
    assert r.raw == pytest.approx(expected_raw)
    assert r.z == pytest.approx(expected_raw)


def test_events_takes_the_max_and_ignores_the_past() -> None:
    """The strongest upcoming event wins; events before today do not count."""
    events = (
        MarketEvent(EventKind.FOMC, TODAY - timedelta(days=1)),
        MarketEvent(EventKind.PPI, TODAY),
        MarketEvent(EventKind.FOMC, date(2026, 3, 4)),  # 2 sessions: 1.0 x 0.5
    )
    r = by_name(compute_signals(inputs(events=events), PARAMS))["events"]
    assert r.raw == pytest.approx(0.5)


def test_events_over_a_weekend_count_sessions_not_days() -> None:
    """From a Friday, Monday is 1 session ahead (proximity 1) although 3 days away."""
    friday = date(2026, 3, 6)
    data = inputs(today=friday, events=(MarketEvent(EventKind.FOMC, date(2026, 3, 9)),))
    assert by_name(compute_signals(data, PARAMS))["events"].raw == 1.0


def test_calendar_ending_before_today_is_no_data() -> None:
    """A calendar whose last event is in the past is NO_DATA, not a quiet zero."""
    data = inputs(events=(MarketEvent(EventKind.FOMC, date(2025, 12, 10)),))
    r = by_name(compute_signals(data, PARAMS))["events"]
    assert r.unavailable is UnavailableReason.NO_DATA


def test_event_proximity_steps() -> None:
    """Steps apply in increasing order of sessions whatever order the config lists them."""
    steps = ((3, 0.5), (1, 1.0))
    assert [event_proximity(s, steps) for s in (0, 1, 2, 3, 4)] == [1.0, 1.0, 0.5, 0.5, 0.0]


# ---- custom signals in compute_signals --------------------------------------------------
class Fixed:
    name = "fixed"

    def __init__(self, value: object) -> None:
        self.value = value

    def score(self, inputs: SignalInputs) -> object:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


def custom(value: object, name: str = "mine") -> CustomSignal:
    params = CustomSignalParams(
        name=name,
        import_path="x:y",
        weight=0.5,
        breakpoints=((0.0, 0.0), (10.0, 1.0)),
    )
    return CustomSignal(params=params, impl=Fixed(value))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "reason", "z"),
    [
        (5.0, None, 0.5),
        (np.float64(20.0), None, 1.0),
        (RuntimeError("feed down"), UnavailableReason.FAILED, None),
        (
            Unavailable(UnavailableReason.MISSING_QUOTE, "no pcr"),
            UnavailableReason.MISSING_QUOTE,
            None,
        ),
        (math.inf, UnavailableReason.NOT_A_NUMBER, None),
        ("12", UnavailableReason.NOT_A_NUMBER, None),
    ],
)
def test_custom_signal_outcomes(
    value: object, reason: UnavailableReason | None, z: float | None
) -> None:
    """A custom signal maps through its own breakpoints, or is unavailable with a reason."""
    readings = by_name(compute_signals(inputs(), PARAMS, extra=(custom(value),)))
    r = readings["mine"]
    assert r.unavailable is reason
    assert r.z == (None if z is None else pytest.approx(z))
    assert r.contribution == (0.0 if z is None else pytest.approx(0.5 * z))
    if isinstance(value, RuntimeError):
        assert "feed down" in r.detail
    assert readings["rsi"].unavailable is None


def test_duplicate_signal_names_are_refused() -> None:
    """A custom signal may not reuse a built-in name."""
    with pytest.raises(ValueError, match="rsi"):
        compute_signals(inputs(), PARAMS, extra=(custom(1.0, name="rsi"),))


def test_inputs_are_read_only_and_validated() -> None:
    """Inputs' arrays are frozen copies; mismatched breadth lengths are refused."""
    data = inputs()
    with pytest.raises(ValueError):
        data.spx_closes[0] = 1.0
    with pytest.raises(ValueError, match="breadth"):
        inputs(advancing=[1, 2], declining=[1], unchanged=[1, 2])
    assert replace(data, vix=None).vix is None


# ---- skew and the VIX share -------------------------------------------------------------
FORWARD, T_YEARS, RATE = 5800.0, 45 / 365, 0.04


def smile(strike: np.ndarray | float) -> np.ndarray | float:
    """A known SPX-like put smile in decimal vol: 18% ATM, steep downside, mild upside."""
    m = np.log(np.asarray(strike) / FORWARD)
    return 0.18 - 0.35 * m + 0.9 * m * m


def true_skew_pts(target_delta: float) -> float:
    """Oracle: solve the smile's own 25-delta put strike (closed-form Black-76 delta,
    scipy's normal CDF), then IV there minus IV at the forward, in vol points."""

    def put_delta(k: float) -> float:
        s = float(smile(k)) * math.sqrt(T_YEARS)
        d1 = math.log(FORWARD / k) / s + 0.5 * s
        return -math.exp(-RATE * T_YEARS) * norm.cdf(-d1)

    k25 = brentq(lambda k: put_delta(k) - target_delta, 0.5 * FORWARD, FORWARD)
    return 100.0 * (float(smile(k25)) - float(smile(FORWARD)))


@pytest.mark.parametrize("target", [-0.25, -0.10, -0.40])
def test_skew_from_a_chain_with_a_known_smile(target: float) -> None:
    """skew_pts on a 5-point grid matches the smile's own delta-minus-ATM vol to 0.05 pts."""
    strikes = np.arange(4000.0, 6505.0, 5.0)
    got = skew_pts(strikes, smile(strikes), FORWARD, T_YEARS, RATE, target)
    assert got is not None
    assert got == pytest.approx(true_skew_pts(target), abs=0.05)


def test_skew_ignores_missing_vols_and_refuses_short_chains() -> None:
    """NaN vols are skipped; a chain that does not reach the delta or the forward is None."""
    strikes = np.arange(4000.0, 6505.0, 5.0)
    vols = np.asarray(smile(strikes), dtype=float)
    vols[::7] = np.nan
    got = skew_pts(strikes, vols, FORWARD, T_YEARS, RATE, -0.25)
    assert got == pytest.approx(true_skew_pts(-0.25), abs=0.05)
    near = np.arange(5700.0, 6000.0, 5.0)  # never reaches 25 delta
    assert skew_pts(near, smile(near), FORWARD, T_YEARS, RATE, -0.25) is None
    below = np.arange(4000.0, 5500.0, 5.0)  # does not straddle the forward
    assert skew_pts(below, smile(below), FORWARD, T_YEARS, RATE, -0.25) is None
    assert skew_pts(strikes, vols, FORWARD, 0.0, RATE, -0.25) is None


@pytest.mark.parametrize(
    ("skew", "share"), [(0.0, 0.4), (2.0, 0.4), (4.0, 0.5), (6.0, 0.6), (10.0, 0.75), (15.0, 0.75)]
)
def test_vix_share_map(skew: float, share: float) -> None:
    """The model page's skew map: 2 -> 0.4, 6 -> 0.6, 10 -> 0.75, flat beyond."""
    params = SkewParams(breakpoints=((2.0, 0.4), (6.0, 0.6), (10.0, 0.75)))
    assert vix_share(skew, params) == pytest.approx(share)


def test_chain_skew_uses_the_configured_delta() -> None:
    """chain_skew_pts reads a SkewChain with params.skew.target_delta."""
    strikes = np.arange(4000.0, 6505.0, 5.0)
    chain = SkewChain(strikes, np.asarray(smile(strikes)), FORWARD, T_YEARS, RATE)
    got = chain_skew_pts(chain, PARAMS.skew)
    assert got == pytest.approx(true_skew_pts(PARAMS.skew.target_delta), abs=0.05)


@pytest.mark.parametrize(
    ("why", "detail"),
    [
        ("", "no NYSE advance/decline history"),
        ("BrokerError: no ADV-NYSE", "no NYSE advance/decline history: BrokerError: no ADV-NYSE"),
    ],
)
def test_no_breadth_says_the_brokers_reason_when_there_is_one(why: str, detail: str) -> None:
    """Empty breadth is NO_DATA; the snapshot's reason, when the broker gave one, follows."""
    readings = compute_signals(
        SignalInputs(today=date(2026, 11, 24), breadth_unavailable=why), SignalsParams()
    )
    (breadth,) = [r for r in readings if r.name == "breadth"]
    assert (breadth.unavailable, breadth.detail) == (UnavailableReason.NO_DATA, detail)
