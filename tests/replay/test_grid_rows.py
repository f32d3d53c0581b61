"""A small quote request read strike by strike off the priced grids gives the very floats
the array path gives.

Oracles: the array path itself (``HistoricalSource.quotes`` of a request too large for
the one-by-one reading, and ``spread_usd`` + ``ticked_bid_ask`` on arrays), compared bit
for bit; ``np.round`` for the rounding of one float."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimParams
from daemon.brokers.sim.chains import option_contract
from daemon.brokers.sim.grid_rows import SMALL_REQUEST, priced_rows
from daemon.brokers.sim.historical import HistoricalSource
from daemon.core.models import Right
from daemon.replay.data import MarketData
from tests.replay.option_menu import option_menu

PARAMS = SimParams(book=())


def _bits(values: list[float]) -> list[str]:
    return [v.hex() for v in values]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_small_request_quotes_as_the_array_path(
    market_data: MarketData, data: st.DataObject
) -> None:
    """After a cycle's request priced the grids, any few of its contracts (repeats, both
    rights, SPX, SPXW and VIX) get bit-identical theo values and bid/ask from the one-by-one
    reading as from the array path."""
    source = HistoricalSource(market_data, PARAMS)
    day = data.draw(st.sampled_from(market_data.days[5:-5]))
    now = source.close_print_time(day)
    source.advance_to(now)
    menu = option_menu(source, now, every=5, count=8)
    source.quotes(menu, now)  # the snapshot's request: every grid priced
    asked = data.draw(st.lists(st.sampled_from(menu), min_size=1, max_size=SMALL_REQUEST))
    assert priced_rows(source._cache, asked) is not None  # the one-by-one reading is taken
    theo, sides = source.quotes(asked, now)
    padded = asked * (SMALL_REQUEST // len(asked) + 1)  # too many for it: the array path
    assert priced_rows(source._cache, padded) is None
    want_theo, want_sides = source.quotes(padded, now)
    n = len(asked)
    for got, want in zip(theo.__dict__.values(), want_theo.__dict__.values(), strict=True):
        assert _bits(got.tolist()) == _bits(want[:n].tolist())
    assert [(b.hex(), a.hex()) for b, a in sides] == [(b.hex(), a.hex()) for b, a in want_sides[:n]]
    assert _bits(source.theo(asked, now).price.tolist()) == _bits(want_theo.price[:n].tolist())


def test_a_strike_not_priced_goes_to_the_array_path(market_data: MarketData) -> None:
    """A small request with a strike its grid lacks, or an expiry not priced this step, is
    not read one by one (the array path prices it)."""
    source = HistoricalSource(market_data, PARAMS)
    now = source.close_print_time(market_data.days[10])
    source.advance_to(now)
    expiry = source.chains.expiries("SPXW", now)[0]
    strikes = source.chains.strikes("SPXW", expiry, source.spx_pts())
    priced = option_contract("SPXW", expiry, strikes[10], Right.PUT)
    source.quotes([priced], now)
    assert priced_rows(source._cache, [priced]) is not None
    other = option_contract("SPXW", expiry, strikes[11], Right.PUT)
    assert priced_rows(source._cache, [priced, other]) is None
    later = source.chains.expiries("SPXW", now)[1]
    assert (
        priced_rows(source._cache, [option_contract("SPXW", later, strikes[10], Right.PUT)]) is None
    )


def test_a_small_request_reuses_the_steps_bid_ask_until_the_market_steps(
    market_data: MarketData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a step's request has quoted some prices, a small request for them makes no
    quote pass and gets the array path's very floats; after the market steps (a new VIX
    level, new spreads) the same request is quoted afresh, again as the array path."""
    source = HistoricalSource(market_data, PARAMS)
    now = source.close_print_time(market_data.days[10])
    source.advance_to(now)
    menu = option_menu(source, now, every=5, count=8)
    source.quotes(menu, now)
    asked = [menu[3], menu[-2], menu[len(menu) // 2]]  # SPX, VIX, SPXW
    passes: list[int] = []
    quote_pass = source._sides

    def counted(*args: object) -> tuple[np.ndarray, np.ndarray]:
        passes.append(1)
        return quote_pass(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "_sides", counted)
    _, sides = source.quotes(asked, now)
    assert passes == []
    _, want = source.quotes(asked * SMALL_REQUEST, now)  # too many: the array path
    assert passes == [1]
    assert [(b.hex(), a.hex()) for b, a in sides] == [(b.hex(), a.hex()) for b, a in want[:3]]
    later = source.close_print_time(market_data.days[11])
    source.advance_to(later)
    _, stepped = source.quotes(asked, later)
    assert passes == [1, 1]
    _, want_later = source.quotes(asked * SMALL_REQUEST, later)
    assert stepped == want_later[:3]
