"""Where a replay's prices come from: the market behind the simulated broker.

A replay needs a ``Broker`` on a manual ``SimClock`` (the replay moves market time
itself), the value each option settled at (positions vanish at settlement and the
account needs the cash), the sessions it covers and the event calendar of the period.
Both markets are the simulated broker with a different ``MarketSource``:

- ``sim_market``: the stochastic model (tests, demos, ``alvh replay --data sim``), every
  XNYS session of the window;
- ``historical_market``: real daily history from a data directory
  (``daemon.replay.data``, ``daemon.brokers.sim.historical``), the sessions the data has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from daemon.brokers.sim.broker import SimBroker
from daemon.brokers.sim.clock import SimClock
from daemon.brokers.sim.historical import HistoricalSource
from daemon.brokers.sim.orders import intrinsic_usd
from daemon.brokers.sim.params import SimParams
from daemon.core.calendar import is_session, next_session
from daemon.core.models import Contract, MarketEvent
from daemon.replay.data import load_market_data


class ReplayMarket(Protocol):
    @property
    def broker(self) -> SimBroker: ...

    @property
    def clock(self) -> SimClock: ...

    @property
    def events(self) -> tuple[MarketEvent, ...]: ...

    @property
    def name(self) -> str: ...

    def sessions(self, first: date, last: date) -> list[date]: ...

    def settlement_value(self, contract: Contract) -> float:
        """USD per share an option settled at (called once it has)."""
        ...


def calendar_sessions(first: date, last: date) -> list[date]:
    day = first if is_session(first) else next_session(first)
    out = []
    while day <= last:
        out.append(day)
        day = next_session(day)
    return out


@dataclass
class BrokerMarket:
    """A simulated broker started empty (the replay builds the book)."""

    broker: SimBroker
    events: tuple[MarketEvent, ...] = ()
    name: str = "sim"
    days: tuple[date, ...] | None = field(default=None)  # None: every XNYS session

    @property
    def clock(self) -> SimClock:
        return self.broker.clock

    def sessions(self, first: date, last: date) -> list[date]:
        if self.days is None:
            return calendar_sessions(first, last)
        return [d for d in self.days if first <= d <= last]

    def settlement_value(self, contract: Contract) -> float:
        # The print the broker settled this contract on (daemon.brokers.sim.orders):
        # intrinsic on it, 0 without one, so the ledger's cash is the broker's. A
        # contract the broker did not hold (two ledger holdings netting to zero) takes
        # the print of another contract of the same series settled at the same instant.
        for s in reversed(self.broker.settlements):
            c = s.contract
            same = (c.symbol, c.trading_class, c.expiry) == (
                contract.symbol,
                contract.trading_class,
                contract.expiry,
            )
            if same:
                return 0.0 if s.value_pts is None else intrinsic_usd(contract, s.value_pts)
        value = self.broker.source.settlement_pts(contract)
        return 0.0 if value is None else intrinsic_usd(contract, value)


def sim_market(params: SimParams, start: datetime, events: tuple[MarketEvent, ...]) -> BrokerMarket:
    broker = SimBroker(params.model_copy(update={"book": ()}), SimClock.manual(start))
    return BrokerMarket(broker, events)


def historical_market(data_dir: Path, params: SimParams, first: date) -> BrokerMarket:
    """The historical market over ``data_dir``, its clock at the open of ``first`` (or of
    the first session the data has after it)."""
    data = load_market_data(data_dir)
    params = params.model_copy(update={"book": ()})
    source = HistoricalSource(data, params)
    days = data.sessions(first, data.days[-1])
    start = source.open_time(days[0] if days else data.days[-1])
    broker = SimBroker(params, SimClock.manual(start), source=source)
    return BrokerMarket(broker, data.events, "history", tuple(data.days))
