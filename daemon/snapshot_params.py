"""The ``snapshot`` section of the config: what a cycle asks the broker for, and the time
each phase of asking may take.

Kept apart from ``daemon.config`` (which composes it into ``AppConfig`` and re-exports it)
so each file fits one idea; the rules that read it are in ``daemon.runtime.chain_window``
and ``daemon.runtime.snapshot``.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from daemon.core.params import Section


class PhaseBudgets(Section):
    """Seconds each phase of taking a cycle's snapshot may take; the one that runs out is
    named in the skipped cycle's reason."""

    account_s: float = Field(5.0, gt=0, le=600)
    positions_s: float = Field(10.0, gt=0, le=600)
    indices_s: float = Field(10.0, gt=0, le=600)
    futures_s: float = Field(10.0, gt=0, le=600)
    listings_s: float = Field(20.0, gt=0, le=600)
    options_s: float = Field(45.0, gt=0, le=600)
    history_s: float = Field(15.0, gt=0, le=600)

    @property
    def total_s(self) -> float:
        return sum(float(v) for v in self.model_dump().values())


class SnapshotParams(Section):
    """What a cycle asks the broker for (market data is metered at a real broker); the
    rules are in ``daemon.runtime.chain_window``."""

    spx_strike_step_pts: float = Field(25.0, gt=0, le=500)
    spx_put_delta_min: float = Field(0.02, gt=0, lt=0.5)
    spx_window_vol_mult: float = Field(1.5, ge=1, le=5)
    spx_min_band_frac: float = Field(0.03, ge=0, le=0.9)
    forward_pair_strikes: int = Field(3, ge=1, le=20)
    held_neighbour_strikes: int = Field(2, ge=0, le=10)
    diagonal_long_expiries: int = Field(2, ge=1, le=10)
    short_leg_expiries: int = Field(3, ge=1, le=10)
    vix_call_delta_min: float = Field(0.05, gt=0, lt=1)
    vix_call_delta_max: float = Field(0.60, gt=0, lt=1)
    vix_window_vol: float = Field(1.2, gt=0, le=5)
    vix_pair_strikes: int = Field(2, ge=1, le=10)
    vix_extra_expiries: int = Field(1, ge=0, le=6)
    history_sessions: int = Field(300, ge=60, le=5000)
    phase_budgets: PhaseBudgets = PhaseBudgets()

    @model_validator(mode="after")
    def _vix_deltas_ordered(self) -> Self:
        return self._require_order("vix_call_delta_min", "vix_call_delta_max", strict=True)
