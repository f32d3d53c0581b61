"""The events signal reads the calendar in the order it always did, however it is stored.

The signal sorts the whole calendar once and cuts it at today; the oracle is the plain
construction it replaced, written out here (keep the events on or after today, stable-sort
them by day, take the first strictly best value). Calendars arrive shuffled, with several
events on one day (on a tie the first in that order wins, and the note names it) and
events before today.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.models import EventKind, MarketEvent
from daemon.core.params import EventsParams
from daemon.core.signals import SignalInputs, Unavailable
from daemon.core.signals.events import EventsSignal, event_proximity
from tests.core.test_signals import TODAY, weekday_sessions

PARAMS = EventsParams()

_EVENTS = st.lists(
    st.builds(
        MarketEvent,
        st.sampled_from(list(EventKind)),
        st.integers(-10, 12).map(lambda offset: TODAY + timedelta(days=offset)),
    ),
    max_size=30,
)


def _oracle(events: list[MarketEvent], today: date) -> tuple[float, MarketEvent | None] | None:
    """(value, event) of the first strictly best upcoming event; None with none upcoming."""
    upcoming = sorted([e for e in events if e.day >= today], key=lambda e: e.day)
    if not upcoming:
        return None
    best: tuple[float, MarketEvent | None] = (0.0, None)
    for event in upcoming:
        weight = float(getattr(PARAMS.kind_weights, event.kind.value))
        ahead = weekday_sessions(today, event.day)
        value = weight * event_proximity(ahead, PARAMS.proximity_steps)
        if value > best[0]:
            best = (value, event)
    return best


@settings(max_examples=200, deadline=None)
@given(events=_EVENTS)
def test_events_signal_equals_the_filter_then_sort_reading(events: list[MarketEvent]) -> None:
    """Same raw value and same event named as the plain construction, on any calendar."""
    data = SignalInputs(today=TODAY, events=tuple(events), sessions_until=weekday_sessions)
    expected = _oracle(events, TODAY)
    try:
        score = EventsSignal(PARAMS).evaluate(data)
    except Unavailable:
        assert expected is None
        return
    assert expected is not None
    value, event = expected
    assert score.raw == value
    if event is None:
        assert score.note == "no scheduled event within the proximity steps"
    else:
        assert score.note.startswith(f"{event.kind.value} {event.day.isoformat()} in ")
