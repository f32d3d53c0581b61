"""Fit the historical market's proxy surface and spreads on the real chains; print the errors.

    .venv/bin/python benchmarks/fit_surface.py [DATA_DIR]   (default ../shared/data/market)

What is fitted, on what (docs/replay.md, "Proxy surface", holds the output):
1. SPX smile (``spx_atm_ratio``, ``spx_skew_slope_per_skew_pt``, ``spx_slope_term_exponent``,
   ``spx_smile_curvature``): least squares on implied vols of out-of-the-money mids (bid > 0,
   7..400 days, |standardised moneyness| <= 3) of the two SPX chains, 2020-12-01
   (OptionMetrics) and 2026-01-30 (Yahoo), with that day's VIX, VIX3M and SKEW closes; each
   expiry's forward from put-call parity of its near-the-money mids. Also fitted on each
   chain alone and scored on the other (the out-of-sample error).
2. VIX options (``vix_atm_sigma``, ``vix_term_exponent``, ``vix_call_skew_slope``): least
   squares on implied vols of the 2024-06-03 VIX chain's out-of-the-money closes
   (close >= 0.05, volume > 0), on forwards from put-call parity of the closes.
3. Spreads: ``spx_spread_frac`` and ``spx_spread_min_usd`` by least absolute deviation of
   (ask - bid) / (VIX / 20) on the mid, on the OptionMetrics chain (closing NBBO); the
   after-hours Yahoo snapshot is shown for comparison only.
4. ``vix3m_proxy_scale``: mean of real / unscaled proxy on 2009-09-18..2016-12-30; the
   error is reported in sample and out of sample (2017-2021 on VX1..VX8, 2022+ on UX1/UX2).
"""

from __future__ import annotations

import math
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize

from daemon.brokers.sim.historical_params import HistoricalSurfaceParams
from daemon.brokers.sim.surface import spx_atm_sigma, spx_smile, vix_smile
from daemon.core.implied_vol import implied_vol
from daemon.core.pricing import black76
from daemon.replay.data import MarketData, load_market_data

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO.parent / "shared" / "data" / "market"
RATE = 0.02  # the historical market's rate_frac default (forwards come from parity anyway)


def _forward(frame: pd.DataFrame, t: float) -> float:
    """Parity forward from the 6 strikes nearest the money with both sides."""
    both = frame.pivot_table(index="strike", columns="cp", values="mid").dropna()
    d = math.exp(-RATE * t)
    both["f"] = both.index + (both["C"] - both["P"]) / d
    both["gap"] = (both["C"] - both["P"]).abs()
    return float(both.nsmallest(6, "gap")["f"].median())


def spx_chains(data_dir: Path) -> pd.DataFrame:
    """OTM mids of both SPX chains: day, expiry, t, strike, cp, mid, spread, fwd."""
    om = pd.read_csv(data_dir / "spx_option_chain_2020-12-01_optionmetrics.csv")
    om = pd.DataFrame(
        {
            "day": pd.to_datetime(om["date"].astype(str)).dt.date,
            "expiry": pd.to_datetime(om["exdate"].astype(str)).dt.date,
            "strike": om["strike_price"] / 1000.0,
            "cp": om["cp_flag"],
            "bid": om["best_bid"],
            "ask": om["best_offer"],
        }
    )
    yh = pd.read_csv(data_dir / "spx_option_chain_2026-01-30_yahoo.csv")
    yh = pd.DataFrame(
        {
            "day": date(2026, 1, 30),
            "expiry": pd.to_datetime(yh["expiration"]).dt.date,
            "strike": yh["strike"],
            "cp": yh["option_type"].str[0].str.upper(),
            "bid": yh["bid"],
            "ask": yh["ask"],
        }
    )
    rows = []
    for frame in (om, yh):
        frame = frame[(frame["bid"] > 0) & (frame["ask"] >= frame["bid"])].copy()
        frame["mid"] = 0.5 * (frame["bid"] + frame["ask"])
        frame["spread"] = frame["ask"] - frame["bid"]
        for expiry, group in frame.groupby("expiry"):
            days = (expiry - group["day"].iloc[0]).days
            if not 7 <= days <= 400:
                continue
            t = days / 365.0
            fwd = _forward(group, t)
            otm = group[
                ((group["cp"] == "C") & (group["strike"] > fwd))
                | ((group["cp"] == "P") & (group["strike"] <= fwd))
            ]
            rows.append(otm.assign(t=t, days=days, fwd=fwd))
    out = pd.concat(rows, ignore_index=True)
    iv = implied_vol(out["mid"], out["fwd"], out["strike"], out["t"], RATE, out["cp"].to_numpy())
    out["iv"] = np.asarray(iv.sigma, dtype=float)
    return out[np.isfinite(out["iv"])]


def in_fit_range(
    chains: pd.DataFrame, levels: dict[date, tuple[float, float, float]]
) -> pd.DataFrame:
    """Standardised moneyness (with the day's variance curve) in [-3, 2.5]: from about the
    2-delta put to the 2-delta call, the strikes a condor book and its hedges trade."""
    atm = np.array(
        [
            spx_atm_sigma(levels[d][0], levels[d][1], n, 1.0)
            for d, n in zip(chains["day"], chains["days"], strict=True)
        ]
    )
    x = np.log(chains["strike"] / chains["fwd"]) / (atm * np.sqrt(chains["t"]))
    return chains[(x >= -3.0) & (x <= 2.5)].reset_index(drop=True)


def _levels(data: MarketData, day: date) -> tuple[float, float, float]:
    i = data.index_of(day) if data.has_session(day) else None
    if i is None:  # SPX ends before 2026: read the Cboe closes directly
        raise KeyError(day)
    return float(data.vix_close[i]), float(data.vix3m_close[i]), float(data.skew[i])


def cboe_levels(data_dir: Path, day: date) -> tuple[float, float, float]:
    """VIX, VIX3M, SKEW closes of a day straight from the Cboe files."""

    def close(name: str, col: str) -> float:
        frame = pd.read_csv(data_dir / name)
        frame["d"] = pd.to_datetime(frame["DATE"], format="%m/%d/%Y").dt.date
        return float(frame.loc[frame["d"] == day, col].iloc[0])

    return (
        close("vix_daily_cboe.csv", "CLOSE"),
        close("vix3m_daily_cboe.csv", "CLOSE"),
        close("skew_daily_cboe.csv", "SKEW"),
    )


SPX_KEYS = (
    "spx_atm_ratio",
    "spx_skew_slope_per_skew_pt",
    "spx_slope_term_exponent",
    "spx_smile_curvature",
)


def spx_model_iv(
    x: np.ndarray, chains: pd.DataFrame, levels: dict[date, tuple[float, float, float]]
) -> np.ndarray:
    p = HistoricalSurfaceParams(**dict(zip(SPX_KEYS, x, strict=True)), spx_moneyness_clip=3.0)
    out = np.empty(len(chains))
    for (day, _), g in chains.groupby(["day", "expiry"]):
        vix, vix3m, skew = levels[day]
        t, fwd = float(g["t"].iloc[0]), float(g["fwd"].iloc[0])
        atm = spx_atm_sigma(vix, vix3m, t * 365.0, p.spx_atm_ratio)
        out[chains.index.get_indexer(g.index)] = spx_smile(
            g["strike"].to_numpy(float), fwd, t, atm, skew, p
        )
    return out


def fit_spx(chains: pd.DataFrame, levels: dict[date, tuple[float, float, float]]) -> np.ndarray:
    x0 = np.array([0.87, -0.01, 0.1, 0.04])
    res = least_squares(
        lambda x: spx_model_iv(x, chains, levels) - chains["iv"].to_numpy(),
        x0,
        bounds=([0.3, -0.1, -1.0, 0.0], [2.0, 0.0, 1.0, 2.0]),
    )
    return np.asarray(res.x)


def spx_errors(
    x: np.ndarray, chains: pd.DataFrame, levels: dict[date, tuple[float, float, float]]
) -> pd.DataFrame:
    """Per chain and tenor bucket: IV error (vol points) and price error (USD, and the share
    of quotes whose model price falls inside the real bid..ask)."""
    model_iv = spx_model_iv(x, chains, levels)
    err = model_iv - chains["iv"].to_numpy()
    g = black76(chains["fwd"], chains["strike"], chains["t"], RATE, model_iv, chains["cp"] == "C")
    price = np.asarray(g.price, dtype=float)
    frame = chains.assign(
        err_vol_pts=100 * err,
        err_usd=price - chains["mid"].to_numpy(),
        inside=(price >= chains["bid"]) & (price <= chains["ask"]),
    )
    frame["bucket"] = pd.cut(frame["days"], [6, 30, 90, 400], labels=["7-30d", "31-90d", "91-400d"])
    return frame.groupby(["day", "bucket"], observed=True).agg(
        n=("err_vol_pts", "size"),
        iv_bias=("err_vol_pts", "mean"),
        iv_rmse=("err_vol_pts", lambda e: float(np.sqrt(np.mean(e**2)))),
        usd_mae=("err_usd", lambda e: float(np.mean(np.abs(e)))),
        inside_frac=("inside", "mean"),
    )


def vix_chain(data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / "vix_option_chain_2024-06-03_polygon.csv")
    raw = raw[(raw["close"] >= 0.05) & (raw["volume"] > 0)].copy()
    raw["expiry"] = pd.to_datetime(raw["expiration_date"]).dt.date
    raw["cp"] = raw["contract_type"].str[0].str.upper()
    raw["strike"], raw["mid"] = raw["strike_price"], raw["close"]
    rows = []
    for expiry, g in raw.groupby("expiry"):
        days = (expiry - date(2024, 6, 3)).days
        t = days / 365.0
        try:
            fwd = _forward(g, t)
        except (KeyError, ValueError):
            continue
        if not math.isfinite(fwd):
            continue
        otm = g[
            ((g["cp"] == "C") & (g["strike"] > fwd)) | ((g["cp"] == "P") & (g["strike"] <= fwd))
        ]
        rows.append(otm.assign(t=t, days=days, fwd=fwd))
    out = pd.concat(rows, ignore_index=True)
    iv = implied_vol(out["mid"], out["fwd"], out["strike"], out["t"], RATE, out["cp"].to_numpy())
    out["iv"] = np.asarray(iv.sigma, dtype=float)
    return out[np.isfinite(out["iv"]) & (out["iv"] < 4.9)]


VIX_KEYS = ("vix_atm_sigma", "vix_term_exponent", "vix_call_skew_slope")


def vix_model_iv(x: np.ndarray, chain: pd.DataFrame) -> np.ndarray:
    p = HistoricalSurfaceParams(**dict(zip(VIX_KEYS, x, strict=True)))
    out = np.empty(len(chain))
    for _, g in chain.groupby("expiry"):
        t, fwd = float(g["t"].iloc[0]), float(g["fwd"].iloc[0])
        out[chain.index.get_indexer(g.index)] = vix_smile(g["strike"].to_numpy(float), fwd, t, p)
    return out


def fit_spreads(chains: pd.DataFrame, vix_by_day: dict[date, float]) -> tuple[float, float]:
    """LAD fit of spread / (VIX / 20) = frac x mid + min on the OptionMetrics chain (the
    exchange's best bid/offer at the close); the Yahoo snapshot, taken after the close
    when market makers widen, is shown beside it, not fitted."""
    scale = chains["day"].map(lambda d: vix_by_day[d] / 20.0).to_numpy()
    y, m = chains["spread"].to_numpy() / scale, chains["mid"].to_numpy()
    fit = (chains["day"] == date(2020, 12, 1)).to_numpy()
    res = minimize(
        lambda a: np.mean(np.abs(y[fit] - (a[0] * m[fit] + a[1]))),
        [0.01, 0.1],
        method="Nelder-Mead",
    )
    frac, floor = (float(v) for v in res.x)
    table = chains.assign(model=(frac * m + floor) * scale)
    table["mid_bucket"] = pd.cut(table["mid"], [0, 1, 5, 20, 50, 100, 1000])
    print(
        table.groupby(["day", "mid_bucket"], observed=True)[["spread", "model"]]
        .median()
        .round(2)
        .to_string()
    )
    return frac, floor


def vix3m_fit(data: MarketData) -> None:
    from daemon.brokers.sim.historical import HistoricalSource
    from daemon.brokers.sim.params import SimParams

    src = HistoricalSource(data, SimParams(book=()))
    real = data.vix3m_close
    rows = []
    for i, day in enumerate(data.days):
        if math.isnan(real[i]) or not data.vx_curve(i):
            continue
        src._step = 3 * i + 1  # position on the close print of the session, then read
        src._apply(3 * i + 1)
        rows.append((day, real[i], src._vix3m_proxy() / src._h.vix3m_proxy_scale))
    frame = pd.DataFrame(rows, columns=["day", "real", "proxy"])
    train = frame[frame["day"] <= date(2016, 12, 30)]
    scale = float((train["real"] / train["proxy"]).mean())
    print(
        f"vix3m_proxy_scale = {scale:.4f}  (fitted on {len(train)} sessions 2009-09-18..2016-12-30)"
    )
    for name, part in (
        ("in sample 2009-2016", train),
        (
            "out of sample 2017-2021 (VX1..VX8)",
            frame[(frame["day"] > date(2016, 12, 30)) & (frame["day"] <= date(2021, 12, 23))],
        ),
        ("out of sample 2022+ (UX1/UX2)", frame[frame["day"] > date(2021, 12, 23)]),
    ):
        err = scale * part["proxy"] - part["real"]
        print(
            f"  {name}: n={len(part)} bias={err.mean():+.2f} pts, "
            f"rmse={np.sqrt((err**2).mean()):.2f} pts, "
            f"p95 |err|={err.abs().quantile(0.95):.2f} pts"
        )


def main() -> int:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    data = load_market_data(data_dir)
    chains = spx_chains(data_dir)
    days = sorted(set(chains["day"]))
    levels = {d: cboe_levels(data_dir, d) for d in days}
    chains = in_fit_range(chains, levels)
    print("SPX chains:", {str(d): int((chains["day"] == d).sum()) for d in days}, "OTM quotes")
    print("levels (VIX, VIX3M, SKEW):", {str(d): v for d, v in levels.items()})
    x = fit_spx(chains, levels)
    print("SPX fit (both chains):", dict(zip(SPX_KEYS, np.round(x, 4), strict=True)))
    print(spx_errors(x, chains, levels).round(2).to_string())
    for train in days:
        test = next(d for d in days if d != train)
        xi = fit_spx(chains[chains["day"] == train].reset_index(drop=True), levels)
        err = spx_errors(xi, chains[chains["day"] == test].reset_index(drop=True), levels)
        print(f"fit on {train} only {np.round(xi, 4)}, scored on {test}:")
        print(err.round(2).to_string())
    vix = vix_chain(data_dir).reset_index(drop=True)
    res = least_squares(
        lambda v: vix_model_iv(v, vix) - vix["iv"].to_numpy(),
        [0.9, 0.4, 0.2],
        bounds=([0.1, 0.0, -1.0], [5.0, 2.0, 2.0]),
    )
    err = 100 * (vix_model_iv(res.x, vix) - vix["iv"].to_numpy())
    print(
        "VIX fit:",
        dict(zip(VIX_KEYS, np.round(res.x, 4), strict=True)),
        f"n={len(vix)} rmse={np.sqrt(np.mean(err**2)):.1f} vol pts, bias={err.mean():+.1f}",
    )
    for expiry, g in vix.assign(err=err).groupby("expiry"):
        print(
            f"  {expiry} fwd={g['fwd'].iloc[0]:.2f} n={len(g)} "
            f"rmse={np.sqrt(np.mean(g['err'] ** 2)):.1f}"
        )
    frac, floor = fit_spreads(chains, {d: v[0] for d, v in levels.items()})
    print(f"SPX spreads: frac={frac:.4f} min_usd={floor:.3f} (real vs model medians above)")
    vix3m_fit(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
