"""Quotes and option chains from IB: streams for the core set, snapshots in batches for
the rest, translated to core quotes.

The indices, the VX futures and the held legs (``held``, set by the broker from its last
positions) are read from standing subscriptions (``streams.py``); every other option is
a snapshot.

Snapshots (``reqTickers``) end with IB's tickSnapshotEnd (57); each batch stays below the
market-data-line limit (``broker.ib.snapshot_batch_size``) and under the request timeout.
A side IB leaves unset (-1, size 0, NaN) becomes None; the option's model IV comes from
the optionComputation tick 13; a quote's time is when its last tick arrived
(``ticker.time``), or when the snapshot ended if IB sent nothing for it; its feed is the
ticker's market data type (58), so a delayed quote (10167) is never taken for a live one.
A refusal (354, 10089...) names the instrument as the caller knows it (a held leg resolved
by conId has no symbol on the library's side).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any

from daemon.brokers.ib.contracts import ContractResolver
from daemon.brokers.ib.dates import option_expiry
from daemon.brokers.ib.mapping import (
    NO_MARKET_DATA,
    clean_price,
    feed_kind,
    model_iv_sigma,
    quote_side,
)
from daemon.brokers.ib.session import IbSession
from daemon.brokers.ib.streams import Streams
from daemon.core.calendar import NY
from daemon.core.models import Contract, OptionQuote, Quote
from daemon.errors import BrokerError

INDICES = ("SPX", "VIX", "VIX3M")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _ib_name(contract: Any) -> str:
    """The library contract's own name, for a refusal of a contract no caller named."""
    return str(contract.localSymbol or contract.symbol or f"conId {contract.conId}")


class MarketData:
    """The market-data half of the port."""

    def __init__(self, session: IbSession, resolver: ContractResolver, batch_size: int) -> None:
        self._s = session
        self._resolver = resolver
        self._batch = batch_size
        self.streams = Streams(session, self._quote)
        self.held: frozenset[int] = frozenset()  # conIds of the legs held, to be streamed
        self._core: set[int] = set()  # conIds of the indices and futures streamed
        self._sec_defs: dict[str, tuple[date, list[Any]]] = {}

    # ---- snapshots ------------------------------------------------------------------------
    def _quote(self, ticker: Any) -> Quote:
        greeks = getattr(ticker, "modelGreeks", None)
        return Quote(
            bid=quote_side(_float(ticker.bid), _float(ticker.bidSize)),
            ask=quote_side(_float(ticker.ask), _float(ticker.askSize)),
            time=ticker.time or self._s.clock(),
            last=clean_price(_float(ticker.last)),
            model_iv_sigma=model_iv_sigma(None if greeks is None else greeks.impliedVol),
            feed=feed_kind(getattr(ticker, "marketDataType", None)),
        )

    async def snapshots(
        self, contracts: Sequence[Any], names: Sequence[str] | None = None
    ) -> list[Quote]:
        """One quote per library contract, in order; ``BrokerError`` naming each refused
        instrument (``names``, aligned with ``contracts``) when IB says the account lacks
        the market data permission for any of them."""
        unique = list({id(c): c for c in contracts}.values())
        named = {id(c): n for c, n in zip(contracts, names or (), strict=False)}
        quotes: dict[int, Quote] = {}
        for start in range(0, len(unique), self._batch):
            batch = unique[start : start + self._batch]
            self._s.lib.forget_tickers(self._s.ib, batch)  # a reused ticker would carry old sides
            with self._s.errors_for(batch) as errors:
                tickers = await self._s.call(
                    f"snapshot of {len(batch)} contract(s)",
                    functools.partial(self._s.ib.reqTickersAsync, *batch),
                )
            refused = [e for e in errors if e.code in NO_MARKET_DATA]
            if refused:
                which = sorted({named.get(id(e.contract)) or _ib_name(e.contract) for e in refused})
                raise BrokerError(
                    f"no IB market data permission for {', '.join(which)} ({refused[0]}); "
                    f"market_data_type is {self._s.params.market_data_type!r}"
                )
            for contract, ticker in zip(batch, tickers, strict=True):
                quotes[id(contract)] = self._quote(ticker)
            self._s.lib.forget_tickers(self._s.ib, batch)
        return [quotes[id(c)] for c in contracts]

    # ---- the port's calls -----------------------------------------------------------------
    async def index_quotes(self) -> dict[str, Quote]:
        contracts = [await self._resolver.index(name) for name in INDICES]
        self._core.update(c.conId for c in contracts)
        return dict(zip(INDICES, await self.streams.quotes(contracts, INDICES), strict=True))

    async def vix_futures(self) -> dict[date, Quote]:
        listed = await self._resolver.vix_futures()
        pairs = list(listed.values())
        self._core.update(ib.conId for ib, _ in pairs)
        names = [core.key for _, core in pairs]
        quotes = await self.streams.quotes([ib for ib, _ in pairs], names)
        return dict(zip(listed, quotes, strict=True))

    def hold(self, con_ids: frozenset[int]) -> None:
        """The legs held now: theirs are streamed, a leg no longer held is unsubscribed."""
        self.held = con_ids
        self.streams.keep_only(self._core | con_ids)

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        resolved = await self._resolver.resolve(contracts)
        both = zip(resolved, contracts, strict=True)
        pairs = [(ib, asked.key) for ib, asked in both if ib is not None]
        streamed = [(ib, n) for ib, n in pairs if ib.conId and ib.conId in self.held]
        snapped = [(ib, n) for ib, n in pairs if not (ib.conId and ib.conId in self.held)]
        by_id: dict[int, Quote] = {}
        for group, read in ((streamed, self.streams.quotes), (snapped, self.snapshots)):
            known = [ib for ib, _ in group]
            quoted = await read(known, [name for _, name in group])
            by_id.update(zip(map(id, known), quoted, strict=True))
        now = self._s.clock()
        return [
            OptionQuote(asked, Quote(None, None, now) if ib is None else by_id[id(ib)])
            for asked, ib in zip(contracts, resolved, strict=True)
        ]

    async def option_expiries(self, symbol: str, trading_class: str) -> list[date]:
        """Expiries from IB's security-definition option parameters (reqSecDefOptParams),
        which list every expiry of a class in one reply; AM-settled classes' dates are
        mapped to the settlement date."""
        chains = await self._sec_def_chains(symbol)
        days = {
            option_expiry(text, "", trading_class)
            for chain in chains
            if chain.tradingClass == trading_class
            for text in chain.expirations
        }
        return sorted(d for d in days if d is not None)

    async def option_strikes(self, symbol: str, trading_class: str, expiry: date) -> list[float]:
        """Strikes of one expiry from its contract details: the security-definition
        parameters list the union over all expiries, and a strike missing from this
        expiry would come back without quotes."""
        listed = await self._resolver.chain(symbol, trading_class, expiry)
        return sorted({strike for strike, _ in listed})

    async def _sec_def_chains(self, symbol: str) -> list[Any]:
        """The option parameters of ``symbol``, asked once per trading day: the expiries
        listed change overnight, not between two cycles."""
        today = self._s.clock().astimezone(NY).date()
        cached = self._sec_defs.get(symbol)
        if cached is not None and cached[0] == today:
            return cached[1]
        underlying = await self._resolver.index(symbol)
        chains = list(
            await self._s.call(
                f"option parameters of {symbol}",
                lambda: self._s.ib.reqSecDefOptParamsAsync(
                    underlying.symbol, "", underlying.secType, underlying.conId
                ),
            )
            or []
        )
        self._sec_defs[symbol] = (today, chains)
        return chains
