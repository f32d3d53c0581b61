"""The market view: quote validation, forwards and vols recovered from chains built with
known inputs, VIX options on their future, and the validity of the cycle."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, fields, replace
from datetime import timedelta

import pytest
from vollib.black.greeks.analytical import delta as vollib_delta
from vollib.black.greeks.analytical import gamma as vollib_gamma
from vollib.black.greeks.analytical import theta as vollib_theta
from vollib.black.greeks.analytical import vega as vollib_vega

from daemon.core.calendar import time_to_expiry_years
from daemon.core.market import (
    DataProblemCode,
    IVSource,
    MarketView,
    OptionView,
    build_market_view,
)
from daemon.core.market_views import option_view
from daemon.core.models import OptionQuote, Quote, Right
from daemon.core.params import ModelParams
from tests.core.factories import (
    NOW,
    RATE,
    SPX_EXPIRY,
    VIX_EXPIRY,
    VIX_FUTURE,
    chain,
    index_quote,
    iron_condor,
    pos,
    priced_quote,
    quote,
    skew,
    snapshot,
    spx_forward,
    spx_option,
    standard_snapshot,
    strikes,
    vix_chain,
    vix_option,
)

PARAMS = ModelParams()
P, C = Right.PUT, Right.CALL
FORWARD = 5023.7  # deliberately not a strike nor the spot


def _codes(view: MarketView, instrument: str) -> set[DataProblemCode]:
    return {p.code for p in view.problems if p.instrument == instrument}


def _replace_quote(options: list[OptionQuote], key: str, q: Quote) -> list[OptionQuote]:
    return [OptionQuote(o.contract, q) if o.contract.key == key else o for o in options]


def _spx_options() -> list[OptionQuote]:
    return chain(strikes(4700, 5300, 25), FORWARD, skew())


def test_clean_snapshot_is_valid() -> None:
    """A fresh, consistent snapshot has no problems and prices every option."""
    view = build_market_view(standard_snapshot(), PARAMS)
    assert view.problems == ()
    assert view.is_valid
    assert view.spot == 5000.0 and view.vix == 18.0 and view.vix3m == 20.0
    assert all(v.is_priced and v.iv_source is IVSource.MID for v in view.options.values())


def test_forward_recovered_from_chain() -> None:
    """The parity forward of a chain priced at a known forward is that forward."""
    view = build_market_view(snapshot(options=_spx_options()), PARAMS)
    (ev,) = view.expiries("SPX")
    t_years = time_to_expiry_years(spx_option(5000, P), NOW)
    assert ev.trading_class == "SPXW" and ev.expiry == SPX_EXPIRY
    assert ev.forward == pytest.approx(FORWARD, abs=1e-6)
    assert ev.discount == pytest.approx(math.exp(-RATE * t_years), rel=1e-9)
    assert ev.t_years == pytest.approx(t_years)
    assert ev.reliable and ev.parity_residual_usd is not None
    assert ev.parity_residual_usd < 1e-6


def test_ivs_and_greeks_match_independent_black76() -> None:
    """Each option's IV is the vol it was priced with; greeks agree with vollib."""
    view = build_market_view(snapshot(options=_spx_options()), PARAMS)
    t_years = time_to_expiry_years(spx_option(5000, P), NOW)
    vol = skew()
    for k in (4700.0, 4900.0, 5025.0, 5300.0):
        for right in (P, C):
            ov = view.option(spx_option(k, right))
            assert ov is not None and ov.iv_sigma is not None
            sigma = vol(k) if callable(vol) else vol
            assert ov.iv_sigma == pytest.approx(sigma, abs=1e-8)
            assert ov.underlying_price == pytest.approx(FORWARD, abs=1e-6)
            flag = right.value.lower()
            args = (flag, FORWARD, k, t_years, RATE, sigma)
            assert ov.delta == pytest.approx(vollib_delta(*args), abs=1e-7)
            assert ov.gamma == pytest.approx(vollib_gamma(*args), rel=1e-6)
            assert ov.vega == pytest.approx(vollib_vega(*args), rel=1e-6)
            assert ov.theta == pytest.approx(vollib_theta(*args), rel=1e-5)


def test_stale_option_quote_flagged() -> None:
    """A quote older than max_quote_age_s is STALE and its mid is not used."""
    key = spx_option(5100, C).key
    old = NOW - timedelta(seconds=PARAMS.validation.max_quote_age_s + 1)
    options = _replace_quote(_spx_options(), key, quote(40.0, 41.0, time=old))
    view = build_market_view(snapshot(options=options), PARAMS)
    assert _codes(view, key) == {DataProblemCode.STALE}
    ov = view.option(spx_option(5100, C))
    assert ov is not None and ov.mid is None
    assert ov.iv_source is IVSource.INTERPOLATED
    assert view.is_valid  # not held


def test_nan_crossed_wide_flagged() -> None:
    """NaN, crossed and wide quotes each raise their own problem code."""
    nan_key, crossed_key, wide_key = (spx_option(k, P).key for k in (4800, 4850, 4900))
    options = _replace_quote(_spx_options(), nan_key, quote(math.nan, 5.0))
    options = _replace_quote(options, crossed_key, quote(6.0, 5.0))
    options = _replace_quote(options, wide_key, quote(1.0, 30.0))
    view = build_market_view(snapshot(options=options), PARAMS)
    assert _codes(view, nan_key) == {DataProblemCode.NAN}
    assert _codes(view, crossed_key) == {DataProblemCode.CROSSED}
    assert _codes(view, wide_key) == {DataProblemCode.WIDE}


def test_one_sided_option_quote_is_missing() -> None:
    """An option with no bid is MISSING (the last trade is never priced on)."""
    key = spx_option(4950, P).key
    options = _replace_quote(_spx_options(), key, quote(None, 5.0, last=4.0))
    view = build_market_view(snapshot(options=options), PARAMS)
    assert _codes(view, key) == {DataProblemCode.MISSING}


def test_wide_quote_falls_back_to_broker_iv() -> None:
    """A wide quote's vol comes from the broker's model IV when it sends one."""
    c = spx_option(4900, P)
    wide = quote(1.0, 30.0, model_iv_sigma=0.2345)
    options = _replace_quote(_spx_options(), c.key, wide)
    ov = build_market_view(snapshot(options=options), PARAMS).option(c)
    assert ov is not None
    assert ov.iv_source is IVSource.BROKER and ov.iv_sigma == 0.2345


def test_interpolated_iv_between_neighbours() -> None:
    """Without mid or broker IV, the vol is linear in strike between neighbouring strikes."""
    options = [o for o in _spx_options() if o.contract.strike != 5000.0]
    target = spx_option(5000, P)
    options.append(OptionQuote(target, quote(1.0, 80.0)))  # wide, no broker IV
    view = build_market_view(snapshot(options=options), PARAMS)
    ov = view.option(target)
    vol = skew()
    assert callable(vol)
    assert ov is not None and ov.iv_source is IVSource.INTERPOLATED
    # The skew is linear, so interpolation between 4975 and 5025 reproduces it.
    assert ov.iv_sigma == pytest.approx(0.5 * (vol(4975.0) + vol(5025.0)), abs=1e-8)


def test_no_iv_outside_the_known_strikes() -> None:
    """An unusable quote beyond the last strike with an IV is NO_IV (no extrapolation)."""
    c = spx_option(5500, C)
    options = [*_spx_options(), OptionQuote(c, quote(None, None))]
    view = build_market_view(snapshot(options=options), PARAMS)
    assert _codes(view, c.key) == {DataProblemCode.MISSING, DataProblemCode.NO_IV}
    ov = view.option(c)
    assert ov is not None and not ov.is_priced and ov.iv_sigma is None


def test_parity_violation_marks_expiry_unreliable() -> None:
    """Puts near the money off parity by alternating +-3 USD raise PARITY."""
    bumps = {5000.0: 3.0, 5025.0: -3.0, 5050.0: 3.0, 4975.0: -3.0}
    options = []
    for o in _spx_options():
        k = o.contract.strike
        if o.contract.right is P and k in bumps:
            mid = (o.quote.bid or 0) / 0.99 + bumps[k]
            options.append(OptionQuote(o.contract, quote(mid * 0.99, mid * 1.01)))
        else:
            options.append(o)
    view = build_market_view(snapshot(options=options), PARAMS)
    assert _codes(view, f"SPXW {SPX_EXPIRY}") == {DataProblemCode.PARITY}
    ev = view.expiry("SPXW", SPX_EXPIRY)
    assert ev is not None and not ev.reliable
    assert view.is_valid  # no held leg there
    held = snapshot(options=options, positions=[pos(spx_option(4800, P), -1)])
    assert not build_market_view(held, PARAMS).is_valid


def test_vix_options_priced_on_the_future() -> None:
    """VIX options use the VIX future of their expiry, not spot VIX, and recover the vol."""
    options = vix_chain(strikes(12, 40, 1), VIX_FUTURE, 0.85)
    view = build_market_view(snapshot(options=options, vix=15.0), PARAMS)
    (ev,) = view.expiries("VIX")
    assert ev.forward == VIX_FUTURE
    assert ev.reliable and ev.parity_residual_usd is not None
    assert ev.parity_residual_usd < 1e-6
    ov = view.option(vix_option(25, C))
    assert ov is not None and ov.underlying_price == VIX_FUTURE
    assert ov.iv_sigma == pytest.approx(0.85, abs=1e-8)
    assert view.vix_future(VIX_EXPIRY) == pytest.approx(VIX_FUTURE)


def test_vix_missing_future_is_no_forward() -> None:
    """Without the future of their expiry, VIX options are not priced (NO_FORWARD)."""
    options = vix_chain(strikes(12, 40, 1), VIX_FUTURE, 0.85)
    view = build_market_view(snapshot(options=options, vix_futures={}), PARAMS)
    assert _codes(view, f"VIX {VIX_EXPIRY}") == {DataProblemCode.NO_FORWARD}
    assert not any(v.is_priced for v in view.chain("VIX", VIX_EXPIRY))
    held = snapshot(options=options, vix_futures={}, positions=[pos(vix_option(20, C), 1)])
    assert not build_market_view(held, PARAMS).is_valid


def test_vix_future_off_parity_flagged() -> None:
    """A future far from the parity forward of its options raises PARITY."""
    options = vix_chain(strikes(12, 40, 1), VIX_FUTURE, 0.85)
    view = build_market_view(
        snapshot(options=options, vix_futures={VIX_EXPIRY: VIX_FUTURE + 3}), PARAMS
    )
    assert _codes(view, f"VIX {VIX_EXPIRY}") == {DataProblemCode.PARITY}


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("spx", index_quote(5000.0, NOW - timedelta(hours=1))),
        ("vix", index_quote(math.nan)),
        ("spx", Quote(bid=None, ask=None, time=NOW)),
        ("vix", quote(18.5, 18.0)),
    ],
)
def test_bad_index_quote_invalidates(field: str, bad: Quote) -> None:
    """Stale, NaN, missing or crossed SPX/VIX make the cycle invalid."""
    view = build_market_view(snapshot(**{field: bad}), PARAMS)
    assert not view.is_valid
    assert getattr(view, "spot" if field == "spx" else "vix") is None


def test_missing_vix3m_is_recorded_not_fatal() -> None:
    """VIX3M only feeds the term signal: its absence is a problem, not an invalid cycle."""
    view = build_market_view(snapshot(vix3m=None), PARAMS)
    assert _codes(view, "VIX3M") == {DataProblemCode.MISSING}
    assert view.vix3m is None and view.is_valid


def test_held_leg_problems() -> None:
    """A held leg's stale quote or absent quote invalidates; a held wide wing does not."""
    base = _spx_options()
    stale = NOW - timedelta(minutes=10)
    stale_leg = spx_option(4800, P)
    view = build_market_view(
        snapshot(
            options=_replace_quote(base, stale_leg.key, quote(5.0, 5.1, time=stale)),
            positions=[pos(stale_leg, 1)],
        ),
        PARAMS,
    )
    assert not view.is_valid
    absent = spx_option(4000, P)
    view = build_market_view(snapshot(options=base, positions=[pos(absent, 1)]), PARAMS)
    assert _codes(view, absent.key) == {DataProblemCode.MISSING}
    assert not view.is_valid
    wide_leg = spx_option(4725, P)
    view = build_market_view(
        snapshot(
            options=_replace_quote(base, wide_leg.key, quote(0.5, 9.0)),
            positions=[pos(wide_leg, 1)],
        ),
        PARAMS,
    )
    assert _codes(view, wide_leg.key) == {DataProblemCode.WIDE}
    assert view.is_valid


def test_spx_and_spxw_same_date_are_separate_expiries() -> None:
    """The AM monthly and the PM weekly of one date get their own forward and chain."""
    am = chain(strikes(4900, 5100, 50), FORWARD - 2, 0.2, trading_class="SPX")
    pm = chain(strikes(4900, 5100, 50), FORWARD, 0.2, trading_class="SPXW")
    view = build_market_view(snapshot(options=am + pm), PARAMS)
    assert [(e.trading_class, e.expiry) for e in view.expiries("SPX")] == [
        ("SPX", SPX_EXPIRY),
        ("SPXW", SPX_EXPIRY),
    ]
    monthly, weekly = view.expiry("SPX", SPX_EXPIRY), view.expiry("SPXW", SPX_EXPIRY)
    assert monthly is not None and monthly.forward == pytest.approx(FORWARD - 2, abs=1e-6)
    assert weekly is not None and weekly.forward == pytest.approx(FORWARD, abs=1e-6)
    assert monthly.t_years < weekly.t_years  # AM settles at the open
    assert {v.contract.trading_class for v in view.chain("SPX", SPX_EXPIRY)} == {"SPX"}
    assert {v.contract.trading_class for v in view.chain("SPXW", SPX_EXPIRY)} == {"SPXW"}


def test_chain_by_symbol_when_no_class_matches() -> None:
    """``chain("SPX", date)`` on a weeklies-only date returns the SPXW chain, sorted."""
    expiry = SPX_EXPIRY + timedelta(days=7)
    options = chain(strikes(4900, 5100, 50), spx_forward(expiry=expiry), 0.2, expiry=expiry)
    view = build_market_view(snapshot(options=options), PARAMS)
    got = view.chain("SPX", expiry)
    assert len(got) == 10
    assert [(v.contract.strike, v.contract.right) for v in got] == sorted(
        (v.contract.strike, v.contract.right) for v in got
    )


def test_chain_is_every_matching_option_of_the_view() -> None:
    """``chain`` (read from an index built once per view, each chain sorted once) returns
    exactly the options a scan of the whole view finds: by class where the class lists
    the date, else by symbol, sorted by (strike, right); empty for an unknown class or
    date; a fresh list each call."""
    am = chain(strikes(4900, 5100, 50), FORWARD - 2, 0.2, trading_class="SPX")
    pm = chain(strikes(4900, 5100, 50), FORWARD, 0.2, trading_class="SPXW")
    view = build_market_view(snapshot(options=am + pm + vix_chain(strikes(15, 30, 5))), PARAMS)
    asked = {(c, e.expiry) for e in view.expiry_views for c in (e.trading_class, e.symbol)}
    asked |= {("SPXW", VIX_EXPIRY), ("NDX", SPX_EXPIRY)}
    for name, expiry in sorted(asked):
        scan = [o for o in view.options.values() if o.contract.expiry == expiry]
        mine = [o for o in scan if o.contract.trading_class == name]
        mine = mine or [o for o in scan if o.contract.symbol == name]
        want = sorted((o.contract.strike, o.contract.right.value) for o in mine if o.contract.right)
        got = view.chain(name, expiry)
        assert [(o.contract.strike, o.contract.right) for o in got] == want
        assert view.chain(name, expiry) is not got  # a fresh list each call
        got.clear()  # a caller changing its list changes nobody else's
        assert [(o.contract.strike, o.contract.right) for o in view.chain(name, expiry)] == want


def test_broker_iv_ignored_when_stale() -> None:
    """A stale quote's broker IV is as old as its prices: the vol is interpolated instead."""
    c = spx_option(5000, C)
    old = NOW - timedelta(minutes=10)
    stale = replace(priced_quote(c, FORWARD, 0.18, model_iv_sigma=0.5).quote, time=old)
    options = _replace_quote(_spx_options(), c.key, stale)
    ov = build_market_view(snapshot(options=options), PARAMS).option(c)
    assert ov is not None and ov.iv_source is IVSource.INTERPOLATED


def test_wide_quote_on_the_chains_last_strike_still_prices_a_held_wing() -> None:
    """A held far wing with only a wide quote and no neighbour beyond takes its own mid's vol."""
    book = iron_condor((4500, 4600, 5500, 5600), 1)
    wing = book[-1].contract  # the long 5600 call
    snap = standard_snapshot(book)
    options = []
    for o in snap.options:
        c = o.contract
        if c.expiry == wing.expiry and (c.strike or 0.0) > wing.strike:
            continue  # nothing quoted beyond the wing: it is the chain's last strike
        if c.expiry == wing.expiry and c.strike == wing.strike and c.right is Right.PUT:
            continue  # no put at the wing's strike either
        if c.key == wing.key:
            o = OptionQuote(c, Quote(0.05, 0.30, o.quote.time))  # wide: spread 5x the mid
        options.append(o)
    same_expiry = [o.contract.strike or 0.0 for o in options if o.contract.expiry == wing.expiry]
    assert max(same_expiry) == wing.strike  # the wing is the last strike quoted
    view = build_market_view(replace(snap, options=tuple(options)), ModelParams())
    assert view.is_valid, view.fatal_problems
    wing_view = view.option(wing)
    assert wing_view is not None and wing_view.iv_source is IVSource.WIDE_MID
    assert {p.code for p in view.problems if p.instrument == wing.key} == {DataProblemCode.WIDE}


def test_option_view_helper_builds_the_same_object_as_the_dataclass() -> None:
    """``option_view`` (the market view's constructor, bypassing the frozen ``__init__``)
    gives an object equal to ``OptionView(...)`` field by field, frozen all the same; the
    shortcut is only valid while OptionView computes nothing at construction."""
    contract = spx_option(5000, P)
    full = (contract, 1.0, 1.2, 1.1, 0.2, IVSource.MID, 5010.0, 0.1, 0.99, 0.04)
    greeks = (1.1, -0.4, 0.001, 5.0, -0.3)
    for values in (full, full + greeks):
        made, want = option_view(*values), OptionView(*values)
        assert made == want and vars(made) == vars(want)
        assert list(vars(made)) == [f.name for f in fields(OptionView)]
        with pytest.raises(FrozenInstanceError):
            made.bid = 2.0  # type: ignore[misc]
    assert not hasattr(OptionView, "__post_init__")


def test_class_without_settlement_rule_is_no_forward_not_settled() -> None:
    """A series whose trading class has no settlement rule is NO_FORWARD, saying the
    calendar's reason, its options unpriced; it is never "settled", so a held leg of it
    stays held and stops the cycle."""
    odd = [replace(o, contract=replace(o.contract, trading_class="XSP")) for o in _spx_options()]
    leg = odd[0].contract
    with pytest.raises(ValueError) as rule:
        time_to_expiry_years(leg, NOW)
    for positions in ((), (pos(leg, -1),)):
        view = build_market_view(snapshot(options=odd, positions=positions), PARAMS)
        (problem,) = (p for p in view.problems if p.instrument == f"XSP {SPX_EXPIRY}")
        assert problem.code is DataProblemCode.NO_FORWARD
        assert problem.detail == str(rule.value)
        assert view.option(leg) is None and view.chain("XSP", SPX_EXPIRY) == []
        assert view.expiries("SPX") == [] and view.settled_keys == frozenset()
        assert view.is_valid is not positions
        assert view.held_keys == frozenset(p.contract.key for p in positions)
