"""An order's legs matched on the last quote request's sides get the very floats the
source quotes them at afresh (the replay places and re-prices at the cycle's minute).

Oracle: ``HistoricalSource.quotes`` of the legs themselves (what matching asked before
the sides were kept), compared bit for bit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.brokers.sim.historical import HistoricalSource
from daemon.core.models import Contract
from daemon.replay.data import MarketData
from tests.replay.option_menu import option_menu

PARAMS = SimParams(book=())


def _hex(sides: list[tuple[float, float]]) -> list[tuple[str, str]]:
    return [(b.hex(), a.hex()) for b, a in sides]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_legs_of_the_last_request_quote_as_the_source(
    market_data: MarketData, data: st.DataObject
) -> None:
    """Any few options of the cycle's request (repeats, both rights, SPX, SPXW, VIX), as
    the chains resolve them for an order, are matched on bit-identical sides; a leg the
    request did not ask for sends matching to the source and drops the kept sides, as
    the next market step does."""

    async def go() -> None:
        source = HistoricalSource(market_data, PARAMS)
        day = data.draw(st.sampled_from(market_data.days[5:-5]))
        broker = SimBroker(PARAMS, SimClock.manual(source.close_print_time(day)), source=source)
        await broker.connect()
        now = broker.clock.now()
        menu = option_menu(source, now, every=5, count=8)
        asked = data.draw(st.lists(st.sampled_from(menu[1:]), min_size=1, max_size=6))
        await broker.option_quotes(menu[1:])
        legs: list[Contract] = []
        for c in asked:
            known = broker.chains.resolve(c, now)
            assert known is not None
            legs.append(known)
        kept = broker._quoted
        assert kept is not None and kept.of(legs) is not None  # the kept sides are used
        assert _hex(broker._leg_quotes(legs, now)) == _hex(source.quotes(legs, now)[1])
        other = broker.chains.resolve(menu[0], now)
        assert other is not None and kept.of([*legs, other]) is None  # not asked: afresh
        sides = broker._leg_quotes([*legs, other], now)
        assert _hex(sides) == _hex(source.quotes([*legs, other], now)[1])
        assert broker._quoted is None  # the source was asked: its grids may have changed
        await broker.option_quotes(menu[1:])
        broker.clock.advance(timedelta(days=1))
        broker.sync()
        assert broker._quoted is None
        await broker.close()

    asyncio.run(go())
