"""One expiry's forward and implied vols, from its checked quotes (alvh-model.md section 1).

Decisions
---------
- SPX/SPXW: one expiry = one (trading class, expiry date); its forward is the parity-
  implied forward (``pricing.implied_forward``). A residual above
  ``pricing.parity_tolerance_usd`` raises PARITY and marks the expiry unreliable (still
  priced; the overlay should not build candidates there).
- VIX/VIXW: the forward is the VIX future of the same expiry date (``snapshot.vix_futures``),
  never spot VIX. It is checked against the parity-implied forward of the pair nearest the
  money: residual = discount x |F_parity - future| USD per share. No usable future ->
  NO_FORWARD and the expiry's options are not priced.
- Implied vol: from the usable mid; else the broker's model IV (unless the quote is
  stale); else linear interpolation in strike between the nearest strikes on either side
  that have an IV (calls and puts of a strike averaged; never extrapolated); else ``None``
  with NO_IV.

Units: prices USD per share, ``t_years`` ACT/365, ``sigma`` decimal, rates decimal annual.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from daemon.core.arrays import FloatArray
from daemon.core.implied_vol import IVReason, IVResult, implied_vol
from daemon.core.models import OptionQuote, Right
from daemon.core.params import ModelParams
from daemon.core.pricing import implied_forward_of_floats
from daemon.core.quote_checks import CheckedQuote, DataProblem, DataProblemCode, finite_or_none


class IVSource(StrEnum):
    MID = "mid"
    BROKER = "broker"
    INTERPOLATED = "interpolated"
    WIDE_MID = "wide_mid"  # the last resort: a wide quote's own mid (see _wide_mid_last)


@dataclass(frozen=True)
class ExpiryForward:
    """The expiry's forward (index points; ``None``: not priced), discount factor, parity
    residual (USD per share) and its NO_FORWARD / PARITY problems."""

    forward: float | None
    discount: float
    residual_usd: float | None
    problems: tuple[DataProblem, ...]


class SeriesQuotes:
    """One series' checked option quotes, gathered in the market view's one pass over the
    snapshot: the rows and their keys, and with them what the forward fit and the kernels
    read (strikes, call flags, usable mids with NaN where none, and the last usable mid
    of each strike per right for parity), so no later pass walks the rows again."""

    __slots__ = ("call_mid", "calls", "keys", "mids", "put_mid", "rows", "strikes")

    def __init__(self) -> None:
        self.rows: list[tuple[OptionQuote, CheckedQuote]] = []
        self.keys: list[str] = []
        self.strikes: list[float] = []
        self.calls: list[bool] = []
        self.mids: list[float] = []
        self.call_mid: dict[float, float] = {}
        self.put_mid: dict[float, float] = {}

    def add(self, quote: OptionQuote, checked: CheckedQuote, key: str) -> None:
        c = quote.contract
        strike = math.nan if c.strike is None else c.strike
        is_call = c.right is _CALL
        value = checked.value
        self.rows.append((quote, checked))
        self.keys.append(key)
        self.strikes.append(strike)
        self.calls.append(is_call)
        if value is None:
            self.mids.append(math.nan)
        else:
            self.mids.append(value)
            if strike == strike:  # NaN: a contract without a strike has no parity pair
                # A strike listed twice on one side keeps its last mid.
                (self.call_mid if is_call else self.put_mid)[strike] = value

    def parity_pairs(self) -> tuple[list[float], list[float], list[float]]:
        """Strikes with a usable mid on both the call and the put, ascending, and those
        mids."""
        both = sorted(self.call_mid.keys() & self.put_mid.keys())
        return both, [self.call_mid[k] for k in both], [self.put_mid[k] for k in both]


_CALL = Right.CALL  # read once: an enum member looked up on its class, per quote, is slow


def _no_forward(name: str, discount: float, detail: str) -> ExpiryForward:
    return ExpiryForward(
        None, discount, None, (DataProblem(DataProblemCode.NO_FORWARD, name, detail),)
    )


def fit_forward(
    is_vix: bool,
    name: str,
    expiry: date,
    t_years: float,
    parity: tuple[list[float], list[float], list[float]],
    futures: Mapping[date, float],
    params: ModelParams,
) -> ExpiryForward:
    """SPX: the parity forward of the 3 pairs nearest the money. VIX: the future, checked
    against the parity forward of the nearest pair (residual = D |F_parity - future|)."""
    r = params.pricing.risk_free_rate_frac
    tol = params.pricing.parity_tolerance_usd
    if t_years <= 0:
        return _no_forward(name, 1.0, "settled")
    discount = math.exp(-r * t_years)
    k, c, p = parity
    fit = implied_forward_of_floats(
        k,
        c,
        p,
        t_years,
        r,
        pairs=1 if is_vix else 3,
        max_rate_gap_frac=params.pricing.forward_rate_tolerance_frac,
    )
    if is_vix:
        future = futures.get(expiry)
        if future is None:
            return _no_forward(name, discount, "no usable VIX future for this expiry")
        forward, residual = future, None
        if fit is not None:
            residual = discount * abs(fit.forward - future)
        detail = f"future {future:g} vs parity forward {fit.forward if fit else 0:.3f}"
    else:
        if fit is None:
            return _no_forward(name, discount, f"no usable call/put pair among {len(k)} strikes")
        forward, discount, residual = fit.forward, fit.discount, fit.residual_usd
        detail = f"largest residual of {fit.pairs_used} pairs"
    problems: tuple[DataProblem, ...] = ()
    if residual is not None and residual > tol:
        detail = f"parity {residual:.3f} USD > {tol:g}: {detail}"
        problems = (DataProblem(DataProblemCode.PARITY, name, detail),)
    return ExpiryForward(forward, discount, residual, problems)


def _interpolate_iv(strikes: FloatArray, iv: FloatArray) -> FloatArray:
    """Fill NaN vols by linear interpolation in strike between strikes that have one
    (calls and puts of a strike averaged); never beyond the outermost known strikes."""
    known = np.isfinite(iv)
    if known.all():  # the common case: every option has a vol, nothing to fill
        return iv.copy()
    if known.sum() < 2:
        return iv
    # Per strike the mean of its known vols: sums in row order divided by the count,
    # which is what ``ndarray.mean`` computes for the one or two values of a strike.
    grid, where = np.unique(strikes[known], return_inverse=True)
    per_strike = np.bincount(where, weights=iv[known]) / np.bincount(where)
    inside = ~known & (strikes >= grid[0]) & (strikes <= grid[-1])
    out = iv.copy()
    out[inside] = np.interp(strikes[inside], grid, per_strike)
    return out


@dataclass(frozen=True)
class ExpiryVols:
    """Per option of the expiry, in the rows' order: its vol, where it came from, and the
    ``IVReason`` of its mid (``why`` says it in words)."""

    sigma: FloatArray  # NaN where no vol
    source: list[IVSource | None]
    reasons: list[int]  # IVReason of the mid's implied vol

    def why(self, i: int, checked: CheckedQuote) -> str:
        """Why the mid of row ``i`` (its checked quote ``checked``) gave no vol."""
        return "no usable quote" if checked.value is None else _MID_SAID[self.reasons[i]]


_MID_SAID = {int(r): f"mid: {r.name}" for r in IVReason}


def finish_vols(
    rows: Sequence[tuple[OptionQuote, CheckedQuote]],
    fit: IVResult,
    inputs: tuple[FloatArray, npt.NDArray[np.bool_], float, float, float],
    params: ModelParams,
) -> ExpiryVols:
    """One expiry's vols given ``fit``, the implied vols of its mids (NaN where no usable
    mid): the mid's, else the broker's, else interpolated. ``inputs``: strikes, call
    flags, forward, t_years, rate."""
    strikes, is_call, forward, t_years, rate = inputs
    max_sigma = params.pricing.iv_max_sigma
    reasons = np.asarray(fit.reason)
    # A vol of exactly 0 (a mid at intrinsic) has degenerate greeks: use a fallback.
    # (NaN compares False, as nan_to_num's 0 would.)
    ok = (reasons == int(IVReason.OK)) & (fit.sigma > 0)
    iv = np.where(ok, fit.sigma, np.nan)
    if ok.all():  # most expiries: every mid gave a vol, no fallback has anything to do
        return ExpiryVols(iv, [IVSource.MID] * len(rows), reasons.tolist())
    ok_rows = ok.tolist()  # Python bools: one conversion, not one numpy scalar per row
    source: list[IVSource | None] = [IVSource.MID if o else None for o in ok_rows]
    for i, o in enumerate(ok_rows):  # the broker's vol only where the mid gave none
        if o:
            continue
        oq, ck = rows[i]
        broker = finite_or_none(oq.quote.model_iv_sigma)
        if broker is not None and 0 < broker <= max_sigma and not ck.stale:
            iv[i], source[i] = broker, IVSource.BROKER
    filled = _interpolate_iv(strikes, iv)
    for j in np.flatnonzero(np.isnan(iv) & np.isfinite(filled)).tolist():
        source[j] = IVSource.INTERPOLATED
    _wide_mid_last(rows, filled, source, (forward, strikes, t_years, rate, is_call, max_sigma))
    return ExpiryVols(filled, source, reasons.tolist())


def _wide_mid_last(
    rows: Sequence[tuple[OptionQuote, CheckedQuote]],
    iv: FloatArray,
    source: list[IVSource | None],
    inputs: tuple[float, FloatArray, float, float, npt.NDArray[np.bool_], float],
) -> None:
    """Last resort, in place: an option with no vol yet whose only fault is a wide spread
    (fresh, two-sided, not crossed) takes the vol of its own mid. A far wing at the edge of
    the chain has no neighbour to interpolate from, and its wide mid is still the market's
    price; without it a held wing would stop every cycle."""
    forward, strikes, t_years, rate, is_call, max_sigma = inputs
    for i in np.flatnonzero(~np.isfinite(iv)).tolist():
        ck = rows[i][1]
        only_wide = ck.problems and all(p.code is DataProblemCode.WIDE for p in ck.problems)
        if not only_wide or ck.bid is None or ck.ask is None:
            continue
        mid = 0.5 * (ck.bid + ck.ask)
        fit = implied_vol(mid, forward, strikes[i], t_years, rate, is_call[i], max_sigma)
        sigma = float(np.asarray(fit.sigma).ravel()[0])
        if int(np.asarray(fit.reason).ravel()[0]) == int(IVReason.OK) and sigma > 0:
            iv[i], source[i] = sigma, IVSource.WIDE_MID
