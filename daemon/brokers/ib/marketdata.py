"""Quotes and option chains from IB: snapshots in batches, translated to core quotes.

Snapshots (``reqTickers``) end with IB's tickSnapshotEnd (57); each batch stays below the
market-data-line limit (``broker.ib.snapshot_batch_size``) and under the request timeout.
A side IB leaves unset (-1, size 0, NaN) becomes None; the option's model IV comes from
the optionComputation tick 13; a quote's time is when its last tick arrived
(``ticker.time``), or when the snapshot ended if IB sent nothing for it.
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
    model_iv_sigma,
    quote_side,
)
from daemon.brokers.ib.session import IbSession
from daemon.core.models import Contract, OptionQuote, Quote
from daemon.errors import BrokerError

INDICES = ("SPX", "VIX", "VIX3M")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class MarketData:
    """The market-data half of the port."""

    def __init__(self, session: IbSession, resolver: ContractResolver, batch_size: int) -> None:
        self._s = session
        self._resolver = resolver
        self._batch = batch_size

    # ---- snapshots ------------------------------------------------------------------------
    def _quote(self, ticker: Any) -> Quote:
        greeks = getattr(ticker, "modelGreeks", None)
        return Quote(
            bid=quote_side(_float(ticker.bid), _float(ticker.bidSize)),
            ask=quote_side(_float(ticker.ask), _float(ticker.askSize)),
            time=ticker.time or self._s.clock(),
            last=clean_price(_float(ticker.last)),
            model_iv_sigma=model_iv_sigma(None if greeks is None else greeks.impliedVol),
        )

    async def snapshots(self, contracts: Sequence[Any]) -> list[Quote]:
        """One quote per library contract, in order; ``BrokerError`` when IB says the
        account lacks the market data permission for any of them."""
        unique = list({id(c): c for c in contracts}.values())
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
                names = sorted({e.contract.localSymbol or e.contract.symbol for e in refused})
                raise BrokerError(
                    f"no IB market data permission for {', '.join(names)} ({refused[0]}); "
                    f"market_data_type is {self._s.params.market_data_type!r}"
                )
            for contract, ticker in zip(batch, tickers, strict=True):
                quotes[id(contract)] = self._quote(ticker)
            self._s.lib.forget_tickers(self._s.ib, batch)
        return [quotes[id(c)] for c in contracts]

    # ---- the port's calls -----------------------------------------------------------------
    async def index_quotes(self) -> dict[str, Quote]:
        contracts = [await self._resolver.index(name) for name in INDICES]
        return dict(zip(INDICES, await self.snapshots(contracts), strict=True))

    async def vix_futures(self) -> dict[date, Quote]:
        listed = await self._resolver.vix_futures()
        quotes = await self.snapshots([ib for ib, _ in listed.values()])
        return dict(zip(listed, quotes, strict=True))

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        resolved = await self._resolver.resolve(contracts)
        known = [c for c in resolved if c is not None]
        by_id = dict(zip(map(id, known), await self.snapshots(known), strict=True))
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
        underlying = await self._resolver.index(symbol)
        return list(
            await self._s.call(
                f"option parameters of {symbol}",
                lambda: self._s.ib.reqSecDefOptParamsAsync(
                    underlying.symbol, "", underlying.secType, underlying.conId
                ),
            )
            or []
        )
