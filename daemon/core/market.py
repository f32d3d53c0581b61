"""The validated market view of one snapshot: forwards, implied vols, greeks, data problems.

``build_market_view(snapshot, params)`` checks every quote, fits each expiry's forward and
prices every option (alvh-model.md sections 0 and 1). Everything downstream (book risk,
the stress scenario, the hedge candidates) reads prices through the ``MarketView``.

Decisions
---------
- Which quotes are usable, and the data problems they raise: ``quote_checks.py``.
- Each expiry's forward (parity for SPX/SPXW, the VIX future for VIX) and each option's
  implied vol (mid, else broker, else interpolated): ``expiry_fit.py``. Greeks are
  Black-76 with that forward and vol.
- ``is_valid`` is False when SPX or VIX spot is unusable (stale, missing, NaN, crossed) or
  when a held SPX/VIX option's leg or expiry has any problem other than WIDE (a wide quote
  on a far wing is normal; its vol falls back and the leg stays priced). VIX3M problems are
  recorded but not fatal: only the term signal needs it.
- A series whose settlement instant has passed (SPX monthlies at 09:30 ET on expiry day,
  SPXW at that session's close: ``calendar.settlement_time``) is *settled*, not a data
  problem: IB keeps listing such positions until its overnight processing. Its options
  are worth intrinsic on the index quote now (the proxy for the settlement print, which
  the snapshot lacks: near the opening print after an AM settlement, the close at a PM
  bell; the VIX index for the SOQ), with zero greeks. Their quotes raise no problem,
  they never enter ``held_keys``/``held_series`` (so cannot invalidate the cycle), the
  held ones are listed in ``settled_keys`` for the book to set aside, and the series'
  ``ExpiryView`` (``settled=True``) is not ``reliable``: no hedge is chosen on it.

Units: prices USD per share; ``t_years`` ACT/365; ``sigma`` decimal; greeks per share and
per contract unit (no multiplier): delta/gamma with respect to the expiry's forward, vega
per vol point, theta per calendar day (as ``pricing.black76``).

``DataProblem``, ``DataProblemCode``, ``check_quote`` and ``IVSource`` are re-exported
from their modules so the market's vocabulary stays one import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from types import MappingProxyType

from daemon.core.calendar import time_to_expiry_years
from daemon.core.chain_pricing import LiveExpiry, prepare_expiry, price_expiries
from daemon.core.expiry_fit import IVSource, SeriesQuotes
from daemon.core.market_views import ExpiryView, OptionView, series_name
from daemon.core.models import (
    Contract,
    MarketSnapshot,
    Position,
    Quote,
    Right,
    SecType,
)
from daemon.core.params import ModelParams
from daemon.core.quote_checks import (
    DataProblem,
    DataProblemCode,
    check_quote,
    quick_check,
)

__all__ = [
    "SPX_SYMBOL",
    "VIX_SYMBOL",
    "DataProblem",
    "DataProblemCode",
    "ExpiryView",
    "IVSource",
    "MarketView",
    "OptionView",
    "build_market_view",
    "check_quote",
    "series_name",
]

# Options by (trading class or symbol, expiry), in ``MarketView.options`` order.
_ChainIndex = dict[tuple[str, date | None], list[OptionView]]

SPX_SYMBOL = "SPX"
VIX_SYMBOL = "VIX"

# Index problems that make SPX or VIX spot unusable, hence the cycle unsafe.
_QUOTE_FATAL = frozenset(
    {DataProblemCode.STALE, DataProblemCode.MISSING, DataProblemCode.NAN, DataProblemCode.CROSSED}
)


@dataclass(frozen=True, eq=False)
class MarketView:
    """The validated market of one cycle. Look options up with ``option(contract)``
    (matched on ``Contract.key``: class, expiry, strike, right)."""

    now: datetime
    spot: float | None
    vix: float | None
    vix3m: float | None
    problems: tuple[DataProblem, ...]
    options: Mapping[str, OptionView] = field(repr=False)
    expiry_views: tuple[ExpiryView, ...] = ()
    vix_futures: Mapping[date, float] = field(default_factory=dict)
    # Held SPX/VIX option legs (``Contract.key``) and their expiries (``series_name``).
    held_keys: frozenset[str] = frozenset()
    held_series: frozenset[str] = frozenset()
    # Held option legs (``Contract.key``) whose series has settled: valued, not hedged.
    settled_keys: frozenset[str] = frozenset()

    def option(self, contract: Contract) -> OptionView | None:
        return self.options.get(contract.key)

    def chain(self, trading_class_or_symbol: str, expiry: date) -> list[OptionView]:
        """The options of ``expiry`` sorted by (strike, right). A trading class wins: "SPX"
        is the AM monthly class when it lists that date; otherwise a symbol ("SPX", "VIX")
        returns every class of that symbol at the date."""
        by_class, asked = self._chains
        name = trading_class_or_symbol
        found = asked.get((name, expiry))
        if found is None:  # sorted once per view and question; each caller gets a copy
            views = by_class.get((name, expiry)) or self._by_symbol.get((name, expiry), [])
            found = sorted(views, key=lambda v: (v.contract.strike or 0.0, str(v.contract.right)))
            asked[name, expiry] = found
        return list(found)

    @cached_property
    def _chains(self) -> tuple[_ChainIndex, _ChainIndex]:
        """The options by (trading class, expiry), each list in ``options`` order, and the
        chains already asked for (sorted): one pass per view instead of a scan and a sort
        of every option per ``chain`` call (a cycle asks for several chains, some twice).
        ``options`` is read-only, so the index cannot go stale."""
        by_class: _ChainIndex = defaultdict(list)
        for v in self.options.values():
            c = v.contract
            by_class[c.trading_class, c.expiry].append(v)
        return dict(by_class), {}

    @cached_property
    def _by_symbol(self) -> _ChainIndex:
        """The options by (symbol, expiry), in ``options`` order: built only when a
        question names no trading class listing that date (callers mostly name one)."""
        by_symbol: _ChainIndex = defaultdict(list)
        for v in self.options.values():
            c = v.contract
            by_symbol[c.symbol, c.expiry].append(v)
        return dict(by_symbol)

    def expiries(self, symbol: str) -> list[ExpiryView]:
        """The expiries of ``symbol`` ("SPX" or "VIX", every class), by date then class."""
        return [e for e in self.expiry_views if e.symbol == symbol]

    def expiry(self, trading_class: str, expiry: date) -> ExpiryView | None:
        for e in self.expiry_views:
            if e.trading_class == trading_class and e.expiry == expiry:
                return e
        return None

    def vix_future(self, expiry: date) -> float | None:
        """The usable mid of the VIX future settling on ``expiry``."""
        return self.vix_futures.get(expiry)

    @property
    def fatal_problems(self) -> tuple[DataProblem, ...]:
        return tuple(
            p
            for p in self.problems
            if (p.instrument in (SPX_SYMBOL, VIX_SYMBOL) and p.code in _QUOTE_FATAL)
            or (p.instrument in self.held_keys and p.code is not DataProblemCode.WIDE)
            or p.instrument in self.held_series
        )

    @property
    def is_valid(self) -> bool:
        return not self.fatal_problems


# ---- a settled series ----------------------------------------------------------------------
def _intrinsic(contract: Contract, value: float) -> float:
    strike = contract.strike or 0.0
    if contract.right is Right.CALL:
        return max(value - strike, 0.0)
    return max(strike - value, 0.0)


def settled_option(contract: Contract, value: float | None) -> OptionView:
    """A settled option: intrinsic at the settlement value ``value``, zero greeks (the
    cash is fixed); unpriced when the value is unknown."""
    price = None if value is None else _intrinsic(contract, value)
    zero = None if value is None else 0.0
    return OptionView(
        contract=contract,
        bid=None,
        ask=None,
        mid=None,
        iv_sigma=None,
        iv_source=None,
        underlying_price=value,
        t_years=0.0,
        discount=1.0,
        rate_frac=0.0,
        model_price=price,
        delta=zero,
        gamma=zero,
        vega=zero,
        theta=zero,
    )


def _years_left(contract: Contract, now: datetime) -> float | str:
    """ACT/365 years to the series' settlement (0.0 once settled), or why it has no
    settlement rule (``prepare_expiry`` reports that; such a series is never "settled").
    Asked once per series: every option of a (symbol, class, expiry) settles together."""
    try:
        return time_to_expiry_years(contract, now)
    except ValueError as err:
        return str(err)


def _is_settled(years_left: float | str) -> bool:
    return not isinstance(years_left, str) and years_left <= 0.0


def _settled_expiry(
    symbol: str,
    trading_class: str,
    expiry: date,
    contracts: Sequence[Contract],
    value: float | None,
) -> tuple[ExpiryView, list[OptionView]]:
    ev = ExpiryView(
        symbol=symbol,
        trading_class=trading_class,
        expiry=expiry,
        t_years=0.0,
        forward=value,
        discount=1.0,
        parity_residual_usd=None,
        reliable=False,
        settled=True,
    )
    return ev, [settled_option(c, value) for c in contracts]


# ---- the whole snapshot ------------------------------------------------------------------------
def _index(
    q: Quote | None, name: str, now: datetime, params: ModelParams
) -> tuple[float | None, tuple[DataProblem, ...]]:
    if q is None:
        return None, (DataProblem(DataProblemCode.MISSING, name, "no quote"),)
    ck = check_quote(q, name, now, params, index=True)
    if ck.value is not None and ck.value <= 0:
        # A zero or negative print (a feed's placeholder, a bad tick) is not a level: every
        # SPX structure would lose its dollar greeks and the cycle would blame the book.
        bad = DataProblem(DataProblemCode.MISSING, name, f"level {ck.value:g} is not a price")
        return None, (*ck.problems, bad)
    return ck.value, ck.problems


def _is_model_option(c: Contract) -> bool:
    return (
        c.sec_type is SecType.OPTION  # ``is_option`` without a property call per quote
        and c.symbol in (SPX_SYMBOL, VIX_SYMBOL)
        and c.expiry is not None
        and c.strike is not None
        and c.right is not None
    )


_Series = tuple[str, str, date | None]  # (symbol, trading class, expiry)


def _held_legs(
    positions: Sequence[Position], years: dict[_Series, float | str], now: datetime
) -> tuple[list[Contract], list[Contract]]:
    """The held SPX/VIX option legs whose series has settled, and the others. ``years``
    (``_years_left`` by series) gains the held series the snapshot did not quote."""
    legs = [p.contract for p in positions if p.quantity and _is_model_option(p.contract)]
    for c in legs:
        if (series := (c.symbol, c.trading_class, c.expiry)) not in years:
            years[series] = _years_left(c, now)
    settled = [c for c in legs if _is_settled(years[c.symbol, c.trading_class, c.expiry])]
    settled_keys = {c.key for c in settled}
    return settled, [c for c in legs if c.key not in settled_keys]


def build_market_view(snapshot: MarketSnapshot, params: ModelParams) -> MarketView:
    """Validate ``snapshot`` and price every SPX/SPXW/VIX option in it (module docstring)."""
    now = snapshot.now
    problems: list[DataProblem] = []
    spot, found = _index(snapshot.spx, SPX_SYMBOL, now, params)
    problems += found
    vix, found = _index(snapshot.vix, VIX_SYMBOL, now, params)
    problems += found
    vix3m, found = _index(snapshot.vix3m, "VIX3M", now, params)
    problems += found

    futures: dict[date, float] = {}
    for expiry, q in sorted(snapshot.vix_futures.items()):
        ck = check_quote(q, f"VIX FUT {expiry}", now, params)
        problems += ck.problems
        if ck.value is not None:
            futures[expiry] = ck.value

    groups: dict[tuple[str, str, date], SeriesQuotes] = {}
    years: dict[_Series, float | str] = {}  # ``_years_left`` by series
    # The loop runs once per option quote (~300 a cycle): the checks' settings are read
    # once, a clean or merely wide quote is decided by the shortcut directly
    # (``check_quote``'s own order), the contract's key is built once, and the series
    # gathers the columns its forward fit and the kernels read in this same pass.
    max_age_s, max_spread = params.validation.max_quote_age_s, params.validation.max_spread_frac
    fresh = None  # the stamp of the last quote the shortcut decided: found fresh at ``now``
    for oq in snapshot.options:
        c = oq.contract
        if not _is_model_option(c) or c.expiry is None:
            continue
        key = c.key
        checked = quick_check(oq.quote, key, now, max_age_s, max_spread, False, fresh)
        if checked is None:
            checked = check_quote(oq.quote, key, now, params)
        else:
            fresh = oq.quote.time
        group = (c.symbol, c.trading_class, c.expiry)
        series = groups.get(group)
        if series is None:  # once per series: the settlement rule is a lookup
            series = groups[group] = SeriesQuotes()
            years[group] = _years_left(c, now)
        if checked.problems and not _is_settled(years[group]):  # a settled option: no quote
            problems += checked.problems
        series.add(oq, checked, key)

    options: dict[str, OptionView] = {}
    expiry_views: list[ExpiryView] = []
    proxies = {SPX_SYMBOL: spot, VIX_SYMBOL: vix}
    # Live series are priced together (one implied-vol and one greeks call for all: the
    # kernels' fixed cost per call, not the options, was most of the time), then put
    # back in series order so the problems read as series by series.
    live: list[LiveExpiry] = []
    slots: list[tuple[tuple[str, str, date], LiveExpiry | DataProblem | None]] = []
    for group, series in sorted(groups.items()):
        symbol, trading_class, expiry = group
        left = years[group]
        if _is_settled(left):
            slots.append((group, None))
            continue
        ready = prepare_expiry(symbol, trading_class, expiry, series, left, futures, params)
        if isinstance(ready, LiveExpiry):
            live.append(ready)
        slots.append((group, ready))
    priced = iter(price_expiries(live, params))
    for group, prepared in slots:
        if prepared is None:
            value = proxies.get(group[0])
            contracts = [oq.contract for oq, _ in groups[group].rows]
            ev, settled_views = _settled_expiry(*group, contracts, value)
            expiry_views.append(ev)
            options.update(zip(groups[group].keys, settled_views, strict=True))
        elif isinstance(prepared, DataProblem):  # a trading class without a settlement rule
            problems.append(prepared)
        else:
            ev, views, series_problems = next(priced)
            problems += series_problems
            expiry_views.append(ev)
            options.update(zip(groups[group].keys, views, strict=True))

    settled_legs, held_legs = _held_legs(snapshot.positions, years, now)
    for c in settled_legs:  # listed by the broker but no longer quoted: valued all the same
        if c.key not in options:
            value = proxies.get(c.symbol)
            options[c.key] = settled_option(c, value)
    settled = frozenset(c.key for c in settled_legs)
    held = frozenset(c.key for c in held_legs)
    for key in sorted(held - options.keys()):
        problems.append(DataProblem(DataProblemCode.MISSING, key, "held leg has no quote"))

    expiry_views.sort(key=lambda e: (e.expiry, e.trading_class))
    return MarketView(
        now=now,
        spot=spot,
        vix=vix,
        vix3m=vix3m,
        problems=tuple(problems),
        options=MappingProxyType(options),
        expiry_views=tuple(expiry_views),
        vix_futures=MappingProxyType(futures),
        held_keys=held,
        held_series=frozenset(
            series_name(c.trading_class, c.expiry) for c in held_legs if c.expiry
        ),
        settled_keys=settled,
    )
