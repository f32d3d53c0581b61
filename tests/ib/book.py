"""The fake gateway's small in-memory world: listed contracts, quotes, positions, bars.

Dates follow IB's habits: AM-settled SPX monthlies and VIX options carry their last
trading day (Thursday / Tuesday) as ``lastTradeDateOrContractMonth`` and the expiration
in the OCC local symbol; SPXW carries its expiration date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from tests.ib.wire import BookContract

ACCOUNT = "DU1234567"
NAN = math.nan

SPX = BookContract(416904, "SPX", "IND", exchange="CBOE", trading_class="SPX")
VIX = BookContract(13455763, "VIX", "IND", exchange="CBOE", trading_class="VIX")
VIX3M = BookContract(136206563, "VIX3M", "IND", exchange="CBOE", trading_class="VIX3M")
AAPL = BookContract(265598, "AAPL", "STK", exchange="NASDAQ", local_symbol="AAPL")

# Expiries: SPX monthly settles Friday 2026-12-18 (last trade Thu 17th); SPXW Fri 18th
# and Thu 31st; VIX options and the December future settle Wed 2026-12-16 (Tue 15th).
SPX_MONTHLY = date(2026, 12, 18)
SPXW_A = date(2026, 12, 18)
SPXW_B = date(2026, 12, 31)
VIX_DEC = date(2026, 12, 16)


def _occ(root: str, expiry: date, right: str, strike: float) -> str:
    return f"{root:<6}{expiry:%y%m%d}{right}{round(strike * 1000):08d}"


def _option(con_id: int, tc: str, last_trade: str, expiry: date, strike: float, right: str):
    symbol = "VIX" if tc.startswith("VIX") else "SPX"
    return BookContract(
        con_id, symbol, "OPT", last_trade, strike, right, "100", "SMART", "USD",
        _occ(tc, expiry, right, strike), tc,
    )  # fmt: skip


def _options() -> list[BookContract]:
    out: list[BookContract] = []
    con_id = 700_000
    listing = [
        ("SPX", "20261217", SPX_MONTHLY, (5800.0, 6000.0)),
        ("SPXW", "20261218", SPXW_A, (5800.0, 5900.0, 6000.0)),
        ("SPXW", "20261231", SPXW_B, (5850.0, 6050.0)),
        ("VIX", "20261215", VIX_DEC, (20.0, 30.0)),
    ]
    for tc, last_trade, expiry, strikes in listing:
        for strike in strikes:
            for right in ("C", "P"):
                con_id += 1
                out.append(_option(con_id, tc, last_trade, expiry, strike, right))
    return out


OPTIONS = _options()


def option(tc: str, expiry: date, strike: float, right: str) -> BookContract:
    return next(
        c
        for c in OPTIONS
        if c.trading_class == tc and c.local_symbol == _occ(tc, expiry, right, strike)
    )


FUTURES = [
    BookContract(800_001, "VIX", "FUT", "20261216", 0, "", "1000", "CFE", trading_class="VX",
                 local_symbol="VXZ6"),
    BookContract(800_002, "VIX", "FUT", "20270120", 0, "", "1000", "CFE", trading_class="VX",
                 local_symbol="VXF7"),
    BookContract(800_003, "VIX", "FUT", "20261209", 0, "", "1000", "CFE", trading_class="VX",
                 local_symbol="VX50Z6"),  # a weekly
    BookContract(800_004, "VIX", "FUT", "20261216", 0, "", "100", "CFE", trading_class="VXM",
                 local_symbol="VXMZ6"),  # a mini
]  # fmt: skip

BREADTH = [
    BookContract(900_001, "ADV-NYSE", "IND", exchange="NYSE"),
    BookContract(900_002, "DECL-NYSE", "IND", exchange="NYSE"),
    BookContract(900_003, "UNCH-NYSE", "IND", exchange="NYSE"),
]


@dataclass(frozen=True)
class BookQuote:
    bid: float = -1.0
    bid_size: float = 0.0
    ask: float = -1.0
    ask_size: float = 0.0
    last: float = NAN
    model_iv: float = NAN


def _quotes() -> dict[int, BookQuote]:
    quotes = {
        SPX.con_id: BookQuote(last=5950.25),
        VIX.con_id: BookQuote(last=17.45),
        VIX3M.con_id: BookQuote(last=19.1),
        FUTURES[0].con_id: BookQuote(18.1, 40, 18.2, 35),
        FUTURES[1].con_id: BookQuote(19.0, 20, 19.15, 25),
        FUTURES[2].con_id: BookQuote(17.9, 5, 18.05, 5),
        FUTURES[3].con_id: BookQuote(18.1, 5, 18.2, 5),
    }
    for i, c in enumerate(OPTIONS):
        quotes[c.con_id] = BookQuote(1.0 + i, 10, 1.2 + i, 12, model_iv=0.15 + 0.001 * i)
    # A put nobody bids for: IB sends bid -1 with size 0; and a contract without a model.
    quotes[option("SPXW", SPXW_A, 5800.0, "P").con_id] = BookQuote(-1.0, 0, 0.05, 100, 0.05, 0.31)
    quotes[option("SPXW", SPXW_A, 6000.0, "C").con_id] = BookQuote(40.1, 3, 40.6, 4)
    return quotes


# SPX daily closes of the 23 XNYS sessions up to and including 2026-11-24 (a Tuesday); the
# tests run at 15:00 ET that day, so the last bar is the partial session in progress.
SPX_SESSIONS = [
    "20261023", "20261026", "20261027", "20261028", "20261029", "20261030", "20261102",
    "20261103", "20261104", "20261105", "20261106", "20261109", "20261110", "20261111",
    "20261112", "20261113", "20261116", "20261117", "20261118", "20261119", "20261120",
    "20261123", "20261124",
]  # fmt: skip


@dataclass
class Book:
    """Everything the fake gateway serves; tests may change it before a scenario."""

    account: str = ACCOUNT
    contracts: list[BookContract] = field(
        default_factory=lambda: [SPX, VIX, VIX3M, AAPL, *OPTIONS, *FUTURES]
    )
    quotes: dict[int, BookQuote] = field(default_factory=_quotes)
    positions: list[tuple[BookContract, float, float]] = field(
        default_factory=lambda: [
            (option("SPX", SPX_MONTHLY, 5800.0, "P"), -2, 1250.0),
            (option("SPXW", SPXW_A, 6000.0, "C"), 3, 4010.5),
            (option("VIX", VIX_DEC, 30.0, "C"), 10, 95.0),
            (AAPL, 100, 187.25),
        ]
    )
    bars: dict[int, list[tuple[str, float]]] = field(
        default_factory=lambda: {
            SPX.con_id: [(d, 5800.0 + 5 * i) for i, d in enumerate(SPX_SESSIONS)],
            BREADTH[0].con_id: [(d, 1500 + i) for i, d in enumerate(SPX_SESSIONS)],
            BREADTH[1].con_id: [(d, 1300 - i) for i, d in enumerate(SPX_SESSIONS)],
            BREADTH[2].con_id: [(d, 100 + i % 3) for i, d in enumerate(SPX_SESSIONS)],
        }
    )

    def list_breadth(self) -> None:
        self.contracts += BREADTH

    def by_con_id(self, con_id: int) -> BookContract | None:
        return next((c for c in self.contracts if c.con_id == con_id), None)

    def sec_def(self, symbol: str) -> list[tuple[str, str, list[str], list[float]]]:
        """(exchange, tradingClass, expirations, strikes) per class of ``symbol``'s options;
        strikes are the union over the class's expiries, as IB sends them."""
        out = []
        options = [c for c in self.contracts if c.sec_type == "OPT" and c.symbol == symbol]
        classes = sorted({c.trading_class for c in options})
        for exchange in ("SMART", "CBOE"):
            for tc in classes:
                listed = [c for c in options if c.trading_class == tc]
                expirations = sorted({c.last_trade for c in listed})
                strikes = sorted({c.strike for c in listed})
                out.append((exchange, tc, expirations, strikes))
        return out
