"""Quotes and option chains from IB: snapshots in batches, translated to core quotes.

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
        return dict(zip(INDICES, await self.snapshots(contracts, INDICES), strict=True))

    async def vix_futures(self) -> dict[date, Quote]:
        listed = await self._resolver.vix_futures()
        pairs = list(listed.values())
        quotes = await self.snapshots([ib for ib, _ in pairs], [core.key for _, core in pairs])
        return dict(zip(listed, quotes, strict=True))

    async def option_quotes(self, contracts: Sequence[Contract]) -> list[OptionQuote]:
        resolved = await self._resolver.resolve(contracts)
        both = zip(resolved, contracts, strict=True)
        pairs = [(ib, asked.key) for ib, asked in both if ib is not None]
        known = [ib for ib, _ in pairs]
        quoted = await self.snapshots(known, [name for _, name in pairs])
        by_id = dict(zip(map(id, known), quoted, strict=True))
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
