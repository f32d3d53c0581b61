"""Speed of one full ``evaluate`` cycle on a realistic snapshot, stage by stage.

Run: .venv/bin/python benchmarks/cycle.py [--repeats 20] [--seed 7]

The snapshot is the one the daemon itself would take: a ``SimBroker`` (the simulated
market, default parameters: two iron condors held) on a manual clock at Tuesday
2026-11-24 10:00 New York, read by ``daemon.runtime.snapshot.SnapshotTaker`` inside
``asyncio.run``, with the events of ``config/events.yaml``. Then:

- ``evaluate(snapshot, None, params, now)``: ``--repeats`` timed calls after one warm-up,
  reported as median (p50), 95th percentile (p95) and best, and as cycles per second at the
  median (a first cycle: no scalar state, as after a restart);
- the same cycle stage by stage, calling the core functions in ``evaluate``'s order, each
  stage timed ``--repeats`` times on the previous stage's output (median);
- the peer: vollib (analytic Black-76 and LetsBeRational implied vol, one option per
  call) looping over the snapshot's options with a usable mid, implied vol then price and
  four greeks, against our ``build_market_view`` on the same snapshot. The peer is given
  each option's forward, time and rate from our view for free (not timed) and does no
  quote checks, no forward fit and no fallbacks, so the ratio flatters it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import best_of, machine

from daemon.brokers.sim import SimBroker, SimClock, SimParams
from daemon.config import AppConfig
from daemon.core.calendar import NY
from daemon.core.cycle_inputs import held_hedges, signal_inputs, trading_day
from daemon.core.evaluate import evaluate
from daemon.core.market import IVSource, MarketView, build_market_view
from daemon.core.models import MarketSnapshot, Right
from daemon.core.overlay import plan_overlay
from daemon.core.params import ModelParams
from daemon.core.pricing import black76, implied_vol
from daemon.core.proposal import build_proposal, staying_payoff_usd
from daemon.core.recognition import recognise
from daemon.core.risk import book_risk
from daemon.core.scalar import update_scalar
from daemon.core.signals import compute_signals
from daemon.core.signals.skew import chain_skew_pts, vix_share
from daemon.events_file import load_events
from daemon.runtime.snapshot import SnapshotTaker

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 24, 10, 0, tzinfo=NY)  # a full session, past the quiet open


def timed(repeats: int, fn: Callable[[], Any]) -> tuple[np.ndarray, Any]:
    """Wall times (s) of ``repeats`` calls after one warm-up, and the last result."""
    result = fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        result = fn()
        times[i] = time.perf_counter() - start
    return times, result


def take_snapshot(seed: int, config: AppConfig) -> MarketSnapshot:
    events = load_events(REPO / "config" / "events.yaml")

    async def go() -> MarketSnapshot:
        broker = SimBroker(SimParams(seed=seed), SimClock.manual(START))
        await broker.connect()
        try:
            taker = SnapshotTaker(broker, config.model_params(), config.snapshot, events)
            return await taker.take(broker.clock.now())
        finally:
            await broker.close()

    return asyncio.run(go())


def stages(snapshot: MarketSnapshot, params: ModelParams, now: datetime) -> list[tuple[str, Any]]:
    """``evaluate``'s steps as separate closures, each fed the previous steps' results
    (computed once here); returns (name, closure) in order."""
    day = trading_day(now)
    view = build_market_view(snapshot, params)
    book = recognise(snapshot.positions)
    risk = book_risk(book, view, params)
    inputs = signal_inputs(snapshot, view, book, params, now)
    readings = compute_signals(inputs, params.signals)
    scalar = update_scalar(readings, None, params.scalar, now)
    if scalar.value is None:
        raise SystemExit("the snapshot's signals are insufficient: no overlay to time")
    held = held_hedges(book, risk, view, now)

    def overlay() -> Any:
        skew = None if inputs.skew is None else chain_skew_pts(inputs.skew, params.signals.skew)
        # Without a smile evaluate uses the map's middle breakpoint; the same here.
        neutral = params.signals.skew.breakpoints[len(params.signals.skew.breakpoints) // 2][0]
        share = vix_share(skew if skew is not None else neutral, params.signals.skew)
        found = held_hedges(book, risk, view, now)
        return plan_overlay(
            view, risk, scalar.value or 1.0, share, now, params,
            held_payoff_usd=staying_payoff_usd(found, params.proposal),
            avoid_keys=frozenset(leg.contract.key for s in book.income for leg in s.legs),
        )  # fmt: skip

    plan = overlay()

    def signals() -> Any:
        found = signal_inputs(snapshot, view, book, params, now)
        return update_scalar(compute_signals(found, params.signals), None, params.scalar, now)

    def market() -> Any:
        return build_market_view(snapshot, params)

    def risk_layer() -> Any:
        return book_risk(recognise(snapshot.positions), view, params)

    def proposal() -> Any:
        return build_proposal(plan, held, scalar, params.proposal, params.ticks, day)

    return [
        ("market view (validate, forwards, IVs, greeks)", market),
        ("risk (structures, layer 1, stress)", risk_layer),
        ("signals and scalar (layer 2)", signals),
        ("overlay (skew, candidates, program)", overlay),
        ("proposal", proposal),
    ]


PeerRow = tuple[str, float, float, float, float, float]  # flag, mid, F, K, T, r


def peer_inputs(view: MarketView) -> tuple[list[PeerRow], np.ndarray]:
    """Each option of the view with a usable mid and a forward: the peer's inputs (flag,
    mid USD, forward and strike in points, T in years, r decimal), and our IV of each."""
    chosen = [
        o for o in view.options.values()
        if o.mid is not None and o.underlying_price is not None and o.t_years > 0
    ]  # fmt: skip
    rows = [
        ("c" if o.contract.right is Right.CALL else "p", float(o.mid or 0.0),
         float(o.underlying_price or 0.0), float(o.contract.strike or 0.0), o.t_years,
         o.rate_frac)
        for o in chosen
    ]  # fmt: skip
    ours = np.array([math.nan if o.iv_sigma is None else o.iv_sigma for o in chosen])
    return rows, ours


def our_kernels(rows: list[PeerRow]) -> Callable[[], Any]:
    """The same work as the peer with our vectorised kernels alone: one ``implied_vol``
    and one ``black76`` call over all the options (no checks, no bookkeeping)."""
    flag, mid, f, k, t, r = (np.array(column) for column in zip(*rows, strict=True))
    call = flag == "c"

    def run() -> Any:
        sigma = implied_vol(mid, f, k, t, r, call).sigma
        return black76(f, k, t, r, sigma, call)

    return run


def vollib_loop(rows: list[PeerRow]) -> Callable[[], np.ndarray]:
    """The peer: vollib one option per call, implied vol then price and four greeks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from py_lets_be_rational.exceptions import AboveMaximumException, BelowIntrinsicException
        from vollib.black import black
        from vollib.black.greeks import analytical as greeks
        from vollib.black.implied_volatility import implied_volatility
        from vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic

    refused = (
        PriceIsAboveMaximum, PriceIsBelowIntrinsic, AboveMaximumException, BelowIntrinsicException
    )  # fmt: skip

    def run() -> np.ndarray:
        out = np.full((len(rows), 6), np.nan)
        for j, (flag, mid, f, k, t, r) in enumerate(rows):
            with contextlib.suppress(*refused):
                sigma = implied_volatility(mid, f, k, r, t, flag)
                out[j] = (
                    sigma,
                    black(flag, f, k, t, r, sigma),
                    greeks.delta(flag, f, k, t, r, sigma),
                    greeks.gamma(flag, f, k, t, r, sigma),
                    greeks.vega(flag, f, k, t, r, sigma),
                    greeks.theta(flag, f, k, t, r, sigma),
                )
        return out

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = AppConfig()
    params = config.model_params()
    snapshot = take_snapshot(args.seed, config)
    now = snapshot.now
    view = build_market_view(snapshot, params)
    expiries = len(view.expiry_views)
    print(f"machine: {machine()}")
    print(
        f"snapshot: SimBroker seed {args.seed} at {now.isoformat()}: {len(snapshot.options)} "
        f"option quotes over {expiries} expiries, {len(snapshot.positions)} positions, "
        f"{len(snapshot.spx_history)} SPX closes, {len(snapshot.events)} events"
    )
    cycle, result = timed(args.repeats, lambda: evaluate(snapshot, None, params, now))
    p50, p95 = np.percentile(cycle, [50, 95])
    print(
        f"evaluate: p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, "
        f"best {cycle.min() * 1e3:.1f} ms over {args.repeats} cycles "
        f"= {1 / p50:.1f} cycles/s at p50; "
        f"status {result.status.value}: {result.reason}"
    )
    timings = [
        (name, float(np.median(timed(args.repeats, fn)[0])))
        for name, fn in stages(snapshot, params, now)
    ]
    total = math.fsum(t for _, t in timings)
    for name, t in timings:
        print(f"  {name:48s} {t * 1e3:8.2f} ms  {t / total:6.1%}  (median)")
    print(f"  {'sum of the stages':48s} {total * 1e3:8.2f} ms")

    t_view = timings[0][1]
    rows, ours_iv = peer_inputs(view)
    peer_repeats = args.repeats
    t_peer, peer = best_of(peer_repeats, vollib_loop(rows))
    t_kernels, _ = best_of(args.repeats, our_kernels(rows))
    print(
        f"peer, on the same snapshot's {len(rows)} options with a usable mid (implied vol, "
        f"then price and 4 greeks):"
    )
    print(f"  vollib, one option per call          {t_peer * 1e3:8.2f} ms (best of {peer_repeats})")
    print(
        f"  ours, build_market_view, all {len(snapshot.options)} quotes {t_view * 1e3:8.2f} ms  "
        f"vollib/ours = {t_peer / t_view:.1f}x"
    )
    print(
        f"  ours, the kernels alone (2 calls)    {t_kernels * 1e3:8.2f} ms  "
        f"vollib/ours = {t_peer / t_kernels:.0f}x"
    )
    solved = np.isfinite(peer[:, 0])
    both = solved & np.isfinite(ours_iv)
    gap = np.max(np.abs(ours_iv[both] - peer[both, 0]))
    sources = {s.value: sum(1 for o in view.options.values() if o.iv_source is s) for s in IVSource}
    print(
        f"  agreement: max |IV ours - IV vollib| {gap:.1e} on {int(both.sum())} options "
        f"solved by both ({int((~solved).sum())} refused by vollib); our IV sources {sources}"
    )


if __name__ == "__main__":
    main()
