"""Benchmark of the vectorised Black-76 core against vollib (and QuantLib if installed).

Run: .venv/bin/python benchmarks/pricing.py [--n 100000] [--repeats 5] [--seed 7]

100,000 seeded SPX-like options (F 4000-6000, T 1 day to 2 years, sigma 8%-80%, strikes
within 3 standard deviations, r 0-6%, calls and puts). Times ``black76`` (price and four
greeks) and ``implied_vol`` (on the prices ``black76`` produced), best of ``--repeats``;
then vollib (and QuantLib) one option at a time on the same inputs. A library whose full
run would take more than ~10 s is timed on a sample and its per-option cost extrapolated;
the output says so. Agreement is the largest absolute difference on the options compared.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.core.pricing import black76, implied_vol

FULL_RUN_BUDGET_S = 10.0  # a reference library is sampled if the full run would be longer
SAMPLE_SIZE = 20_000
PILOT_SIZE = 500


def make_options(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.uniform(4000.0, 6000.0, n)
    t = np.exp(rng.uniform(math.log(1 / 365), math.log(2.0), n))
    sigma = rng.uniform(0.08, 0.8, n)
    k = f * np.exp(rng.uniform(-3.0, 3.0, n) * sigma * np.sqrt(t))
    r = rng.uniform(0.0, 0.06, n)
    call = rng.uniform(size=n) < 0.5
    return {"F": f, "K": k, "T": t, "r": r, "sigma": sigma, "call": call}


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of ``repeats`` calls (after one warm-up) and the last result."""
    result = fn()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"
    )


def per_option_loop(
    name: str, n: int, seed: int, run: Callable[[np.ndarray], np.ndarray]
) -> tuple[float, np.ndarray, str]:
    """Seconds per option of ``run`` over indices, on all n or on a sample, and its rows."""
    pilot = np.arange(min(PILOT_SIZE, n))
    start = time.perf_counter()
    run(pilot)
    per_option = (time.perf_counter() - start) / pilot.size
    if per_option * n <= FULL_RUN_BUDGET_S:
        index, how = np.arange(n), f"all {n:,} options"
    else:
        rng = np.random.default_rng(seed + 1)
        index = np.sort(rng.choice(n, size=min(SAMPLE_SIZE, n), replace=False))
        how = f"sample of {index.size:,}, extrapolated (full run ~{per_option * n:.0f} s)"
    start = time.perf_counter()
    rows = run(index)
    per_option = (time.perf_counter() - start) / index.size
    return per_option, np.column_stack([index, rows]), f"{name}: {how}"


def vollib_runs(o: dict[str, np.ndarray]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from vollib.black import black
        from vollib.black.greeks import analytical as greeks
        from vollib.black.implied_volatility import implied_volatility
        from vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic

    functions = (black, greeks.delta, greeks.gamma, greeks.vega, greeks.theta)

    def price_and_greeks(index: np.ndarray) -> np.ndarray:
        rows = np.empty((index.size, 5))
        for j, i in enumerate(index):
            flag = "c" if o["call"][i] else "p"
            args = (o["F"][i], o["K"][i], o["T"][i], o["r"][i], o["sigma"][i])
            rows[j] = [fn(flag, *args) for fn in functions]
        return rows

    def iv(index: np.ndarray, price: np.ndarray) -> np.ndarray:
        out = np.full((index.size, 1), np.nan)
        for j, i in enumerate(index):
            flag = "c" if o["call"][i] else "p"
            with contextlib.suppress(PriceIsAboveMaximum, PriceIsBelowIntrinsic):
                out[j, 0] = implied_volatility(
                    price[i], o["F"][i], o["K"][i], o["r"][i], o["T"][i], flag
                )
        return out

    return price_and_greeks, iv


def quantlib_runs(o: dict[str, np.ndarray]) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    try:
        import QuantLib as ql  # optional: not a project dependency
    except ImportError:
        return None

    def price_and_greeks(index: np.ndarray) -> np.ndarray:
        rows = np.empty((index.size, 5))
        for j, i in enumerate(index):
            kind = ql.Option.Call if o["call"][i] else ql.Option.Put
            t, f = o["T"][i], o["F"][i]
            calc = ql.BlackCalculator(
                ql.PlainVanillaPayoff(kind, o["K"][i]),
                f,
                o["sigma"][i] * math.sqrt(t),
                math.exp(-o["r"][i] * t),
            )
            # thetaPerDay treats the underlying as a spot with carry, not Black-76's fixed F:
            # timed for a like-for-like amount of work, not compared.
            rows[j] = [
                calc.value(),
                calc.deltaForward(),
                calc.gammaForward(),
                calc.vega(t) * 0.01,
                calc.thetaPerDay(f, t),
            ]
        return rows

    def iv(index: np.ndarray, price: np.ndarray) -> np.ndarray:
        out = np.full((index.size, 1), np.nan)
        for j, i in enumerate(index):
            kind = ql.Option.Call if o["call"][i] else ql.Option.Put
            t = o["T"][i]
            with contextlib.suppress(RuntimeError):  # QuantLib's "root not bracketed" etc.
                std = ql.blackFormulaImpliedStdDev(
                    kind, o["K"][i], o["F"][i], price[i], math.exp(-o["r"][i] * t), 0.0,
                    o["sigma"][i] * math.sqrt(t) * 1.1, 1e-12, 100,
                )  # fmt: skip
                out[j, 0] = std / math.sqrt(t)
        return out

    return price_and_greeks, iv


def compare(
    label: str,
    n: int,
    seed: int,
    ours_rate: tuple[float, float],
    ours: tuple[np.ndarray, np.ndarray],
    runs: tuple[Callable[..., Any], Callable[..., Any]],
    compared_greeks: int,
) -> None:
    greeks_fn, iv_fn = runs
    our_greeks, our_sigma = ours
    price = our_greeks[0]
    for what, fn, ours_per_s in (
        ("black76 ", greeks_fn, ours_rate[0]),
        ("implied_vol", lambda idx: iv_fn(idx, price), ours_rate[1]),
    ):
        per_option, rows, how = per_option_loop(label, n, seed, fn)
        index = rows[:, 0].astype(np.intp)
        print(
            f"  {what:12s} {label:8s} {1 / per_option:14,.0f} options/s   "
            f"ours/{label} = {ours_per_s * per_option:,.0f}x   ({how})"
        )
        if what.startswith("black76"):
            names = ("price", "delta", "gamma", "vega", "theta")[:compared_greeks]
            diffs = [
                f"{name} {np.max(np.abs(our_greeks[j][index] - rows[:, 1 + j])):.2e}"
                for j, name in enumerate(names)
            ]
            print(f"    max |ours - {label}|: " + ", ".join(diffs))
        else:
            solved = np.isfinite(rows[:, 1])
            error = np.max(np.abs(our_sigma[index][solved] - rows[solved, 1]))
            print(
                f"    max |sigma ours - {label}| {error:.2e} on {solved.sum():,} solved "
                f"({(~solved).sum():,} refused by {label})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    o = make_options(args.n, args.seed)
    inputs = (o["F"], o["K"], o["T"], o["r"])
    t_greeks, greeks = best_of(args.repeats, lambda: black76(*inputs, o["sigma"], o["call"]))
    t_iv, iv = best_of(args.repeats, lambda: implied_vol(greeks.price, *inputs, o["call"]))
    rates = (args.n / t_greeks, args.n / t_iv)
    print(f"{args.n:,} options, seed {args.seed}, best of {args.repeats}")
    print(f"machine: {machine()}")
    print(f"  black76      ours     {rates[0]:14,.0f} options/s   ({t_greeks * 1e3:.1f} ms)")
    print(f"  implied_vol  ours     {rates[1]:14,.0f} options/s   ({t_iv * 1e3:.1f} ms)")
    failures = int(np.sum(iv.reason != 0))
    round_trip = np.max(np.abs(iv.sigma - o["sigma"]))
    print(f"    round trip: max |sigma - input| {round_trip:.2e}, {failures} not OK")
    ours = (np.asarray(greeks), iv.sigma)
    compare("vollib", args.n, args.seed, rates, ours, vollib_runs(o), compared_greeks=5)
    quantlib = quantlib_runs(o)
    if quantlib is None:
        print("  QuantLib: not installed, skipped")
    else:
        compare("QuantLib", args.n, args.seed, rates, ours, quantlib, compared_greeks=4)


if __name__ == "__main__":
    main()
