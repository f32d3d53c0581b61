"""Where a quote request's options sit in their expiries' priced grids (``ExpiryPrices``,
one per trading class and expiry, priced once a market step by ``HistoricalSource``).

Two ways, giving the same floats: a request of many contracts is gathered with a few
array operations whatever its size (``unique_per_group``, ``table_rows``); a request of
a few contracts whose grids are all priced already (the marks of the held legs, an
order's legs) is read strike by strike (``priced_rows``, ``theo_rows``), as numpy's
fixed cost per call is most of the array path's time for two or four contracts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from daemon.brokers.sim.chains import Theo
from daemon.brokers.sim.surface import ExpiryPrices
from daemon.core.models import Contract, Right

SMALL_REQUEST = 16  # contracts: up to this many, read from priced grids one by one


def priced_rows(
    grids: Mapping[tuple[str, date], ExpiryPrices], contracts: Sequence[Contract]
) -> list[tuple[ExpiryPrices, int]] | None:
    """Each contract's grid and row in it, when the request is small and every strike is
    on a grid already priced (``grids``: this market step's); None otherwise (the array
    path then prices what is missing)."""
    if not 0 < len(contracts) <= SMALL_REQUEST:
        return None
    out: list[tuple[ExpiryPrices, int]] = []
    for c in contracts:
        grid = grids.get((c.trading_class, c.expiry)) if c.expiry is not None else None
        if grid is None or c.strike is None:
            return None
        i = int(grid.strikes.searchsorted(c.strike))
        if i == grid.strikes.size or grid.strikes[i] != c.strike:
            return None  # a strike the grid lacks: the array path prices it
        out.append((grid, i))
    return out


def theo_rows(contracts: Sequence[Contract], rows: Sequence[tuple[ExpiryPrices, int]]) -> Theo:
    """The request's ``Theo`` read row by row: the very floats the array path gathers (a
    put's delta is ``call_delta - discount`` in float64 either way)."""
    price, delta, sigma, forward = [], [], [], []
    call = Right.CALL  # a local: an enum member read from its class is a slow lookup
    for c, (g, i) in zip(contracts, rows, strict=True):
        call_delta = float(g.call_delta[i])
        if c.right is call:
            price.append(float(g.calls[i]))
            delta.append(call_delta)
        else:
            price.append(float(g.puts[i]))
            delta.append(call_delta - g.discount)
        sigma.append(float(g.sigma[i]))
        forward.append(g.forward)
    return Theo(*(np.array(v, dtype=np.float64) for v in (price, delta, sigma, forward)))


def covers(grid: np.ndarray, wanted: np.ndarray) -> bool:
    pos = np.searchsorted(grid, wanted)
    return bool(np.all(pos < grid.size) and np.all(grid[np.minimum(pos, grid.size - 1)] == wanted))


def unique_per_group(
    gid: np.ndarray, strikes: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Each group's strikes ascending without repeats, laid end to end (np.unique of each
    group at once: a few array operations whatever the number of groups); each element's
    row among them; and where each group's run begins and ends (``groups + 1`` bounds)."""
    order = np.lexsort((strikes, gid))
    s_gid, s_strike = gid[order], strikes[order]
    first = np.ones(gid.size, dtype=bool)
    first[1:] = (s_gid[1:] != s_gid[:-1]) | (s_strike[1:] != s_strike[:-1])
    row = np.empty(gid.size, dtype=np.intp)
    row[order] = np.cumsum(first) - 1
    bounds = np.searchsorted(s_gid[first], np.arange(groups + 1)).tolist()
    return row, s_strike[first], bounds


def table_rows(
    row: np.ndarray,
    gid: np.ndarray,
    strikes: np.ndarray,
    bounds: list[int],
    grids: list[np.ndarray],
    wanted: list[np.ndarray],
) -> np.ndarray:
    """Each element's row in the groups' grids laid end to end: its row among the wanted
    strikes where its grid is exactly them (a grid priced for this request), else searched
    in its grid (one priced earlier in the step, with more strikes)."""
    pos = row.copy()
    start = 0
    for g, (grid, mine_wanted) in enumerate(zip(grids, wanted, strict=True)):
        if grid is not mine_wanted:
            mine = gid == g
            pos[mine] = start + np.searchsorted(grid, strikes[mine])
        elif start != bounds[g]:
            pos[gid == g] += start - bounds[g]
        start += grid.size
    return pos
