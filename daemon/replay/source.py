"""Where a replay's prices come from: the market behind the simulated broker.

A replay needs a ``Broker`` on a manual ``SimClock`` (so the replay moves market time
itself), the value each option settled at (positions vanish at settlement and the
account needs the cash), and the event calendar of the period. ``sim_market`` is the
stochastic simulated market (tests, demos, ``--data sim``); the historical market plays
real daily history through the same broker (``daemon.replay.data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from daemon.brokers.sim.broker import SimBroker
from daemon.brokers.sim.clock import SimClock
from daemon.brokers.sim.params import SimParams
from daemon.core.broker import Broker
from daemon.core.models import Contract, MarketEvent


class ReplayMarket(Protocol):
    @property
    def broker(self) -> Broker: ...

    @property
    def clock(self) -> SimClock: ...

    @property
    def events(self) -> tuple[MarketEvent, ...]: ...

    @property
    def name(self) -> str: ...

    def settlement_value(self, contract: Contract) -> float | None:
        """USD per share the option settled at, once it has; None before."""
        ...


@dataclass
class SimMarket:
    """The stochastic simulated market, started empty (the replay builds the book)."""

    broker: SimBroker
    events: tuple[MarketEvent, ...] = ()
    name: str = "sim"

    @property
    def clock(self) -> SimClock:
        return self.broker.clock

    def settlement_value(self, contract: Contract) -> float | None:
        return self.broker.settlements.get(contract.key)


def sim_market(params: SimParams, start: datetime, events: tuple[MarketEvent, ...]) -> SimMarket:
    clock = SimClock.manual(start)
    return SimMarket(SimBroker(params.model_copy(update={"book": ()}), clock), events)
