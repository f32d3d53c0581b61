"""Which option contracts one cycle asks for: the expiries the model can use, and in each
the strikes its rules can reach (a real broker meters market data and paces requests).

Expiries are decided first, from the listings alone (no quote is needed; the hedge
families' own choices are in their modules, ``HedgeFamily.quote_expiries``):
- every expiry of a held leg;
- SPX/SPXW: the expiry nearest ``signals.skew.tenor_days`` (the skew) per class; the
  ``diagonal_long_expiries`` expiries of the diagonal's long window nearest its middle
  (the core picks the one nearest the middle among the reliable ones: the next one is
  quoted in case the first fails its parity check); the first ``short_leg_expiries``
  expiries on or after the front income expiry and ``diagonal.short_min_dte_days`` away
  (the diagonal's short leg);
- VIX: the first ``1 + vix_extra_expiries`` expiries with DTE >= ``vix.min_dte_days``.

Then each expiry's strikes, from the index level and a vol, by Black-76 delta (Hull,
*Options, Futures and Other Derivatives*, 10th ed., §18.8: a put's delta is -N(-d1), a
call's N(d1), d1 = (ln(F/K) + s^2 T/2) / (s sqrt T)), so the window follows the expiry's
own spread of outcomes instead of a fixed band of index points:
- SPX puts from |delta| = ``spx_put_delta_min`` up to the money, with the window vol
  VIX x ``spx_window_vol_mult`` (OTM puts trade above ATM vol: the skew), never narrower
  than ``spx_min_band_frac`` of spot; calls and puts of the ``forward_pair_strikes``
  grid strikes either side of spot (the implied forward's parity pairs, ATM for skew);
- VIX calls with delta in [``vix_call_delta_min``, ``vix_call_delta_max``] on the same
  expiry's VX future at ``vix_window_vol``, and the ``vix_pair_strikes`` call/put pairs
  nearest the future (its parity check);
- every held leg, and its ``held_neighbour_strikes`` listed neighbours of the same right
  (a wide held quote is priced by interpolating its neighbours' vols).
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np

from daemon.core.families.base import window_middle as window_middle
from daemon.core.models import Contract, Right, SecType

_N = NormalDist()
_YEAR_DAYS = 365.0


@dataclass(frozen=True)
class WindowParams:
    """The ``snapshot`` settings the window reads (see ``daemon.config.SnapshotParams``)."""

    spx_strike_step_pts: float
    spx_put_delta_min: float
    spx_window_vol_mult: float
    spx_min_band_frac: float
    forward_pair_strikes: int
    held_neighbour_strikes: int
    vix_call_delta_min: float
    vix_call_delta_max: float
    vix_window_vol: float
    vix_pair_strikes: int


def years(expiry: date, today: date) -> float:
    """Time to expiry in years, never below one day (the window of a 0-DTE expiry)."""
    return max((expiry - today).days, 1) / _YEAR_DAYS


def strike_at_delta(forward: float, vol: float, t: float, delta: float, right: Right) -> float:
    """The strike whose Black-76 delta is ``delta`` (a put's as |delta|)."""
    s = vol * math.sqrt(t)
    d1 = -_N.inv_cdf(delta) if right is Right.PUT else _N.inv_cdf(delta)
    return forward * math.exp(-d1 * s + 0.5 * s * s)


def on_grid(strikes: Iterable[float], step: float) -> list[float]:
    """The strikes on a multiple of ``step``, ascending. numpy: an SPX listing has a few
    hundred strikes per expiry and a cycle reads a dozen expiries."""
    values = np.sort(np.fromiter(strikes, dtype=np.float64))
    ratio = values / step
    on: list[float] = values[np.abs(ratio - np.round(ratio)) < 1e-9].tolist()
    return on


@functools.lru_cache(maxsize=16)
def _grid_of(strikes: tuple[float, ...], step: float) -> tuple[list[float], bool]:
    """``on_grid``, remembered: a listing is the same for every SPX expiry of a cycle (the
    band follows spot), and hashing it costs a fraction of filtering it again. With it,
    whether no strike repeats (a listing's usual case: ``spx_window`` then unites slices
    by their bounds)."""
    grid = on_grid(strikes, step)
    return grid, len(set(grid)) == len(grid)


def nearest(strikes: Iterable[float], level: float, count: int) -> list[float]:
    """The ``count`` listed strikes either side of ``level`` (2 x count in all): those at
    or below it nearest first, then those above it nearest first."""
    if math.isnan(level):
        return []  # no level: no strike is at, below or above it
    ordered = sorted(k for k in strikes if not math.isnan(k))
    i = bisect.bisect_right(ordered, level)
    return ordered[max(i - count, 0) : i][::-1] + ordered[i : i + count]


def spx_window(
    strikes: Sequence[float], spot: float, vix: float, expiry: date, today: date, p: WindowParams
) -> tuple[list[float], list[float]]:
    """(put strikes, call strikes) to quote for one SPX/SPXW expiry, each ascending."""
    if math.isnan(spot):
        return [], []
    grid, distinct = _grid_of(tuple(strikes), p.spx_strike_step_pts)  # shared: only read
    t = years(expiry, today)
    vol = max(vix, 1.0) / 100.0 * p.spx_window_vol_mult
    low = min(
        strike_at_delta(spot, vol, t, p.spx_put_delta_min, Right.PUT),
        spot * (1.0 - p.spx_min_band_frac),
    )
    # Slices of the ascending grid, not filters over it (a cycle windows a dozen
    # expiries of a few hundred strikes): the pairs are the forward_pair_strikes grid
    # strikes at or below spot and as many above; the puts' window is low <= k <= spot.
    at = bisect.bisect_right(grid, spot)
    n = p.forward_pair_strikes
    first = max(at - n, 0)
    pairs = grid[first : at + n]
    start = bisect.bisect_left(grid, low) if low <= spot else at  # the puts' from ``low``
    if distinct:
        # Both are slices of one ascending grid without repeats, and they meet (the
        # window ends at ``at``, the pairs start at or before it): their sorted union is
        # the slice from the lower start to the higher end.
        return grid[min(start, first) : max(at, first + len(pairs))], pairs
    return sorted(set(grid[start:at]).union(pairs)), pairs


def vix_window(
    strikes: Sequence[float], future: float, expiry: date, today: date, p: WindowParams
) -> tuple[list[float], list[float]]:
    """(put strikes, call strikes) to quote for one VIX expiry."""
    t = years(expiry, today)
    low = strike_at_delta(future, p.vix_window_vol, t, p.vix_call_delta_max, Right.CALL)
    high = strike_at_delta(future, p.vix_window_vol, t, p.vix_call_delta_min, Right.CALL)
    pairs = nearest(strikes, future, p.vix_pair_strikes)
    calls = sorted({k for k in strikes if low <= k <= high} | set(pairs))
    return sorted(pairs), calls


def held_neighbours(
    held: Iterable[Contract], strikes: Sequence[float], right: Right, count: int
) -> set[float]:
    """The ``count`` listed strikes either side of each held leg of ``right``."""
    legs = [c.strike for c in held if c.strike is not None and c.right is right]
    if not legs:
        return set()  # most expiries hold nothing: no listing to sort
    out: set[float] = set()
    ordered = sorted(strikes)
    for strike in legs:
        i = bisect.bisect_left(ordered, strike - 1e-6)
        if i < len(ordered) and abs(ordered[i] - strike) < 1e-6:
            out.update(ordered[max(i - count, 0) : i + count + 1])
    return out


class OptionContracts:
    """The option contracts of the windows, each made once and handed out again by later
    cycles: a ``Contract`` is a value (frozen, equal by its fields), and making one costs
    more than looking it up, ~300 times a cycle. An expiry's are dropped once it is past."""

    def __init__(self) -> None:
        # Per (symbol, class, expiry), per right: the contracts by strike.
        self._made: dict[tuple[str, str, date], dict[Right, dict[float, Contract]]] = {}
        self._day: date | None = None

    def window(
        self,
        symbol: str,
        trading_class: str,
        expiry: date,
        puts: Iterable[float],
        calls: Iterable[float],
    ) -> list[Contract]:
        """The contracts of one expiry's window: puts then calls, each by strike."""
        made = self._made.get((symbol, trading_class, expiry))
        if made is None:
            made = self._made[(symbol, trading_class, expiry)] = {Right.PUT: {}, Right.CALL: {}}
        out: list[Contract] = []
        for right, ks in ((Right.PUT, puts), (Right.CALL, calls)):
            by_strike = made[right]
            strikes = sorted(set(ks))
            done = len(out)
            try:  # a later cycle's window: every contract made already, read in C
                out += map(by_strike.__getitem__, strikes)
            except KeyError:
                del out[done:]  # the ones read before the missing strike
                for k in strikes:
                    if k not in by_strike:
                        by_strike[k] = Contract(
                            symbol, SecType.OPTION, trading_class, expiry, float(k), right
                        )
                out += map(by_strike.__getitem__, strikes)
        return out

    def forget_expired(self, today: date) -> None:
        """Drop the contracts of expiries before ``today`` (once a day)."""
        if self._day == today:
            return
        self._day = today
        self._made = {key: made for key, made in self._made.items() if key[2] >= today}


def nearest_dte(expiries: Sequence[date], today: date, target_days: float) -> date | None:
    return min(expiries, key=lambda d: (abs((d - today).days - target_days), d), default=None)
