"""Standing market data subscriptions for the few contracts every cycle reads.

The indices (SPX, VIX, VIX3M), the listed VX futures and the held option legs are asked
for in every cycle; a snapshot of each costs a request, a market data line for up to a
few seconds, and a place in the client's pacing (about 45 requests a second). They are
streamed instead (``reqMktData`` without the snapshot flag): subscribed once, read at no
cost in every later cycle. A streamed quote's time is its ticker's last tick, so a
stream that stopped ticking is caught by the quote-age check like a late snapshot.

Subscriptions die with the connection and with IB's 1101 (connectivity restored, data
lost): both empty the table, and the next read subscribes again. A held leg that is no
longer held is unsubscribed (``keep_only``), so lines are not leaked. Refusals (354,
10089...) raise ``BrokerError`` naming the instrument, as snapshots do.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from daemon.brokers.ib.mapping import NO_MARKET_DATA
from daemon.brokers.ib.session import IbError, IbSession
from daemon.core.models import Quote
from daemon.errors import BrokerError

# How often the first tick of a new subscription is looked for (real seconds).
_FIRST_TICK_POLL_S = 0.01


def _ticked(ticker: Any) -> bool:
    """A first price has arrived (IB sends the sides, or only a last for indices)."""
    values = (ticker.bid, ticker.ask, ticker.last)
    return any(v is not None and math.isfinite(v) and v > 0 for v in values)


class Streams:
    """The streamed contracts, by conId: ``quotes`` subscribes what it has not yet."""

    def __init__(self, session: IbSession, quote_of: Callable[[Any], Quote]) -> None:
        self._s = session
        self._quote_of = quote_of
        self._live: dict[int, tuple[Any, Any]] = {}  # conId -> (library contract, ticker)
        session.on_connect.append(self._live.clear)
        session.on_data_lost.append(self._live.clear)

    @property
    def subscribed(self) -> frozenset[int]:
        return frozenset(self._live)

    async def quotes(self, contracts: Sequence[Any], names: Sequence[str]) -> list[Quote]:
        """The current quote of each contract (subscribing the new ones, and waiting for
        their first tick within the request timeout)."""
        named = {c.conId: n for c, n in zip(contracts, names, strict=True)}
        new = list({c.conId: c for c in contracts if c.conId not in self._live}.values())
        if new:
            await self._subscribe(new, named)
        return [self._quote_of(self._live[c.conId][1]) for c in contracts]

    async def _subscribe(self, new: Sequence[Any], named: dict[int, str]) -> None:
        self._s.check()
        kept = False
        with self._s.errors_for(new) as errors:
            tickers = {c.conId: self._s.ib.reqMktData(c, "", False, False) for c in new}
            try:
                await self._s.call(
                    f"first quotes of {len(new)} stream(s)",
                    lambda: self._first_ticks(tickers, errors),
                )
                refused = [e for e in errors if e.code in NO_MARKET_DATA]
                kept = not refused
            finally:
                if not kept:  # a refused or silent subscription must not hold a line
                    for c in new:
                        self._s.ib.cancelMktData(c)
        if refused:
            which = sorted({named.get(e.contract.conId, str(e.contract.conId)) for e in refused})
            raise BrokerError(
                f"no IB market data permission for {', '.join(which)} ({refused[0]}); "
                f"market_data_type is {self._s.params.market_data_type!r}"
            )
        for c in new:
            self._live[c.conId] = (c, tickers[c.conId])

    async def _first_ticks(self, tickers: dict[int, Any], errors: list[IbError]) -> None:
        while not all(_ticked(t) for t in tickers.values()):
            if any(e.code in NO_MARKET_DATA for e in errors):
                return
            await asyncio.sleep(_FIRST_TICK_POLL_S)

    def keep_only(self, con_ids: Iterable[int]) -> None:
        """Unsubscribe every stream not in ``con_ids`` (a leg no longer held)."""
        keep = set(con_ids)
        for con_id in [k for k in self._live if k not in keep]:
            contract, _ = self._live.pop(con_id)
            if self._s.ib.isConnected():
                self._s.ib.cancelMktData(contract)
