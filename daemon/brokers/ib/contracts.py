"""Library contracts for core contracts: conIds from IB's contract details, cached.

ib_async keys market data by conId, combo legs need conIds, and an AM-settled option's
date at IB may be its last trading day, so every option is looked up through the contract
details of its whole expiry (one request per expiry, then a dictionary) and every index
through its own. The caches live for the trading day (New York date), across reconnects:
a chain's contract details run to hundreds of contracts, and a cycle after a dropped
socket should not pay for them again. The first connect of a new day (the gateway
restarts nightly) starts them afresh, which also picks up strikes listed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from daemon.brokers.ib.dates import vix_future_expiry
from daemon.brokers.ib.mapping import (
    VIX_FUTURE_CLASS,
    by_con_id_fields,
    chain_query_fields,
    contract_from_ib,
    index_fields,
    vix_futures_query_fields,
)
from daemon.brokers.ib.session import IbError, IbSession
from daemon.core.calendar import NY
from daemon.core.models import Contract, Right, SecType
from daemon.errors import BrokerError

ChainKey = tuple[str, str, date]  # symbol, trading class, expiry
Strike = tuple[float, Right]


def _strike_key(strike: float, right: Right) -> Strike:
    return round(strike, 4), right


class ContractResolver:
    """Finds and caches the library contract objects behind core contracts."""

    def __init__(self, session: IbSession) -> None:
        self._s = session
        self._indices: dict[str, Any] = {}
        self._chains: dict[ChainKey, dict[Strike, tuple[Any, Contract]]] = {}
        self._futures: dict[date, tuple[Any, Contract]] | None = None
        self._day: date | None = None
        session.on_connect.append(self.new_day_check)

    def new_day_check(self) -> None:
        """Forget every listing when the trading day has changed since they were cached."""
        today = self._s.clock().astimezone(NY).date()
        if today != self._day:
            self.reset()
            self._day = today

    def reset(self) -> None:
        self._indices.clear()
        self._chains.clear()
        self._futures = None

    async def details(self, what: str, **fields: object) -> tuple[list[Any], list[IbError]]:
        """Contract details of a (partial) contract, and the errors IB gave for it; no
        details and error 200 simply means IB lists nothing that matches."""
        query = self._s.lib.new_contract(**fields)
        with self._s.errors_for([query]) as errors:
            found = await self._s.call(what, lambda: self._s.ib.reqContractDetailsAsync(query))
        return list(found or []), list(errors)

    async def index(self, name: str) -> Any:
        """The qualified index contract (SPX, VIX, VIX3M on CBOE)."""
        if name not in self._indices:
            found, errors = await self.details(f"contract details of {name}", **index_fields(name))
            if len(found) != 1:
                why = "; ".join(map(str, errors)) or f"{len(found)} matches"
                raise BrokerError(f"IB does not list the index {name} ({why})")
            self._indices[name] = found[0].contract
        return self._indices[name]

    async def chain(
        self, symbol: str, trading_class: str, expiry: date
    ) -> dict[Strike, tuple[Any, Contract]]:
        """Every listed contract of one expiry: (strike, right) -> (library, core) contract."""
        key = (symbol, trading_class, expiry)
        if key not in self._chains:
            fields = chain_query_fields(symbol, trading_class, expiry)
            found, _ = await self.details(f"{trading_class} {expiry} chain", **fields)
            listed: dict[Strike, tuple[Any, Contract]] = {}
            for details in found:
                core = contract_from_ib(
                    details.contract, details.minTick, details.realExpirationDate
                )
                if core.expiry == expiry and core.strike is not None and core.right is not None:
                    listed[_strike_key(core.strike, core.right)] = (details.contract, core)
            self._chains[key] = listed
        return self._chains[key]

    async def vix_futures(self) -> dict[date, tuple[Any, Contract]]:
        """The listed monthly VIX futures by final settlement date."""
        if self._futures is None:
            found, _ = await self.details("VIX futures", **vix_futures_query_fields())
            futures: dict[date, tuple[Any, Contract]] = {}
            for details in found:
                c = details.contract
                expiry = vix_future_expiry(
                    c.lastTradeDateOrContractMonth, details.realExpirationDate
                )
                if expiry is not None and c.tradingClass == VIX_FUTURE_CLASS:  # monthlies only
                    core = contract_from_ib(c, details.minTick, details.realExpirationDate)
                    futures[expiry] = (c, core)
            self._futures = dict(sorted(futures.items()))
        return self._futures

    async def resolve(self, contracts: Sequence[Contract]) -> list[Any | None]:
        """One library contract per core contract (None: IB lists no such contract).
        A contract that carries its conId is used as is, without a request."""
        out: list[Any | None] = []
        for contract in contracts:
            out.append(await self._resolve_one(contract))
        return out

    async def _resolve_one(self, contract: Contract) -> Any | None:
        if contract.con_id:
            return self._s.lib.new_contract(**by_con_id_fields(contract))
        if contract.sec_type is SecType.INDEX:
            return await self.index(contract.symbol)
        if contract.sec_type is SecType.FUTURE and contract.expiry is not None:
            found = (await self.vix_futures()).get(contract.expiry)
            return None if found is None else found[0]
        if (
            contract.sec_type is not SecType.OPTION
            or contract.expiry is None
            or contract.strike is None
            or contract.right is None
        ):
            return None
        tc = contract.trading_class or contract.symbol
        listed = await self.chain(contract.symbol, tc, contract.expiry)
        found_option = listed.get(_strike_key(contract.strike, contract.right))
        return None if found_option is None else found_option[0]
