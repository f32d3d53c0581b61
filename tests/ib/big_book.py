"""A realistic listing for the fake gateway: what a cycle faces at a real gateway.

SPXW every session for two weeks then Monday / Wednesday / Friday out to 120 days, SPX
monthlies (AM, third Friday) for six months, both on a 5-point grid from 3,000 to 8,000;
VIX monthlies for six months on 1-point strikes to 30, 2.5 to 50, 5 to 100; the VX
futures; a book of three condors (SPX and SPXW) and a VIX call spread. About 100,000
contracts. Quotes are Black-76 at a flat vol with a spread (values for the benchmark's
request counts and wall times, not for the model: no test asserts a price from here).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from scipy.stats import norm

from daemon.core.calendar import is_session, spx_monthly_expiry, vix_expiries
from tests.ib.book import SPX, SPX_SESSIONS, VIX, VIX3M, Book, BookQuote, _occ
from tests.ib.wire import BookContract

TODAY = date(2026, 11, 24)
SPOT, VIX_LEVEL = 5950.25, 17.45


def _spx_expiries() -> list[tuple[str, date]]:
    out: list[tuple[str, date]] = []
    day, sessions = TODAY, 0
    while day <= TODAY + timedelta(days=120):
        if is_session(day):
            sessions += 1
            if sessions <= 10 or day.weekday() in (0, 2, 4):
                out.append(("SPXW", day))
        day += timedelta(days=1)
    months = [
        (TODAY.year + (TODAY.month - 1 + i) // 12, (TODAY.month - 1 + i) % 12 + 1) for i in range(7)
    ]
    out += [("SPX", spx_monthly_expiry(y, m)) for y, m in months]
    return sorted({(tc, d) for tc, d in out if d >= TODAY}, key=lambda p: (p[1], p[0]))


def _vix_strikes() -> list[float]:
    return [*np.arange(10.0, 30.0, 1.0), *np.arange(30.0, 50.0, 2.5), *np.arange(50.0, 101.0, 5.0)]


def _last_trade(tc: str, expiry: date) -> str:
    # AM-settled classes trade until the session before their settlement (IB's habit).
    if tc in ("SPX", "VIX"):
        prior = expiry - timedelta(days=1)
        while not is_session(prior):
            prior -= timedelta(days=1)
        return f"{prior:%Y%m%d}"
    return f"{expiry:%Y%m%d}"


def _listing() -> tuple[list[BookContract], dict[int, BookQuote]]:
    contracts: list[BookContract] = []
    rows: list[tuple[int, float, float, float, bool]] = []  # conId, forward, K, T, call
    con_id = 2_000_000
    spx_strikes = np.arange(3000.0, 8000.0 + 1, 5.0)
    chains = [(tc, d, spx_strikes, SPOT) for tc, d in _spx_expiries()]
    chains += [
        ("VIX", d, np.array(_vix_strikes()), 19.0)
        for d in vix_expiries(TODAY, TODAY + timedelta(days=180))
    ]
    for tc, expiry, strikes, forward in chains:
        t = max((expiry - TODAY).days, 1) / 365.0
        for k in strikes:
            for right in ("C", "P"):
                con_id += 1
                symbol = "VIX" if tc == "VIX" else "SPX"
                contracts.append(
                    BookContract(
                        con_id,
                        symbol,
                        "OPT",
                        _last_trade(tc, expiry),
                        float(k),
                        right,
                        "100",
                        "SMART",
                        "USD",
                        _occ(tc, expiry, right, float(k)),
                        tc,
                    )
                )
                rows.append((con_id, forward, float(k), t, right == "C"))
    ids, fwd, k, t, call = (np.array(col) for col in zip(*rows, strict=True))
    vol = np.where(fwd > 100, 0.16, 0.9)
    s = vol * np.sqrt(t)
    d1 = (np.log(fwd / k) + 0.5 * s * s) / s
    d2 = d1 - s
    price = np.where(
        call, fwd * norm.cdf(d1) - k * norm.cdf(d2), k * norm.cdf(-d2) - fwd * norm.cdf(-d1)
    )
    half = np.maximum(0.025, 0.02 * price)
    quotes = {
        int(i): BookQuote(
            float(max(p - h, 0.05)) if p > 0.1 else -1.0, 10, float(p + h), 10, model_iv=float(v)
        )
        for i, p, h, v in zip(ids, price, half, vol, strict=True)
    }
    return contracts, quotes


def _futures() -> tuple[list[BookContract], dict[int, BookQuote]]:
    out, quotes = [], {}
    for i, d in enumerate(vix_expiries(TODAY, TODAY + timedelta(days=270))):
        c = BookContract(3_000_000 + i, "VIX", "FUT", f"{d:%Y%m%d}", 0, "", "1000", "CFE",
                         trading_class="VX", local_symbol=f"VX{d:%m%y}")  # fmt: skip
        out.append(c)
        level = 18.0 + 0.4 * i
        quotes[c.con_id] = BookQuote(level - 0.05, 50, level + 0.05, 50)
    return out, quotes


def realistic_book() -> Book:
    """The listing above with its quotes, positions and daily bars."""
    options, quotes = _listing()
    futures, fut_quotes = _futures()
    quotes.update(fut_quotes)
    quotes[SPX.con_id] = BookQuote(last=SPOT)
    quotes[VIX.con_id] = BookQuote(last=VIX_LEVEL)
    quotes[VIX3M.con_id] = BookQuote(last=19.1)
    by_key = {(c.trading_class, c.last_trade, c.strike, c.right): c for c in options}
    spx_m = [d for tc, d in _spx_expiries() if tc == "SPX"][1]
    spxw = next(d for tc, d in _spx_expiries() if tc == "SPXW" and (d - TODAY).days >= 28)
    vix_d = vix_expiries(TODAY + timedelta(days=25), TODAY + timedelta(days=90))[0]

    def leg(tc: str, expiry: date, k: float, right: str) -> BookContract:
        return by_key[(tc, _last_trade(tc, expiry), k, right)]

    positions: list[tuple[BookContract, float, float]] = []
    for tc, expiry, n in (("SPX", spx_m, 2), ("SPXW", spxw, 3), ("SPXW", spxw, 1)):
        for k, right, qty in (
            (5200.0, "P", 1),
            (5500.0, "P", -1),
            (6300.0, "C", -1),
            (6500.0, "C", 1),
        ):
            positions.append((leg(tc, expiry, k, right), qty * n, 0.0))
    positions += [
        (leg("VIX", vix_d, 20.0, "C"), 10, 150.0),
        (leg("VIX", vix_d, 30.0, "C"), -10, 60.0),
    ]
    merged: dict[int, tuple[BookContract, float, float]] = {}
    for c, qty, cost in positions:
        old = merged.get(c.con_id)
        merged[c.con_id] = (c, qty + (old[1] if old else 0.0), cost)
    bars = {SPX.con_id: [(d, 5800.0 + 5 * i) for i, d in enumerate(SPX_SESSIONS)]}
    return Book(
        contracts=[SPX, VIX, VIX3M, *options, *futures],
        quotes=quotes,
        positions=list(merged.values()),
        bars=bars,
    )
