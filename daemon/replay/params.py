"""The replay's knobs: when the daily cycle runs, the account, the book rule, the
comparison policies and the report's definitions (``replay:`` in the config files).

Units are in the names: ``_usd`` dollars, ``_frac`` a decimal fraction, ``_pts`` index or
vol points, ``_min`` minutes, ``_sessions`` trading sessions, ``_x`` a speed factor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from daemon.core.params import Section


class BookRuleParams(Section):
    """The income book: a CNDR-like monthly iron condor, or the user's own positions."""

    source: Literal["rule", "csv"] = "rule"
    positions_csv: Path | None = None
    trading_class: Literal["SPX", "SPXW"] = "SPX"
    short_delta: float = Field(0.20, gt=0, lt=0.5)
    long_delta: float = Field(0.05, gt=0, lt=0.5)
    max_loss_frac: float = Field(0.10, gt=0, le=1)
    price_improvement_frac: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _wings_outside(self) -> Self:
        if self.source == "csv" and self.positions_csv is None:
            raise ValueError("source 'csv' needs positions_csv")
        return self._require_order("long_delta", "short_delta", strict=True)


class StaticParams(Section):
    """``static``: a fixed share of each condor's credit in VIX call spreads."""

    credit_frac: float = Field(0.10, gt=0, le=2)
    min_dte_days: int = Field(25, ge=1, le=365)
    long_delta: float = Field(0.35, gt=0, lt=1)
    short_delta: float = Field(0.10, gt=0, lt=1)

    @model_validator(mode="after")
    def _short_further_out(self) -> Self:
        return self._require_order("short_delta", "long_delta", strict=True)


class VxthParams(Section):
    """``vxth``: the Cboe VXTH rule on the front VX future at each VIX expiry."""

    low_pts: float = Field(15.0, gt=0, le=100)
    high_pts: float = Field(30.0, gt=0, le=150)
    extreme_pts: float = Field(50.0, gt=0, le=200)
    mid_weight_frac: float = Field(0.01, ge=0, le=0.2)
    high_weight_frac: float = Field(0.005, ge=0, le=0.2)
    call_delta: float = Field(0.30, gt=0, lt=1)

    @model_validator(mode="after")
    def _tiers_ascending(self) -> Self:
        self._require_order("low_pts", "high_pts", strict=True)
        return self._require_order("high_pts", "extreme_pts", strict=True)


class ReportParams(Section):
    """How ``alvh report`` cuts the history."""

    stress_vix_pts: float = Field(30.0, gt=0, le=150)
    forward_sessions: int = Field(20, ge=2, le=250)
    scalar_bins: int = Field(5, ge=2, le=20)


class ReplayParams(Section):
    cycle_before_close_min: int = Field(12, ge=11, le=380)
    initial_equity_usd: float = Field(1_000_000.0, gt=0, le=1e10)
    commission_per_contract_usd: float = Field(1.0, ge=0, le=50)
    wait_speed_x: float = Field(1e9, gt=1, le=1e9)
    book: BookRuleParams = BookRuleParams()
    static: StaticParams = StaticParams()
    vxth: VxthParams = VxthParams()
    report: ReportParams = ReportParams()
