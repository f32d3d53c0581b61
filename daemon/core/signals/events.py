"""The scheduled-event signal: FOMC, CPI, PPI and GDP days coming up (model page 3).

raw = max over upcoming events of ``kind_weight x proximity(sessions until it)``, where
proximity steps down with the exchange sessions left (defaults: 1 for today or the next
session, 0.5 within 3 sessions, else 0). The default map is the identity on [0, 1].

Decisions where the model page is silent:

- An event dated today counts fully all day: the calendar holds dates, not release
  times, and the hedge matters most before the print.
- Events before today are ignored.
- A calendar with no event on or after today is ``NO_DATA``, not a quiet 0: it cannot
  tell "nothing scheduled" from "the file ran out" (ship the next year's schedule).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from operator import attrgetter

from daemon.core.models import MarketEvent
from daemon.core.params import EventsParams
from daemon.core.signals.base import (
    BuiltinSignal,
    Score,
    SignalInputs,
    Unavailable,
    UnavailableReason,
)

_BY_DAY = attrgetter("day")


def event_proximity(sessions_ahead: int, steps: Sequence[tuple[int, float]]) -> float:
    """Proximity of an event ``sessions_ahead`` sessions away (0 = today) from the steps
    [(at_most_sessions, proximity), ...]: the first step, in increasing order of sessions,
    that reaches the event; 0 beyond the last step."""
    if sessions_ahead < 0:
        return 0.0
    for at_most, proximity in sorted(steps):
        if sessions_ahead <= at_most:
            return float(proximity)
    return 0.0


class EventsSignal(BuiltinSignal):
    """The nearest weighted scheduled event, in [0, 1]."""

    name = "events"

    def __init__(self, params: EventsParams) -> None:
        self.params = params

    def evaluate(self, inputs: SignalInputs) -> Score:
        # Sorted by day, then cut at today: the same events in the same (stable) order as
        # keeping those on or after today and sorting them, with C calls per event.
        ordered = sorted(inputs.events, key=_BY_DAY)
        upcoming = ordered[bisect_left(ordered, inputs.today, key=_BY_DAY) :]
        if not upcoming:
            raise Unavailable(
                UnavailableReason.NO_DATA,
                f"event calendar has no entry on or after {inputs.today.isoformat()}",
            )
        horizon = max((at_most for at_most, _ in self.params.proximity_steps), default=-1)
        best: tuple[float, MarketEvent | None, int] = (0.0, None, 0)
        # Sessions ahead grow with the date: stop at the first event past the last step.
        for event in upcoming:
            ahead = inputs.sessions_until(inputs.today, event.day)
            if ahead > horizon:
                break
            weight = float(getattr(self.params.kind_weights, event.kind.value))
            value = weight * event_proximity(ahead, self.params.proximity_steps)
            if value > best[0]:
                best = (value, event, ahead)
        top_value, top_event, top_ahead = best
        if top_event is None:
            return Score(0.0, note="no scheduled event within the proximity steps")
        kind, day = top_event.kind.value, top_event.day.isoformat()
        return Score(top_value, note=f"{kind} {day} in {top_ahead} session(s): {top_value:g}")
