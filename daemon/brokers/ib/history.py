"""Daily history from IB: SPX closes and NYSE breadth, completed sessions only.

Both come from ``reqHistoricalData`` daily bars (``1 day``, ``TRADES``, regular hours);
a bar of the session still in progress is partial and dropped.

NYSE breadth. The adapter asks IB for the indices ``ADV-NYSE``, ``DECL-NYSE`` and
``UNCH-NYSE`` (secType IND, exchange NYSE: advancing, declining and unchanged issues) and
takes each daily bar's close as that session's count. What public sources say (checked
when this was written; IB documents no list of these symbols): IB's NYSE market-internals
indices (``TICK-NYSE``, ``TRIN-NYSE``, ``AD-NYSE``) need the NYSE (Network A / CTA) market
data subscription; ``AD-NYSE`` streams advancing issues as its bid, declining as its ask
and unchanged as its bid size, which daily bars cannot carry; and at least one user probe
reports error 200 (no security definition) for ``ADV-NYSE`` and ``DECL-NYSE``. So expect
``breadth_history`` to raise ``BrokerError`` naming the missing symbol (after one contract
details request per connection; the answer is remembered until the next reconnect), and
the breadth signal to be unavailable on IB unless another source feeds it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from daemon.brokers.ib.contracts import ContractResolver
from daemon.brokers.ib.dates import session_completed
from daemon.brokers.ib.mapping import (
    BREADTH_SYMBOLS,
    HISTORICAL_DATA_ERRORS,
    NO_MARKET_DATA,
    breadth_index_fields,
    clean_price,
    history_duration,
)
from daemon.brokers.ib.session import IbSession
from daemon.core.models import BreadthDay, DailyBar
from daemon.errors import BrokerError

_BAR_SIZE = "1 day"
_WHAT_TO_SHOW = "TRADES"


def _bar_day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


class History:
    """The history half of the port."""

    def __init__(self, session: IbSession, resolver: ContractResolver) -> None:
        self._s = session
        self._resolver = resolver
        self._breadth_missing: str | None = None
        session.on_connect.append(self._reset)

    def _reset(self) -> None:
        self._breadth_missing = None

    async def daily_closes(self, contract: Any, sessions: int, what: str) -> dict[date, float]:
        """The last ``sessions`` completed sessions' closes of ``contract``, oldest first."""
        if sessions <= 0:
            return {}
        with self._s.errors_for([contract]) as errors:
            bars = await self._s.call(
                what,
                lambda: self._s.ib.reqHistoricalDataAsync(
                    contract,
                    endDateTime="",
                    durationStr=history_duration(sessions),
                    barSizeSetting=_BAR_SIZE,
                    whatToShow=_WHAT_TO_SHOW,
                    useRTH=True,
                    formatDate=1,
                    timeout=0,  # ours (request_timeout_s) applies instead of the library's
                ),
            )
        failed = [e for e in errors if e.code in HISTORICAL_DATA_ERRORS | NO_MARKET_DATA]
        if not bars and failed:
            raise BrokerError(f"{what}: IB sent no bars ({failed[0]})")
        now = self._s.clock()
        closes: dict[date, float] = {}
        for bar in bars or []:
            day, close = _bar_day(bar.date), clean_price(float(bar.close))
            if close is not None and session_completed(day, now):
                closes[day] = close
        return dict(sorted(closes.items())[-sessions:])

    async def spx_daily_history(self, sessions: int) -> list[DailyBar]:
        spx = await self._resolver.index("SPX")
        closes = await self.daily_closes(spx, sessions, "SPX daily bars")
        return [DailyBar(day=day, close=close) for day, close in closes.items()]

    async def breadth_history(self, sessions: int) -> list[BreadthDay]:
        if self._breadth_missing is not None:
            raise BrokerError(self._breadth_missing)
        contracts: dict[str, Any] = {}
        for part, symbol in BREADTH_SYMBOLS.items():
            found, errors = await self._resolver.details(
                f"contract details of {symbol}", **breadth_index_fields(symbol)
            )
            if len(found) != 1:
                why = "; ".join(map(str, errors)) or f"{len(found)} matches"
                self._breadth_missing = (
                    f"NYSE breadth history is unavailable from IB: no index {symbol} on NYSE "
                    f"({why}); the breadth signal needs another source"
                )
                raise BrokerError(self._breadth_missing)
            contracts[part] = found[0].contract
        series = {
            part: await self.daily_closes(c, sessions, f"{BREADTH_SYMBOLS[part]} daily bars")
            for part, c in contracts.items()
        }
        days = sorted(set.intersection(*(set(s) for s in series.values())))[-sessions:]
        return [
            BreadthDay(
                day=day,
                advancing=round(series["advancing"][day]),
                declining=round(series["declining"][day]),
                unchanged=round(series["unchanged"][day]),
            )
            for day in days
        ]
