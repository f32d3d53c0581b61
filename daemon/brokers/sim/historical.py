"""``HistoricalSource``: the simulated broker's market played from real daily history.

The market steps twice a session of ``MarketData`` (sessions missing from the data are
skipped: nothing moves on them):
- at the open (09:30 New York): the opening prints, SPX open and VIX open. VIX3M, SKEW
  and the VX curve keep the previous close (the data has no opening value for them). The
  SPX AM and VIX option settlements of the day happen on this step, at the opening prints
  (a proxy for the special opening quotations);
- at the close print time, ``close_print_min_before_close`` minutes before the close: the
  day's closing values (SPX, VIX, VIX3M, SKEW, VX settles). A daily cycle run after it
  trades at closing prices;
- at the close itself, nothing moves: SPXW (PM) options settle then, on the SPX close.
Before its first step the market shows the close of the last session before the start.
A missing print (NaN) keeps the last value the market showed.

VIX3M before its first print (2009-09-18), or on a day without one, is a proxy: the
93-day variance average of VIX and the VX curve F(t) (interpolated in tenor, F(0) = VIX),
(30 VIX^2 + 30 F(30 d)^2 + 30 F(60 d)^2 + 3 F(90 d)^2) / 93, times ``vix3m_proxy_scale``
(fitted on 2009-09..2016-12, benchmarks/fit_surface.py); without a curve either, VIX3M
is absent that day (the term structure signal reports itself unavailable). VIX futures
are quoted only for expiries with a real settle that session; options on other expiries
are priced on the curve interpolated linearly in tenor (flat past the last settle).
Prices: ``surface.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import cast

import numpy as np
import numpy.typing as npt

from daemon.brokers.sim.chains import VIX, Chains, Theo
from daemon.brokers.sim.grid_rows import (
    SMALL_REQUEST,
    covers,
    priced_rows,
    table_rows,
    theo_rows,
    unique_per_group,
)
from daemon.brokers.sim.params import SimParams
from daemon.brokers.sim.source import StepListener
from daemon.brokers.sim.surface import (
    ExpiryPrices,
    Smile,
    price_expiries,
    spread_usd,
    spx_atm_sigma,
    spx_smile_terms,
    ticked_bid_ask,
    vix_smile_terms,
)
from daemon.core.calendar import NY, session_bounds, years_until
from daemon.core.models import BreadthDay, Contract, DailyBar, Right
from daemon.core.params import TickRule
from daemon.core.ticks import TickRules
from daemon.replay.data import MarketData

_OPEN, _CLOSE, _BELL = 0, 1, 2
_SIDES_SEEN_MAX = 100_000  # prices whose bid/ask a market step keeps (a few hundred used)
_STEPS = 3  # steps a session


class HistoricalSource:
    """A ``MarketSource`` over ``MarketData`` (see the module docstring)."""

    def __init__(self, data: MarketData, params: SimParams) -> None:
        self.data = data
        self._p = params
        self._h = params.historical
        self._chains = Chains(params)
        self._listeners: list[StepListener] = []
        self._step = -1  # 3 x session index + phase of the last step applied
        self._now: datetime | None = None
        self._bars = [DailyBar(d, float(c)) for d, c in zip(data.days, data.spx_close, strict=True)]
        full = [b for b in (data.breadth_day(i) for i in range(len(data.days))) if b is not None]
        self._breadth: list[BreadthDay] = full
        self._breadth_index = np.array([data.index_of(b.day) for b in full], dtype=np.int64)
        self._levels: dict[str, float] = {}
        self._curve: list[tuple[date, float]] = []
        self._skew = math.nan
        self._day = data.days[0]
        self._cache: dict[tuple[str, date], ExpiryPrices] = {}
        # Bid/ask by model price (SPX classes, VIX) quoted this market step: ``quotes``.
        self._sides_seen: tuple[dict[float, tuple[float, float]], ...] = ({}, {})

    # ---- time ------------------------------------------------------------------------------
    def step_time(self, step: int) -> datetime:
        """When step ``step`` (3 x session index + phase) happens."""
        open_, close = session_bounds(self.data.days[step // _STEPS])
        phase = step % _STEPS
        if phase == _OPEN:
            return open_
        if phase == _BELL:
            return close
        return close - timedelta(minutes=self._h.close_print_min_before_close)

    def close_print_time(self, day: date) -> datetime:
        """When ``day``'s closing values appear (a daily cycle runs after it)."""
        return self.step_time(_STEPS * self.data.index_of(day) + _CLOSE)

    def open_time(self, day: date) -> datetime:
        return self.step_time(_STEPS * self.data.index_of(day))

    def _last_step_at(self, moment: datetime) -> int:
        i = self.data.last_index_at_or_before(moment.astimezone(NY).date())
        if i < 0:
            raise ValueError(f"{moment} is before the first session of the data")
        for phase in (_BELL, _CLOSE, _OPEN):
            if self.step_time(_STEPS * i + phase) <= moment:
                return _STEPS * i + phase
        return _STEPS * i - 1

    def advance_to(self, moment: datetime) -> None:
        if moment == self._now:
            return  # already there: every port call of a cycle asks for the same moment
        target = self._last_step_at(moment)
        if self._step < 0:  # the first call positions the market without stepping
            if target < 0:
                raise ValueError(f"{moment} is before the first session's open in the data")
            self._step = target
            if target % _STEPS == _OPEN and target >= _STEPS:
                self._apply(target - 2)  # the curve, VIX3M and SKEW of the previous close
            self._apply(target - 1 if target % _STEPS == _BELL else target)
        while self._step < target:
            self._step += 1
            self._apply(self._step)
            when = self.step_time(self._step)
            for listener in self._listeners:
                listener(when)
        self._now = moment if self._now is None or moment > self._now else self._now

    def add_listener(self, listener: StepListener) -> None:
        self._listeners.append(listener)

    def is_open(self, moment: datetime) -> bool:
        day = moment.astimezone(NY).date()
        if not self.data.has_session(day):
            return False
        open_, close = session_bounds(day)
        return open_ <= moment < close

    # ---- the state of a step -------------------------------------------------------------
    def _apply(self, step: int) -> None:
        d, i = self.data, step // _STEPS
        if step % _STEPS == _BELL:
            return
        self._day = d.days[i]
        self._cache.clear()
        for seen in self._sides_seen:
            seen.clear()
        if step % _STEPS == _OPEN:
            self._set("SPX", d.spx_open[i])
            self._set("VIX", d.vix_open[i])
            return
        self._set("SPX", d.spx_close[i])
        self._set("VIX", d.vix_close[i])
        self._curve = d.vx_curve(i) or self._curve
        if not math.isnan(d.skew[i]):
            self._skew = float(d.skew[i])
        real = float(d.vix3m_close[i])
        if math.isnan(real) and any(e > self.day for e, _ in self._curve):
            real = self._vix3m_proxy()
        if real > 0:
            self._levels["VIX3M"] = real
        else:  # neither a print nor a curve to build the proxy from: the term signal waits
            self._levels.pop("VIX3M", None)

    def _set(self, name: str, value: float) -> None:
        if not math.isnan(value):
            self._levels[name] = float(value)

    @property
    def day(self) -> date:
        """The session of the last prints shown."""
        return self._day

    def _curve_at(self, tenor_days: np.ndarray) -> np.ndarray:
        """The VX curve (vol points) at tenors from today, F(0) = VIX, flat past the end."""
        today = self.day
        xs = [0.0] + [float((e - today).days) for e, _ in self._curve if e > today]
        ys = [self._levels["VIX"]] + [v for e, v in self._curve if e > today]
        return np.asarray(np.interp(tenor_days, xs, ys), dtype=np.float64)

    def _vix3m_proxy(self) -> float:
        f = self._curve_at(np.array([0.0, 30.0, 60.0, 90.0]))
        var = (30 * f[0] ** 2 + 30 * f[1] ** 2 + 30 * f[2] ** 2 + 3 * f[3] ** 2) / 93.0
        return self._h.vix3m_proxy_scale * math.sqrt(float(var))

    # ---- the MarketSource port -----------------------------------------------------------
    @property
    def chains(self) -> Chains:
        return self._chains

    def spx_pts(self) -> float:
        return self._levels["SPX"]

    def index_levels(self) -> dict[str, float]:
        return dict(self._levels)

    def vix_future_pts(self, expiry: date, now: datetime) -> float | None:
        for e, value in self._curve:
            if e == expiry and e > self.day:
                return value
        return None

    def _vix_forward(self, expiry: date) -> float:
        real = self.vix_future_pts(expiry, self._now or self.step_time(self._step))
        if real is not None:
            return real
        return float(self._curve_at(np.array([float((expiry - self.day).days)]))[0])

    def _grids(
        self, wanted: dict[tuple[str, date], np.ndarray], now: datetime
    ) -> dict[tuple[str, date], ExpiryPrices]:
        """The priced grid of each expiry (``wanted``: its strikes, ascending, no repeats):
        the strikes asked for in this market step, priced together (a cycle asks for all
        strikes of an expiry in one request) and again, with the new ones, only when a later
        request asks for a strike not yet priced. The expiries to price are priced in one
        vectorised call; a grid priced from this request's strikes is ``wanted``'s array."""
        found: dict[tuple[str, date], ExpiryPrices] = {}
        keys: list[tuple[str, date]] = []
        grids: list[np.ndarray] = []
        for key, strikes in wanted.items():
            cached = self._cache.get(key)
            if cached is not None and covers(cached.strikes, strikes):
                found[key] = cached
                continue
            keys.append(key)
            grids.append(
                strikes if cached is None else np.unique(np.concatenate([cached.strikes, strikes]))
            )
        if keys:
            settles = self._chains.settles  # each expiry's instant, kept across steps
            tenors = [years_until(settles(tc, expiry), now) for tc, expiry in keys]
            smiles = [self._smile(tc, e, t) for (tc, e), t in zip(keys, tenors, strict=True)]
            h = self._h
            priced = price_expiries(grids, smiles, tenors, h.rate_frac, h.surface)
            for key, prices in zip(keys, priced, strict=True):
                self._cache[key] = found[key] = prices
        return found

    def _smile(self, trading_class: str, expiry: date, t_years: float) -> Smile:
        h, s = self._h, self._h.surface
        if trading_class == VIX:
            return vix_smile_terms(self._vix_forward(expiry), t_years, s)
        spot = self._levels["SPX"]
        fwd = spot * math.exp((h.rate_frac - h.dividend_yield_frac) * t_years)
        vix = self._levels["VIX"]
        vix3m = self._levels.get("VIX3M", vix)
        tenor_days = max(t_years * 365.0, s.min_tenor_days)
        atm = spx_atm_sigma(vix, vix3m, tenor_days, s.spx_atm_ratio)
        skew = self._skew if not math.isnan(self._skew) else s.spx_skew_default_pts
        return spx_smile_terms(fwd, t_years, atm, skew, s)

    def theo(self, contracts: Sequence[Contract], now: datetime) -> Theo:
        """Model price, delta, vol and forward of each option, from its expiry's grid."""
        rows = priced_rows(self._cache, contracts)
        if rows is not None:
            return theo_rows(contracts, rows)
        if not contracts:
            return Theo(*(np.zeros(0) for _ in range(4)))
        asked: dict[tuple[str, date | None], int] = {}  # expiry -> index, in order of asking
        gid = np.array(
            [asked.setdefault((c.trading_class, c.expiry), len(asked)) for c in contracts]
        )
        assert all(expiry is not None for _, expiry in asked)  # options: each has an expiry
        groups = cast(dict[tuple[str, date], int], asked)
        strikes = np.array([c.strike for c in contracts], dtype=np.float64)
        call = Right.CALL  # a local: an enum member read from its class is a slow lookup
        is_call = np.array([c.right is call for c in contracts], dtype=bool)
        row, unique, bounds = unique_per_group(gid, strikes, len(groups))
        wanted = [unique[bounds[g] : bounds[g + 1]] for g in range(len(groups))]
        grids = self._grids(dict(zip(groups, wanted, strict=True)), now)
        table = [grids[key] for key in groups]
        pos = table_rows(row, gid, strikes, bounds, [g.strikes for g in table], wanted)
        call_delta = np.concatenate([g.call_delta for g in table])[pos]
        discount = np.array([g.discount for g in table])[gid]
        return Theo(
            price=np.where(
                is_call,
                np.concatenate([g.calls for g in table])[pos],
                np.concatenate([g.puts for g in table])[pos],
            ),
            delta=np.where(is_call, call_delta, call_delta - discount),
            sigma=np.concatenate([g.sigma for g in table])[pos],
            forward=np.array([g.forward for g in table])[gid],
        )

    def _sides(
        self, is_vix: bool | npt.NDArray[np.bool_], price: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bid and ask of each price; ``is_vix`` one flag for all or one per price."""
        q = self._p.quotes
        width = spread_usd(price, self._levels["VIX"], is_vix, self._h.quotes)
        rule: TickRule | TickRules
        if isinstance(is_vix, np.ndarray):
            rule = TickRules.pick(is_vix, q.vix_ticks, q.spx_ticks)
        else:
            rule = q.vix_ticks if is_vix else q.spx_ticks
        return ticked_bid_ask(price, width, rule, q.min_spread_ticks)

    def option_bid_ask(self, contract: Contract, theo_usd: float) -> tuple[float, float]:
        """Bid and ask around a model price: a VIX-scaled spread, on the contract's ticks."""
        bid, ask = self._sides(contract.symbol == VIX, np.array([theo_usd]))
        return float(bid[0]), float(ask[0])

    def quotes(
        self, contracts: Sequence[Contract], now: datetime
    ) -> tuple[Theo, list[tuple[float, float]]]:
        theo = self.theo(contracts, now)
        flags = [c.symbol == VIX for c in contracts]
        prices = theo.price.tolist()
        if len(contracts) <= SMALL_REQUEST:  # marks and order legs: quoted this step already?
            spx, vix = self._sides_seen
            seen = [(vix if f else spx).get(p) for f, p in zip(flags, prices, strict=True)]
            if None not in seen:
                return theo, cast(list[tuple[float, float]], seen)
        # One pass for the whole request, each price under its own class's spread and
        # tick rule (a request of one class, most of them, with that class's numbers).
        vix_only = all(flags)
        if vix_only or not any(flags):
            bid, ask = self._sides(vix_only, theo.price)
        else:
            bid, ask = self._sides(np.array(flags, dtype=bool), theo.price)
        sides = list(zip(bid.tolist(), ask.tolist(), strict=True))
        self._remember_sides(flags, prices, sides)
        return theo, sides

    def _remember_sides(
        self, flags: list[bool], prices: list[float], sides: list[tuple[float, float]]
    ) -> None:
        """Keep each price's bid/ask for this market step, by class. The spread and ticks
        depend on nothing else that moves within a step (the VIX level moves only with
        it), so a later request for a price already quoted (a mark, an order's legs: the
        grid prices the snapshot's request quoted) gets the same two floats without the
        dozens of numpy calls of a quote pass, most of a small request's cost."""
        spx, vix = self._sides_seen
        if len(spx) + len(vix) > _SIDES_SEEN_MAX:
            spx.clear()
            vix.clear()
        if not any(flags):
            spx.update(zip(prices, sides, strict=True))
        elif all(flags):
            vix.update(zip(prices, sides, strict=True))
        else:
            for f, p, s in zip(flags, prices, sides, strict=True):
                (vix if f else spx)[p] = s

    def future_bid_ask(self, fair_pts: float) -> tuple[float, float]:
        return self._chains.future_bid_ask(fair_pts)

    def settlement_pts(self, contract: Contract) -> float | None:
        """SPX AM and VIX: the expiry day's opening print (SOQ proxy; its close when the
        open is missing); SPXW: the expiry day's SPX close. An expiry day missing from the
        data settles on the last close before it. None before the data begins."""
        d, expiry = self.data, contract.expiry
        if expiry is None:
            return None
        is_vix = contract.symbol == VIX
        if not d.has_session(expiry):
            i = d.last_index_at_or_before(expiry)
            value = (d.vix_close if is_vix else d.spx_close)[i] if i >= 0 else math.nan
            return None if math.isnan(value) else float(value)
        i = d.index_of(expiry)
        if is_vix:
            values = (d.vix_open[i], d.vix_close[i])
        elif contract.trading_class == "SPXW":
            values = (d.spx_close[i], d.spx_close[i])
        else:
            values = (d.spx_open[i], d.spx_close[i])
        good = [float(v) for v in values if not math.isnan(v)]
        return good[0] if good else None

    def mark(self, contract: Contract, now: datetime) -> float | None:
        """The mid (USD per share) of an option now, without a quote request."""
        known = self._chains.resolve(contract, now)
        if known is None:
            return None
        price = float(self.theo([known], now).price[0])
        bid, ask = self.option_bid_ask(known, price)
        return 0.5 * (bid + ask)

    def _completed(self) -> int:
        """How many sessions of the data have closed by now."""
        now = self._now
        if now is None:
            return 0
        i = self.data.last_index_at_or_before(now.astimezone(NY).date())
        return i + 1 if i >= 0 and session_bounds(self.data.days[i])[1] <= now else max(i, 0)

    def daily_bars(self, sessions: int) -> list[DailyBar]:
        end = self._completed()
        return self._bars[max(0, end - sessions) : end] if sessions > 0 else []

    def breadth_days(self, sessions: int) -> list[BreadthDay]:
        end = int(np.searchsorted(self._breadth_index, self._completed()))
        return self._breadth[max(0, end - sessions) : end] if sessions > 0 else []
