"""A short replay on the stochastic simulated market, shared by the replay tests."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from daemon.config import AppConfig
from daemon.core.calendar import session_bounds
from daemon.replay.parallel import PolicyOutcome, replay_policy
from daemon.replay.source import BrokerMarket, sim_market

ROOT = Path(__file__).resolve().parents[2]


def quick_config(**replay: Any) -> AppConfig:
    """The default config with a coarser market step (fast) and a VIX that starts high
    enough for VXTH to buy (VX1 above 15)."""
    base = AppConfig()
    market = base.sim.market.model_copy(update={"step_min": 30.0, "vix_start_pts": 19.0})
    sim = base.sim.model_copy(update={"market": market, "seed": 11})
    config = base.model_copy(update={"sim": sim, "events_path": ROOT / "config" / "events.yaml"})
    if replay:
        config = config.model_copy(update={"replay": config.replay.model_copy(update=replay)})
    return config


def run_replay(
    policy: str, config: AppConfig, first: date, last: date, out: Path
) -> tuple[PolicyOutcome, BrokerMarket]:
    market = sim_market(config.sim, session_bounds(first)[0], ())
    outcome = asyncio.run(
        replay_policy(policy, config, market, first, last, out / f"{policy}.sqlite")
    )
    return outcome, market
