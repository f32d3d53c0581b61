"""Cross-checks of the core on real history, used by ``validate_history.py``.

- ``talib_check``: the project's RSI(14) and MACD(12,26,9) (``daemon.core.signals.
  indicators``) against TA-Lib on the whole SPX series, after a warm-up.
- ``truncation_check``: the signals see only ``HISTORY_SESSIONS`` closes; their RSI and
  MACD against the same indicators on the full history.
- ``vx_expiry_check``: ``daemon.core.calendar.vix_expiry`` against the final settlement
  dates of the real VX futures contracts of 2004-2014 (Cboe CFE files).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import talib
from market_history import MarketHistory, load_vx_contracts

from daemon.core.calendar import previous_session, vix_expiry
from daemon.core.params import ModelParams
from daemon.core.signals.indicators import macd, rsi_wilder

if TYPE_CHECKING:
    import pandas as pd

WARMUP_SESSIONS = 300  # TA-Lib and ours share the seeding; skip it anyway, per the brief


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


def talib_check(closes: np.ndarray, params: ModelParams) -> None:
    """Largest |ours - TA-Lib| over input positions >= ``WARMUP_SESSIONS``."""
    rsi_p, m = params.signals.rsi.period_sessions, params.signals.macd
    n = len(closes)
    ours_rsi = rsi_wilder(closes, rsi_p)  # end-aligned: value k belongs to close k + period
    ta_rsi = talib.RSI(closes, timeperiod=rsi_p)[rsi_p:]
    keep = np.arange(rsi_p, n) >= WARMUP_SESSIONS
    # A window without any movement: ours 50 (neutral) by design, TA-Lib 0.
    flat = (ours_rsi == 50.0) & (ta_rsi == 0.0)
    compared = keep & ~flat
    print(
        f"  RSI({rsi_p}) vs TA-Lib {talib.__version__} on all {n} SPX closes: max |diff| "
        f"{_max_abs(ours_rsi[compared], ta_rsi[compared]):.2e} RSI points over "
        f"{int(compared.sum())} values; flat windows (ours 50, TA-Lib 0): {int(flat.sum())}"
    )
    ours = macd(closes, m.fast_sessions, m.slow_sessions, m.signal_sessions)
    lookback = m.slow_sessions + m.signal_sessions - 2
    ta = talib.MACD(closes, m.fast_sessions, m.slow_sessions, m.signal_sessions)
    keep = np.arange(lookback, n) >= WARMUP_SESSIONS
    diffs = [
        f"{name} {_max_abs(mine[keep], theirs[lookback:][keep]):.2e}"
        for name, mine, theirs in zip(("line", "signal", "histogram"), ours, ta, strict=True)
    ]
    print(
        f"  MACD({m.fast_sessions},{m.slow_sessions},{m.signal_sessions}) vs TA-Lib: "
        f"max |diff| (index points) {', '.join(diffs)} over {int(keep.sum())} values"
    )


def truncation_check(history: MarketHistory, frame: pd.DataFrame, params: ModelParams) -> None:
    """The replay's RSI and MACD raw values (300 closes) against the full history."""
    closes = history.spx.loc[: history.last_common_day].to_numpy(float)
    rsi_p, m = params.signals.rsi.period_sessions, params.signals.macd
    full_rsi = rsi_wilder(closes, rsi_p)
    full_hist = macd(closes, m.fast_sessions, m.slow_sessions, m.signal_sessions).histogram
    lookback = m.slow_sessions + m.signal_sessions - 2
    i = frame["i"].to_numpy()
    rsi_gap = _max_abs(frame["rsi_raw"].to_numpy(), full_rsi[i - rsi_p])
    macd_full = full_hist[i - lookback] / closes[i] * 1000.0
    macd_gap = _max_abs(frame["macd_raw"].to_numpy(), macd_full)
    print(
        f"  the replay's {len(i)} readings on 300 closes vs the full history since 1927: "
        f"RSI max |diff| {rsi_gap:.1e} points, MACD raw max |diff| {macd_gap:.1e}"
    )


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def _plain_rule(year: int, month: int) -> date:
    """30 days before the next month's third Friday, with no holiday adjustment."""
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return third_friday(year, month) - timedelta(days=30)


def vx_expiry_check(data_dir: Path) -> None:
    """Each expired contract: its final row (the final settlement value, no trades) must be
    dated ``vix_expiry(year, month)``, and the row before it, the last regular session,
    ``previous_session`` of that date (the business day before settlement)."""
    contracts, file_end = load_vx_contracts(data_dir)
    expired = [c for c in contracts if vix_expiry(c.year, c.month) < file_end]
    live = len(contracts) - len(expired)
    settle_ok = last_ok = 0
    mismatches = []
    traded_on_settlement = []
    for c in expired:
        rule = vix_expiry(c.year, c.month)
        final_day, _, final_volume = c.rows[-1]
        last_session = c.rows[-2][0]
        settle_ok += final_day == rule
        last_ok += last_session == previous_session(rule)
        if final_day != rule or last_session != previous_session(rule):
            mismatches.append((c, rule, final_day, last_session))
        if final_volume > 0:
            traded_on_settlement.append(f"{c.name} ({final_volume} contracts on {final_day})")
    print(
        f"  VX contracts 2004-2014: {len(contracts)} in the file, {len(expired)} settled "
        f"before its last date {file_end} ({live} still trading, not checked)"
    )
    print(
        f"    final settlement row dated vix_expiry(year, month): {settle_ok} match, "
        f"{len(expired) - settle_ok} mismatch"
    )
    print(
        f"    row before it (last regular session) = the business day before "
        f"vix_expiry: {last_ok} match, {len(expired) - last_ok} mismatch"
    )
    for c, rule, final_day, last_session in mismatches:
        print(
            f"    mismatch {c.name}: file settles {final_day} (last session {last_session}), "
            f"rule gives {rule} (last session {previous_session(rule)})"
        )
    # Where the rule differs from the Wednesday before the contract month's own third Friday
    # (months whose next third Friday is five weeks away), which one did the file follow?
    split = [
        c for c in expired
        if vix_expiry(c.year, c.month) != third_friday(c.year, c.month) - timedelta(days=2)
    ]  # fmt: skip
    follows = [c.name for c in split if c.rows[-1][0] == vix_expiry(c.year, c.month)]
    other = [c.name for c in split if c.name not in follows]
    print(
        f"    contracts where the rule and 'the Wednesday before the contract month's own "
        f"third Friday' differ: {len(split)}; the file follows the rule in {len(follows)} "
        f"(first {follows[0] if follows else '-'}), the other reading in {len(other)} "
        f"({', '.join(other) or '-'})"
    )
    shifted = [c for c in expired if vix_expiry(c.year, c.month) != _plain_rule(c.year, c.month)]
    shifted_ok = [c.name for c in shifted if c.rows[-1][0] == vix_expiry(c.year, c.month)]
    print(
        f"    holiday branch of the rule exercised by {len(shifted)} contract(s), "
        f"{len(shifted_ok)} match: {', '.join(shifted_ok) or '-'}"
    )
    if traded_on_settlement:
        print(f"    final rows with volume > 0: {', '.join(traded_on_settlement)}")
