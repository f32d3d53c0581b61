"""Where the simulated broker's prices come from: the ``MarketSource`` port and the model's.

``SimBroker`` keeps its order book, fills, events and faults whatever the source; a source
says what the market is at a time: the index levels, VIX futures, option model prices and
spreads, daily history, and the settlement value of an expiring contract. Two sources:
``ModelSource`` (the seeded stochastic model, ``market.py``) and ``HistoricalSource``
(real daily history, ``historical.py``). Listings (expiries, strikes, contract ids, ticks)
are ``Chains``' in both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

from daemon.brokers.sim.chains import Chains, Theo
from daemon.brokers.sim.evolution import SimMarket
from daemon.brokers.sim.market import vix3m_pts
from daemon.brokers.sim.params import SimParams
from daemon.core.models import BreadthDay, Contract, DailyBar

StepListener = Callable[[datetime], None]


class MarketSource(Protocol):
    @property
    def chains(self) -> Chains:
        """The listings (expiries, strikes, contract ids, combo ticks)."""
        ...

    def advance_to(self, moment: datetime) -> None:
        """Apply every market step up to ``moment``, calling the listeners after each."""
        ...

    def add_listener(self, listener: StepListener) -> None: ...

    def is_open(self, moment: datetime) -> bool: ...

    def spx_pts(self) -> float:
        """SPX now (the strike listings follow it)."""
        ...

    def index_levels(self) -> dict[str, float]:
        """SPX, VIX and VIX3M now; a level the source does not have is absent."""
        ...

    def vix_future_pts(self, expiry: date, now: datetime) -> float | None:
        """Fair value of the VIX future of ``expiry``; None when the source has none."""
        ...

    def theo(self, contracts: Sequence[Contract], now: datetime) -> Theo: ...

    def option_bid_ask(self, contract: Contract, theo_usd: float) -> tuple[float, float]: ...

    def quotes(
        self, contracts: Sequence[Contract], now: datetime
    ) -> tuple[Theo, list[tuple[float, float]]]:
        """Model values and (bid, ask) of each option at once (the hot path of a cycle)."""
        ...

    def future_bid_ask(self, fair_pts: float) -> tuple[float, float]: ...

    def settlement_pts(self, contract: Contract) -> float | None:
        """The underlying's settlement value of an expired option (called once settled)."""
        ...

    def daily_bars(self, sessions: int) -> list[DailyBar]: ...

    def breadth_days(self, sessions: int) -> list[BreadthDay]: ...


class ModelSource:
    """The stochastic model (``SimMarket``) as a ``MarketSource``."""

    def __init__(self, params: SimParams, start: datetime) -> None:
        self._p = params
        self.market = SimMarket(params.market, params.seed, start)
        self._chains = Chains(params)

    @property
    def chains(self) -> Chains:
        return self._chains

    def advance_to(self, moment: datetime) -> None:
        self.market.advance_to(moment)

    def add_listener(self, listener: StepListener) -> None:
        self.market.add_listener(lambda state: listener(state.time))

    def is_open(self, moment: datetime) -> bool:
        return self.market.is_open(moment)

    def spx_pts(self) -> float:
        return self.market.state.spx_pts

    def index_levels(self) -> dict[str, float]:
        s = self.market.state
        return {"SPX": s.spx_pts, "VIX": s.vix_pts, "VIX3M": vix3m_pts(s, self._p.market)}

    def vix_future_pts(self, expiry: date, now: datetime) -> float | None:
        return self._chains.vix_future_pts(expiry, self.market.state, now)

    def theo(self, contracts: Sequence[Contract], now: datetime) -> Theo:
        return self._chains.theo(contracts, self.market.state, now)

    def option_bid_ask(self, contract: Contract, theo_usd: float) -> tuple[float, float]:
        return self._chains.option_bid_ask(contract, theo_usd)

    def quotes(
        self, contracts: Sequence[Contract], now: datetime
    ) -> tuple[Theo, list[tuple[float, float]]]:
        theo = self.theo(contracts, now)
        sides = [
            self._chains.option_bid_ask(c, float(p))
            for c, p in zip(contracts, theo.price, strict=True)
        ]
        return theo, sides

    def future_bid_ask(self, fair_pts: float) -> tuple[float, float]:
        return self._chains.future_bid_ask(fair_pts)

    def settlement_pts(self, contract: Contract) -> float | None:
        # Called on the first step at or after the settlement instant (a one-minute grid):
        # the model's level then is the settlement print.
        s = self.market.state
        return s.vix_pts if contract.symbol == "VIX" else s.spx_pts

    def daily_bars(self, sessions: int) -> list[DailyBar]:
        return list(self.market.bars[-sessions:]) if sessions > 0 else []

    def breadth_days(self, sessions: int) -> list[BreadthDay]:
        return list(self.market.breadth[-sessions:]) if sessions > 0 else []
