"""The raw-value histories of the two maps that need a book or a chain, for
``calibrate_signals.py``: proximity (a rolling 20-delta condor on real SPX/VIX closes) and
the skew (a proxy from the Cboe SKEW index), plus the checks of both on the two real SPX
option chains in ``shared/data/market``.

Proximity, as the model page (section 2) defines it: ln(K/S) / (sigma sqrt T), S the SPX
spot, sigma the expiry's ATM implied vol, T the time left; the signed distance of the
nearest short strike (positive out of the money). No daily option chains exist for
2007-2016, so the book is simulated: on each session without an open condor, one is
opened on the standard monthly expiry whose calendar DTE is nearest 45 (at least 30),
short strikes at Black-76 delta -0.20 / +0.20 with sigma = VIX (the 30-day ATM-ish level)
and F = S, rounded to 5 points; it is held until its AM settlement (the daily readings run
to the session before the expiry date). Each session's reading uses that day's close and
VIX. A flat smile places the strikes: on a real (skewed) chain a 20-delta put is further
out and a 20-delta call nearer in ATM sigmas; the chain checks measure by how much.

Skew proxy: the Cboe SKEW index is 100 - 10 x the risk-neutral skewness (gamma1) of the
30-day S&P 500 log return (Cboe SKEW white paper). Backus, Foresi and Wu (2004,
Gram-Charlier expansion) give the implied vol at standardised moneyness d as
sigma (1 - gamma1/6 x d - gamma2/24 x (1 - d^2)); the 25-delta put sits at d = N^-1(0.75)
= 0.674, the ATM at d ~ 0. Dropping the kurtosis term (SKEW carries no kurtosis):
    skew_pts ~ VIX x (SKEW - 100) / 10 x 0.674 / 6.
No constant in it is fitted; the two real chains (2020-12-01 and 2026-01-30, both out of
sample) check it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from daemon.core.calendar import NY, spx_monthly_expiry
from daemon.core.implied_vol import implied_vol
from daemon.core.models import Right
from daemon.core.params import SkewParams
from daemon.core.pricing import black76, implied_forward
from daemon.core.signals.skew import skew_pts

CONDOR_DELTA = 0.20
CONDOR_DTE_DAYS = 45
CONDOR_MIN_DTE_DAYS = 30
STRIKE_STEP_PTS = 5.0
WARMUP_START = date(2006, 6, 1)
# The files read here beyond market_history.FILES.
BOOK_FILES = (
    "skew_daily_cboe.csv",
    "spx_option_chain_2020-12-01_optionmetrics.csv",
    "spx_option_chain_2026-01-30_yahoo.csv",
)
SKEW_TENOR_DAYS = SkewParams().tenor_days  # the daemon's default skew tenor
D25 = float(norm.ppf(0.75))  # standardised moneyness of the 25-delta put
AM_SETTLE = time(9, 30)
CLOSE = time(16, 0)
YEAR_S = 365.0 * 86400.0


def _years(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / YEAR_S


# ---- proximity: a rolling condor on daily closes --------------------------------------------
def _next_expiry(day: date) -> date:
    """The standard monthly expiry nearest ``CONDOR_DTE_DAYS`` with DTE >= the minimum."""
    options = []
    for k in range(1, 4):
        y, m = divmod(day.month - 1 + k, 12)
        options.append(spx_monthly_expiry(day.year + y, m + 1))
    if spx_monthly_expiry(day.year, day.month) > day:
        options.append(spx_monthly_expiry(day.year, day.month))
    fit = [e for e in options if (e - day).days >= CONDOR_MIN_DTE_DAYS]
    return min(fit, key=lambda e: abs((e - day).days - CONDOR_DTE_DAYS))


def condor_strikes(spot: float, sigma: float, t_years: float) -> tuple[float, float]:
    """Short put and call strikes at Black-76 delta -/+CONDOR_DELTA on a flat smile, F = S
    (undiscounted deltas), rounded to the strike grid."""
    s = sigma * math.sqrt(t_years)
    d1 = float(norm.ppf(1.0 - CONDOR_DELTA))
    k_put = spot * math.exp(-s * (d1 - s / 2))
    k_call = spot * math.exp(s * (d1 + s / 2))
    return (
        STRIKE_STEP_PTS * round(k_put / STRIKE_STEP_PTS),
        STRIKE_STEP_PTS * round(k_call / STRIKE_STEP_PTS),
    )


def distance_sigmas(spot: float, k_put: float, k_call: float, sigma: float, t: float) -> float:
    """The nearest short strike's signed distance in ATM sigmas (model page, section 2)."""
    s = sigma * math.sqrt(t)
    return min(math.log(spot / k_put) / s, math.log(k_call / spot) / s)


def proximity_history(spx: pd.Series, vix: pd.Series) -> pd.DataFrame:
    """One row per session with an open condor: its reading, whether it was opened that
    day (``fresh``), and its calendar DTE."""
    # Started half a year early so a condor of ordinary age is open on 2007-01-01.
    days = [d for d in spx.index if d in vix.index and d >= WARMUP_START]
    rows = []
    held: tuple[date, float, float] | None = None
    for day in days:
        spot, sigma = float(spx[day]), float(vix[day]) / 100.0
        if held is not None and day >= held[0]:
            held = None  # AM-settled at this session's open
        now = datetime.combine(day, CLOSE, tzinfo=NY)
        fresh = held is None
        if held is None:
            expiry = _next_expiry(day)
            t = _years(now, datetime.combine(expiry, AM_SETTLE, tzinfo=NY))
            held = (expiry, *condor_strikes(spot, sigma, t))
        expiry, k_put, k_call = held
        t = _years(now, datetime.combine(expiry, AM_SETTLE, tzinfo=NY))
        reading = distance_sigmas(spot, k_put, k_call, sigma, t)
        rows.append({"day": day, "raw": reading, "fresh": fresh, "dte": (expiry - day).days})
    return pd.DataFrame(rows).set_index("day")


# ---- the skew proxy ---------------------------------------------------------------------------
def load_skew_index(data_dir: Path) -> pd.Series:
    frame = pd.read_csv(data_dir / BOOK_FILES[0])
    days = pd.to_datetime(frame["DATE"], format="%m/%d/%Y").dt.date
    return pd.Series(frame["SKEW"].to_numpy(float), index=days, name="skew").sort_index()


def skew_proxy_pts(vix: pd.Series, skew_index: pd.Series) -> pd.Series:
    """25-delta put IV - ATM IV (vol points) implied by VIX and SKEW (module docstring)."""
    both = pd.concat({"vix": vix, "skew": skew_index}, axis=1).dropna()
    return (both["vix"] * (both["skew"] - 100.0) / 10.0 * D25 / 6.0).rename("skew_proxy")


# ---- the two real chains ------------------------------------------------------------------------
@dataclass(frozen=True)
class Expiry:
    """One expiry's mids per strike (NaN where a side is missing) and its time."""

    expiry: date
    t_years: float
    strikes: np.ndarray
    call_mid: np.ndarray
    put_mid: np.ndarray


def _expiries(frame: pd.DataFrame, now: datetime, settle: time) -> dict[date, Expiry]:
    out = {}
    for expiry, part in frame.groupby("expiry"):
        wide = part.pivot_table(index="strike", columns="right", values="mid", aggfunc="mean")
        wide = wide.reindex(columns=["C", "P"])
        t = _years(now, datetime.combine(expiry, settle, tzinfo=NY))
        out[expiry] = Expiry(
            expiry, t, wide.index.to_numpy(float), wide["C"].to_numpy(), wide["P"].to_numpy()
        )
    return out


def load_chains(data_dir: Path) -> dict[str, tuple[date, dict[date, Expiry]]]:
    """Both chains by name: the quote date and each expiry's mids. OptionMetrics 2020:
    SPX monthlies (AM); Yahoo 2026: the SPXW (PM) series and, on standard expiries, the
    SPX monthly (AM) series kept separately under the key's expiry (AM wins)."""
    om = pd.read_csv(data_dir / BOOK_FILES[1])
    om = om[(om["best_bid"] > 0) & (om["best_offer"] >= om["best_bid"])]
    om_frame = pd.DataFrame(
        {
            "expiry": pd.to_datetime(om["exdate"].astype(str)).dt.date,
            "strike": om["strike_price"] / 1000.0,
            "right": om["cp_flag"],
            "mid": (om["best_bid"] + om["best_offer"]) / 2.0,
        }
    )
    yh = pd.read_csv(data_dir / BOOK_FILES[2])
    yh = yh[(yh["bid"] > 0) & (yh["ask"] >= yh["bid"])]
    monthly = ~yh["contractSymbol"].str.startswith("SPXW")
    chains = {}
    day = date(2020, 12, 1)
    chains["2020-12-01 OptionMetrics"] = (
        day, _expiries(om_frame, datetime.combine(day, CLOSE, tzinfo=NY), AM_SETTLE)
    )  # fmt: skip
    day = date(2026, 1, 30)
    now = datetime.combine(day, CLOSE, tzinfo=NY)
    expiries = {}
    for is_monthly, settle in ((False, CLOSE), (True, AM_SETTLE)):
        part = yh[monthly == is_monthly]
        frame = pd.DataFrame(
            {
                "expiry": pd.to_datetime(part["expiration"]).dt.date,
                "strike": part["strike"],
                "right": np.where(part["option_type"] == "call", "C", "P"),
                "mid": (part["bid"] + part["ask"]) / 2.0,
            }
        )
        expiries.update(_expiries(frame, now, settle))
    chains["2026-01-30 Yahoo"] = (day, expiries)
    return chains


def smile(e: Expiry, rate: float) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    """Parity forward, discount-implied rate, strikes and the out-of-the-money side's
    implied vol at each (puts below the forward, calls above; the project's own
    ``implied_forward`` and ``implied_vol``). ``None`` without a forward."""
    fit = implied_forward(e.strikes, e.call_mid, e.put_mid, e.t_years, rate, pairs=5)
    if fit is None:
        return None
    r = -math.log(fit.discount) / e.t_years
    use_put = e.strikes < fit.forward
    price = np.where(use_put, e.put_mid, e.call_mid)
    right = np.where(use_put, "P", "C")
    iv = implied_vol(price, fit.forward, e.strikes, e.t_years, r, right).sigma
    return fit.forward, r, e.strikes, iv


def chain_checks(data_dir: Path, rate_guess: dict[str, float]) -> list[dict[str, object]]:
    """Per chain: the project's skew on the expiry nearest 30 days, and a fresh 20-delta
    condor on the expiry nearest 45 days read both ways (old: own IV and the forward;
    model page: spot and ATM IV)."""
    out: list[dict[str, object]] = []
    for name, (day, expiries) in load_chains(data_dir).items():
        r0 = rate_guess[name]
        fitted = {k: s for k, e in expiries.items() if e.t_years > 0 and (s := smile(e, r0))}
        nearest = min(fitted, key=lambda k: abs((k - day).days))
        spot = fitted[nearest][0]  # the nearest expiry's forward (days away) stands for spot
        skew_day = min(fitted, key=lambda k: abs((k - day).days - SKEW_TENOR_DAYS))
        f, r, k, iv = fitted[skew_day]
        skew = skew_pts(k, iv, f, expiries[skew_day].t_years, r, -0.25)
        condor_day = min(fitted, key=lambda k: abs((k - day).days - CONDOR_DTE_DAYS))
        f, r, k, iv = fitted[condor_day]
        t = expiries[condor_day].t_years
        ok = np.isfinite(iv) & (iv > 0)
        k, iv = k[ok], iv[ok]
        put_d = black76(f, k, t, r, iv, Right.PUT).delta
        call_d = black76(f, k, t, r, iv, Right.CALL).delta
        i_put = int(np.argmin(np.abs(put_d + CONDOR_DELTA)))
        i_call = int(np.argmin(np.abs(call_d - CONDOR_DELTA)))
        atm = float(np.interp(spot, k, iv))
        sqrt_t = math.sqrt(t)
        old = min(
            math.log(f / k[i_put]) / (iv[i_put] * sqrt_t),
            math.log(k[i_call] / f) / (iv[i_call] * sqrt_t),
        )
        new_put = math.log(spot / k[i_put]) / (atm * sqrt_t)
        new_call = math.log(k[i_call] / spot) / (atm * sqrt_t)
        out.append(
            {
                "chain": name, "day": day, "spot": spot, "skew_expiry": skew_day,
                "skew_pts": skew, "condor_expiry": condor_day, "k_put": k[i_put],
                "k_call": k[i_call], "atm_iv": atm, "old": old,
                "new_put": new_put, "new_call": new_call, "new": min(new_put, new_call),
            }
        )  # fmt: skip
    return out
