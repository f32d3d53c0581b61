"""Taking one cycle's ``MarketSnapshot`` from the broker.

Only what the model reads is asked for, because a real broker meters market data:
- every option leg held;
- the SPX/SPXW expiries of the income book (calls and puts: the implied forward needs
  both), the expiry nearest 30 days (the skew), and those inside the diagonal's long-leg
  window, on a strike grid every ``spx_strike_step_pts`` within a band around spot;
- the VIX options of the first expiry past ``vix.min_dte_days`` (and the next ones named
  by ``vix_extra_expiries``), and the held VIX legs' expiries, every listed strike;
- daily history (SPX closes, NYSE breadth) once per trading day: it only changes at the
  close, and a cache keeps a cycle from paying for it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from daemon.config import SnapshotParams
from daemon.core.broker import Broker
from daemon.core.calendar import NY
from daemon.core.cycle_inputs import SKEW_TENOR_DAYS
from daemon.core.models import (
    BreadthDay,
    Contract,
    DailyBar,
    MarketEvent,
    MarketSnapshot,
    Position,
    Right,
    SecType,
)
from daemon.core.params import ModelParams
from daemon.errors import BrokerDisconnected, BrokerError, BrokerTimeout, DataError


@dataclass
class _HistoryCache:
    day: date | None = None
    spx: tuple[DailyBar, ...] = ()
    breadth: tuple[BreadthDay, ...] = ()


class SnapshotTaker:
    def __init__(
        self,
        broker: Broker,
        model: ModelParams,
        params: SnapshotParams,
        events: tuple[MarketEvent, ...],
    ) -> None:
        self._broker = broker
        self._model = model
        self._params = params
        self._events = events
        self._history = _HistoryCache()

    async def take(self, now: datetime) -> MarketSnapshot:
        account = await self._broker.account()
        positions = tuple(await self._broker.positions())
        indices = await self._broker.index_quotes()
        if "SPX" not in indices or "VIX" not in indices:
            raise DataError(f"the broker returned no SPX or VIX quote (got {sorted(indices)})")
        futures = await self._broker.vix_futures()
        spot = indices["SPX"].mid
        if spot is None:
            raise DataError("SPX has no price: cannot choose the strikes to quote")
        contracts = await self._contracts(now, positions, spot)
        options = tuple(await self._broker.option_quotes(contracts))
        spx_history, breadth = await self._daily_history(now)
        return MarketSnapshot(
            now=now,
            account_id=account.account_id,
            is_paper=account.is_paper,
            positions=positions,
            spx=indices["SPX"],
            vix=indices["VIX"],
            vix3m=indices.get("VIX3M"),
            vix_futures=dict(futures),
            options=options,
            spx_history=spx_history,
            breadth_history=breadth,
            events=self._events,
        )

    async def _daily_history(
        self, now: datetime
    ) -> tuple[tuple[DailyBar, ...], tuple[BreadthDay, ...]]:
        today = now.astimezone(NY).date()
        if self._history.day != today:
            sessions = self._params.history_sessions
            spx = tuple(await self._broker.spx_daily_history(sessions))
            try:
                breadth = tuple(await self._broker.breadth_history(sessions))
            except (BrokerDisconnected, BrokerTimeout):
                raise
            except (BrokerError, DataError):
                # No breadth data (e.g. no subscription): the breadth signal reports itself
                # unavailable and the cycle goes on; a dead connection still skips it.
                breadth = ()
            self._history = _HistoryCache(today, spx, breadth)
        return self._history.spx, self._history.breadth

    async def _contracts(
        self, now: datetime, positions: Sequence[Position], spot: float
    ) -> list[Contract]:
        held = [p.contract for p in positions if p.contract.sec_type is SecType.OPTION]
        wanted: dict[str, Contract] = {c.key: c for c in held}
        for c in await self._spx_contracts(now, held, spot):
            wanted.setdefault(c.key, c)
        for c in await self._vix_contracts(now, held):
            wanted.setdefault(c.key, c)
        return list(wanted.values())

    async def _spx_contracts(
        self, now: datetime, held: Sequence[Contract], spot: float
    ) -> list[Contract]:
        today = now.astimezone(NY).date()
        diag = self._model.diagonal
        out: list[Contract] = []
        for trading_class in ("SPX", "SPXW"):
            listed = await self._broker.option_expiries("SPX", trading_class)
            live = [d for d in listed if d >= today]
            chosen = {c.expiry for c in held if c.trading_class == trading_class and c.expiry}
            chosen |= {
                d
                for d in live
                if diag.long_dte_min_days <= (d - today).days <= diag.long_dte_max_days
            }
            if live:
                chosen.add(min(live, key=lambda d: abs((d - today).days - SKEW_TENOR_DAYS)))
            for expiry in sorted(d for d in chosen if d in set(live)):
                strikes = await self._broker.option_strikes("SPX", trading_class, expiry)
                out.extend(
                    _both_rights("SPX", trading_class, expiry, self._spx_grid(strikes, spot))
                )
        return out

    def _spx_grid(self, strikes: Iterable[float], spot: float) -> list[float]:
        p = self._params
        low = spot * (1 - p.spx_strike_band_below_frac)
        high = spot * (1 + p.spx_strike_band_above_frac)
        step = p.spx_strike_step_pts
        return [k for k in strikes if low <= k <= high and abs(k / step - round(k / step)) < 1e-9]

    async def _vix_contracts(self, now: datetime, held: Sequence[Contract]) -> list[Contract]:
        today = now.astimezone(NY).date()
        listed = [d for d in await self._broker.option_expiries("VIX", "VIX") if d >= today]
        far = [d for d in listed if (d - today).days >= self._model.vix.min_dte_days]
        chosen = set(far[: 1 + self._params.vix_extra_expiries])
        chosen |= {c.expiry for c in held if c.symbol == "VIX" and c.expiry in set(listed)}
        out: list[Contract] = []
        for expiry in sorted(d for d in chosen if d is not None):
            strikes = await self._broker.option_strikes("VIX", "VIX", expiry)
            out.extend(_both_rights("VIX", "VIX", expiry, strikes))
        return out


def _both_rights(
    symbol: str, trading_class: str, expiry: date, strikes: Iterable[float]
) -> list[Contract]:
    return [
        Contract(symbol, SecType.OPTION, trading_class, expiry, float(k), right)
        for k in strikes
        for right in (Right.PUT, Right.CALL)
    ]
