"""The model's tunables: typed, frozen, closed sections of the configuration.

These are pure data (pydantic validates them once, at load time) so the core can take
them as arguments; ``daemon.config`` composes them with the runtime's sections and loads
YAML. Every number has its unit in its name and a bound. Defaults are the ones of the
model page (shared/design/alvh-model.md); ``config/default.yaml`` repeats each with a
comment.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


class Section(BaseModel):
    """Base of every config section: immutable, unknown keys are errors, and so is NaN or
    infinity in any number (a NaN breakpoint would score every reading silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    def _require_order(self, low: str, high: str, *, strict: bool = False) -> Self:
        """Cross-field check for after-validators: ``low <= high`` (``<`` when strict)."""
        low_value, high_value = getattr(self, low), getattr(self, high)
        if low_value > high_value or (strict and low_value == high_value):
            relation = "<" if strict else "<="
            raise ValueError(f"{low} ({low_value}) must be {relation} {high} ({high_value})")
        return self


def _increasing_breakpoints(
    points: tuple[tuple[float, float], ...],
) -> tuple[tuple[float, float], ...]:
    if len(points) < 2:
        raise ValueError("a map needs at least 2 breakpoints [raw, z]")
    raws = [p[0] for p in points]
    if any(b <= a for a, b in pairwise(raws)):
        raise ValueError(f"breakpoint raw values must strictly increase, got {raws}")
    return points


def _proximity_steps(
    steps: tuple[tuple[int, float], ...],
) -> tuple[tuple[int, float], ...]:
    sessions = [s[0] for s in steps]
    if any(s < 0 for s in sessions):
        raise ValueError(f"sessions ahead must be >= 0 (today = 0), got {sessions}")
    if any(b <= a for a, b in pairwise(sessions)):
        raise ValueError(f"sessions ahead must strictly increase, got {sessions}")
    if any(not 0.0 <= s[1] <= 1.0 for s in steps):
        raise ValueError(f"proximities must be in [0, 1], got {[s[1] for s in steps]}")
    return steps


# [[sessions_ahead_at_most, proximity], ...], sessions strictly increasing, proximity in [0, 1].
ProximitySteps = Annotated[tuple[tuple[int, float], ...], AfterValidator(_proximity_steps)]


# A piecewise-linear curve [[x, y], ...] with strictly increasing x (finite numbers only:
# Section refuses NaN and infinity everywhere). Flat beyond the first/last point.
Curve = Annotated[tuple[tuple[float, float], ...], AfterValidator(_increasing_breakpoints)]


def _values_within(low: float, high: float, what: str) -> AfterValidator:
    def check(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        values = [p[1] for p in points]
        if any(not low <= v <= high for v in values):
            raise ValueError(f"{what} must be in [{low:g}, {high:g}], got {values}")
        return points

    return AfterValidator(check)


# A signal's map raw -> z: every z in [-1, 1], the range a score lives in (model page 3),
# so one breakpoint cannot outweigh every other signal.
Breakpoints = Annotated[Curve, _values_within(-1.0, 1.0, "z values")]
# The skew map raw -> the VIX share of the overlay, a fraction.
ShareMap = Annotated[Curve, _values_within(0.0, 1.0, "shares")]


# ---- pricing ------------------------------------------------------------------------------
class PricingParams(Section):
    risk_free_rate_frac: float = Field(0.04, ge=-0.05, le=0.25)
    # A call/put pair whose parity residual (USD per share) exceeds this marks the expiry's
    # quotes unreliable for the cycle.
    parity_tolerance_usd: float = Field(1.0, gt=0, le=100)
    # The parity forward's least-squares discount factor is kept only if the rate it
    # implies is within this of risk_free_rate_frac (decimal: 0.01 = one rate point).
    forward_rate_tolerance_frac: float = Field(0.01, gt=0, le=0.05)
    iv_max_sigma: float = Field(5.0, gt=0.5, le=20)


class TickRule(Section):
    """CBOE minimum increments: one below ``threshold_usd`` and one at or above it."""

    threshold_usd: float = Field(3.0, gt=0, le=1000)
    below_usd: float = Field(0.05, gt=0, le=10)
    at_or_above_usd: float = Field(0.10, gt=0, le=10)
    combo_usd: float = Field(0.05, gt=0, le=10)


class TickParams(Section):
    """Fallback tick tables, used only when the broker gave no contract metadata."""

    spx: TickRule = TickRule()
    vix: TickRule = TickRule(below_usd=0.01, at_or_above_usd=0.05, combo_usd=0.01)


# ---- layer 1: book risk and the stress scenario -------------------------------------------
class ShockParams(Section):
    """One instantaneous market move of the stress set (docs/model.md section 2)."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    spx_move_frac: float = Field(ge=-0.5, le=0.5)
    vix_spot_shock_pts: float = Field(ge=-50, le=100)
    # VIX options' own implied vol in this move, vol points added to each leg's IV.
    vix_option_vol_shock_pts: float = Field(0.0, ge=-100, le=300)


HEDGE_SHOCK_NAME = "down_vol_spike"


def _beta_table(
    points: tuple[tuple[float, float], ...],
) -> tuple[tuple[float, float], ...]:
    if any(p[0] < 0 for p in points) or any(not 0.0 <= p[1] <= 2.0 for p in points):
        raise ValueError(f"[dte_days >= 0, beta in [0, 2]] pairs expected, got {list(points)}")
    return points


# [[dte_days, beta], ...]: linear in DTE between breakpoints, flat beyond the ends.
BetaTable = Annotated[Curve, AfterValidator(_beta_table)]


class ScenarioParams(Section):
    # The hedge scenario, "down_vol_spike": SPX falls, VIX spikes. The tail loss is the
    # worst of it and ``other_shocks``; hedge payoffs are measured in it.
    spx_move_frac: float = Field(-0.07, ge=-0.5, le=0.5)
    vix_spot_shock_pts: float = Field(15.0, ge=-50, le=100)
    # VIX options' own implied vol in the hedge scenario, vol points added to each leg's
    # IV: the median rise of the 25-55 DTE VX future's realised vol over the VIX spikes
    # of 2007-2016 (benchmarks/fit_vix_beta.py, docs/validation.md).
    vix_option_vol_shock_pts: float = Field(18.0, ge=-100, le=300)
    # The other moves the income book is measured in; its tail loss is the worst of all.
    # Default: a rally with a vol crush as likely over 5 sessions as the -7% fall
    # (2007-2016 SPX and VIX closes, docs/validation.md).
    other_shocks: tuple[ShockParams, ...] = (
        ShockParams(name="up_vol_crush", spx_move_frac=0.06, vix_spot_shock_pts=-6.5),
    )
    # VIX future moves beta(dte) x the spot shock, beta by the future's calendar DTE:
    # the median over 2007-2016 VIX spikes (benchmarks/fit_vix_beta.py).
    vix_future_beta_by_dte: BetaTable = (
        (22.0, 0.69),
        (36.0, 0.53),
        (51.0, 0.46),
        (77.0, 0.36),
        (107.0, 0.31),
        (141.0, 0.28),
        (204.0, 0.24),
    )
    # Per-leg vol beta: beta = clip((ref_dte / dte) ** exponent, min, max). Short-dated
    # implied vol moves more than VIX in a selloff, long-dated less.
    vol_beta_ref_dte_days: float = Field(30.0, gt=0, le=365)
    vol_beta_exponent: float = Field(0.5, ge=0, le=2)
    vol_beta_min: float = Field(0.3, ge=0, le=5)
    vol_beta_max: float = Field(1.5, ge=0, le=5)
    # An income book that has already lost this fraction of its max loss is "near max
    # loss": its remaining tail, and so the target, shrinks toward 0, and the hedges it
    # holds are kept (not reduced toward the target) until the book is closed or rolled.
    near_max_loss_lost_frac: float = Field(0.75, gt=0, le=1)

    @model_validator(mode="after")
    def _vol_beta_range(self) -> Self:
        return self._require_order("vol_beta_min", "vol_beta_max")

    @model_validator(mode="after")
    def _shock_names(self) -> Self:
        names = [HEDGE_SHOCK_NAME, *(s.name for s in self.other_shocks)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"shock names must be unique (and not {HEDGE_SHOCK_NAME}): {repeated}")
        return self

    @property
    def hedge_shock(self) -> ShockParams:
        """The down-with-a-vol-spike move, in which hedge payoffs are measured."""
        return ShockParams(
            name=HEDGE_SHOCK_NAME,
            spx_move_frac=self.spx_move_frac,
            vix_spot_shock_pts=self.vix_spot_shock_pts,
            vix_option_vol_shock_pts=self.vix_option_vol_shock_pts,
        )

    @property
    def shocks(self) -> tuple[ShockParams, ...]:
        """Every move of the stress set, the hedge scenario first."""
        return (self.hedge_shock, *self.other_shocks)


class BaseLayerParams(Section):
    base_ratio: float = Field(0.25, ge=0, le=5)


class BudgetParams(Section):
    """Bounds on the hedge book as a whole (the hedges held plus the new ones), as
    fractions of the income book's open credit and theta; and on the debit spent over a
    rolling window, so a book rolled often cannot pay the budget again and again."""

    max_debit_fraction: float = Field(0.20, ge=0, le=5)
    max_theta_fraction: float = Field(0.30, ge=0, le=5)
    # Debit paid for hedges over the last this many exchange sessions (today included),
    # plus the new debit, may not exceed max_debit_fraction x open credit either.
    spend_window_sessions: int = Field(21, ge=1, le=260)


# ---- layer 2: signals and the scalar --------------------------------------------------------
class SignalParams(Section):
    enabled: bool = True
    weight: float = Field(0.25, ge=0, le=5)
    breakpoints: Breakpoints


# Every default map below is fitted by benchmarks/calibrate_signals.py on 2007-2016 real
# history (docs/validation.md, "Calibration of the maps"): breakpoints at the 5th, 50th
# and 95th percentiles of the raw value, the model page's z values and orientation kept.
class RsiParams(SignalParams):
    period_sessions: int = Field(14, ge=2, le=200)
    breakpoints: Breakpoints = ((34.4, 1.0), (54.6, 0.0), (70.2, -0.5))


class MacdParams(SignalParams):
    fast_sessions: int = Field(12, ge=2, le=200)
    slow_sessions: int = Field(26, ge=3, le=400)
    signal_sessions: int = Field(9, ge=2, le=200)
    cross_lookback_sessions: int = Field(3, ge=1, le=30)
    cross_bonus_z: float = Field(0.5, ge=0, le=2)
    breakpoints: Breakpoints = ((-5.49, 1.0), (-0.02, 0.0), (5.5, -0.5))

    @model_validator(mode="after")
    def _fast_before_slow(self) -> Self:
        return self._require_order("fast_sessions", "slow_sessions", strict=True)


class BreadthParams(SignalParams):
    slope_sessions: int = Field(10, ge=2, le=250)
    breakpoints: Breakpoints = ((-0.224, 1.0), (0.044, 0.0), (0.24, -0.5))


class TermParams(SignalParams):
    # Fitted from 2009-09-18, VIX3M's first day.
    breakpoints: Breakpoints = ((0.8, -0.5), (0.887, 0.0), (1.017, 1.0))


class RvIvParams(SignalParams):
    window_sessions: int = Field(20, ge=2, le=250)
    breakpoints: Breakpoints = ((-10.2, -0.5), (-3.9, 0.0), (4.8, 1.0))


class EventWeights(Section):
    FOMC: float = Field(1.0, ge=0, le=1)
    CPI: float = Field(0.6, ge=0, le=1)
    PPI: float = Field(0.3, ge=0, le=1)
    GDP: float = Field(0.3, ge=0, le=1)


class EventsParams(SignalParams):
    weight: float = Field(0.2, ge=0, le=5)
    kind_weights: EventWeights = EventWeights()
    # Proximity steps: [sessions_ahead_at_most, proximity]; an event farther than the last
    # step has proximity 0. Sessions counted on the exchange calendar; today = 0.
    proximity_steps: ProximitySteps = ((1, 1.0), (3, 0.5))
    breakpoints: Breakpoints = ((0.0, 0.0), (1.0, 1.0))


class ProximityParams(SignalParams):
    weight: float = Field(0.35, ge=0, le=5)
    # Raw: ATM sigmas from spot. Fitted on a simulated rolling 20-delta, ~45-DTE condor;
    # a fresh one reads about 0.77-0.81, so z about 0.
    breakpoints: Breakpoints = ((-0.37, 1.0), (0.77, 0.0), (2.18, -0.5))


class SkewParams(Section):
    """25-delta put IV minus ATM IV (vol points) -> the VIX share of the overlay."""

    target_delta: float = Field(-0.25, ge=-0.5, le=-0.05)
    # The skew is read on the SPX expiry nearest this many calendar days: the tenor VIX
    # itself measures, so the skew and the VIX level speak of the same options.
    tenor_days: int = Field(30, ge=1, le=365)
    # Fitted on a SKEW-index proxy of this skew, scaled to it on the two real SPX chains.
    breakpoints: ShareMap = ((1.2, 0.4), (1.9, 0.6), (3.9, 0.75))


class CustomSignalParams(SignalParams):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    # "package.module:attribute": an object with ``name`` and ``score(inputs) -> float``.
    import_path: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class SignalsParams(Section):
    rsi: RsiParams = RsiParams()
    macd: MacdParams = MacdParams()
    breadth: BreadthParams = BreadthParams()
    term: TermParams = TermParams()
    rv_iv: RvIvParams = RvIvParams()
    events: EventsParams = EventsParams()
    proximity: ProximityParams = ProximityParams()
    skew: SkewParams = SkewParams()
    custom: tuple[CustomSignalParams, ...] = ()

    @model_validator(mode="after")
    def _custom_names(self) -> Self:
        builtin = set(type(self).model_fields) - {"custom"}
        names = [c.name for c in self.custom]
        clashing = sorted(set(names) & builtin)
        if clashing:
            raise ValueError(f"custom signal names clash with built-in signals: {clashing}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"custom signal names must be unique, repeated: {repeated}")
        return self


class ScalarParams(Section):
    min_value: float = Field(0.5, ge=0, le=10)
    max_value: float = Field(2.5, ge=0, le=10)
    max_missing_count: int = Field(3, ge=0, le=20)
    half_life_min: float = Field(30.0, ge=0, le=24 * 60)
    max_change_per_hour: float = Field(0.5, gt=0, le=10)

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        return self._require_order("min_value", "max_value")


# ---- layer 3: the convexity overlay --------------------------------------------------------
class VixSpreadParams(Section):
    min_dte_days: int = Field(25, ge=1, le=365)
    long_delta: float = Field(0.35, gt=0, lt=1)
    short_delta: float = Field(0.10, gt=0, lt=1)
    # When set, the short strike is long + width instead of nearest short_delta.
    width_pts: float | None = Field(None, gt=0, le=100)
    neighbour_count: int = Field(1, ge=0, le=10)

    @model_validator(mode="after")
    def _short_further_out(self) -> Self:
        # Call deltas: the short strike is further out of the money, so smaller.
        return self._require_order("short_delta", "long_delta", strict=True)


class DiagonalParams(Section):
    long_dte_min_days: int = Field(60, ge=1, le=730)
    long_dte_max_days: int = Field(90, ge=1, le=730)
    long_delta: float = Field(-0.20, gt=-1, lt=0)
    # The short put sits this fraction of SPX spot below the long put: 0.01 is 50 points
    # at SPX 5,000 and stays 1% at any index level (a fixed point offset would not).
    short_offset_frac: float = Field(0.01, ge=0, le=0.2)
    neighbour_count: int = Field(1, ge=0, le=10)
    # The short leg's expiry is at least this many calendar days away, so a rolled
    # diagonal is not due again at once.
    short_min_dte_days: int = Field(5, ge=1, le=60)

    @model_validator(mode="after")
    def _dte_window(self) -> Self:
        return self._require_order("long_dte_min_days", "long_dte_max_days")


class OverlayParams(Section):
    coverage_frac: float = Field(1.0, gt=0, le=5)
    max_cover_frac: float = Field(1.0, gt=0, le=5)
    mix_tolerance_frac: float = Field(0.15, ge=0, le=1)
    # Most units of one candidate: this many per unit of the income book (condors and
    # credit spreads), rounded up, and never more than max_contracts.
    max_contracts_per_income_unit: float = Field(20.0, gt=0, le=1000)
    max_contracts: int = Field(1000, ge=1, le=100_000)
    solver_time_limit_s: float = Field(5.0, gt=0, le=120)
    # Fewer order lines: accept up to this fraction more debit (and, when the budget
    # binds, this fraction less cover) to use fewer distinct candidates; 0 = off.
    consolidate_tolerance_frac: float = Field(0.03, ge=0, le=1)


# ---- the proposal ------------------------------------------------------------------------
class RollParams(Section):
    vix_min_dte_days: int = Field(10, ge=0, le=365)
    # The diagonal's short leg is rolled this many sessions before its expiry.
    diagonal_short_min_sessions: int = Field(1, ge=0, le=30)


class ProposalParams(Section):
    min_change_contracts: int = Field(1, ge=1, le=1000)
    min_change_frac: float = Field(0.15, ge=0, le=1)
    price_offset_ticks: int = Field(1, ge=0, le=50)
    # With the income book empty, hedges are kept (nothing proposed) until this many
    # sessions after the last session the book held an income structure: the gap
    # between an expiring condor and the next one is not a reason to sell protection.
    book_gap_grace_sessions: int = Field(3, ge=0, le=30)
    roll: RollParams = RollParams()


# ---- data validation -----------------------------------------------------------------------
class ValidationParams(Section):
    max_quote_age_s: float = Field(120.0, gt=0, le=86_400)
    # A quote whose spread exceeds this fraction of its mid is too wide to price on.
    max_spread_frac: float = Field(0.5, gt=0, le=10)


class ModelParams(Section):
    """Everything ``evaluate`` needs, in one value."""

    pricing: PricingParams = PricingParams()
    ticks: TickParams = TickParams()
    scenario: ScenarioParams = ScenarioParams()
    base: BaseLayerParams = BaseLayerParams()
    budget: BudgetParams = BudgetParams()
    signals: SignalsParams = SignalsParams()
    scalar: ScalarParams = ScalarParams()
    vix: VixSpreadParams = VixSpreadParams()
    diagonal: DiagonalParams = DiagonalParams()
    overlay: OverlayParams = OverlayParams()
    proposal: ProposalParams = ProposalParams()
    validation: ValidationParams = ValidationParams()
