"""The simulated chains' contract resolution: its cache answers what a fresh lookup would.

Oracle: a new ``Chains`` (nothing cached) asked the same question at the same time; and
the listing rules (an expiry resolves while listed, a strike only on its grid)."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.brokers.sim import SimParams
from daemon.brokers.sim.chains import SPX, SPXW, VIX, Chains, _Listings, option_contract
from daemon.core.calendar import (
    NY,
    next_session,
    settlement_time,
    spx_monthly_expiry,
    time_to_expiry_years,
    vix_expiries,
    years_until,
)
from daemon.core.models import Contract, Right, SecType

PARAMS = SimParams.model_validate({"seed": 5})
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=NY)
# Times over a week: SPXW dailies settle at each close, so cached entries go unlisted.
TIMES = [MONDAY + timedelta(hours=h) for h in (0, 7, 24, 31, 48, 72, 96, 168)]

anything = st.builds(
    Contract,
    symbol=st.sampled_from([SPX, VIX, "NDX"]),
    sec_type=st.sampled_from([SecType.OPTION, SecType.FUTURE, SecType.INDEX]),
    trading_class=st.sampled_from([SPX, SPXW, VIX, "VX", ""]),
    expiry=st.one_of(st.none(), st.dates(date(2026, 3, 1), date(2026, 7, 31))),
    strike=st.one_of(st.none(), st.sampled_from([-5.0, 0.0, 15.0, 17.5, 5800.0, 5801.0])),
    right=st.one_of(st.none(), st.sampled_from([Right.CALL, Right.PUT])),
    multiplier=st.sampled_from([100, 1000]),
    con_id=st.one_of(st.none(), st.integers(1, 10)),
)
# Listed contracts, most of them, so the cache is used (and its entries expire).
_LISTED = {tc: Chains(PARAMS).expiries(tc, MONDAY) for tc in (SPX, SPXW, VIX)}
spx_options = st.builds(
    Contract,
    symbol=st.just(SPX),
    sec_type=st.just(SecType.OPTION),
    trading_class=st.sampled_from([SPX, SPXW]),
    expiry=st.sampled_from(_LISTED[SPXW][:6] + _LISTED[SPX][:2]),
    strike=st.sampled_from([5795.0, 5800.0, 5800.0000000001]),
    right=st.sampled_from([Right.CALL, Right.PUT]),
    con_id=st.one_of(st.none(), st.integers(1, 3)),
)
vix_futures = st.builds(
    Contract,
    symbol=st.just(VIX),
    sec_type=st.just(SecType.FUTURE),
    trading_class=st.just("VX"),
    expiry=st.sampled_from(_LISTED[VIX][:2]),
    multiplier=st.just(1000),
)
contracts = st.one_of(anything, spx_options, vix_futures)


@settings(max_examples=100, deadline=None)
@given(asked=st.lists(st.tuples(contracts, st.sampled_from(TIMES)), min_size=1, max_size=25))
def test_cached_resolution_matches_a_fresh_lookup(asked: list[tuple[Contract, datetime]]) -> None:
    """Asked in any order (times only move forward), the cache answers as a fresh chain."""
    chains = Chains(PARAMS)
    for contract, now in sorted(asked, key=lambda pair: pair[1]):
        fresh = Chains(PARAMS).resolve(contract, now)
        assert chains.resolve(contract, now) == fresh
        # The same contract again, and its resolved self, give the same answer.
        assert chains.resolve(contract, now) == fresh
        if fresh is not None:
            assert chains.resolve(fresh, now) == fresh


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(
        st.tuples(st.lists(contracts, max_size=20), st.sampled_from(TIMES)), min_size=1, max_size=6
    )
)
def test_resolving_a_request_at_once_matches_one_by_one(
    batches: list[tuple[list[Contract], datetime]],
) -> None:
    """A whole request (repeats, unknowns, cached and new contracts) answers as fresh lookups."""
    chains = Chains(PARAMS)
    for batch, now in sorted(batches, key=lambda pair: pair[1]):
        assert chains.resolve_all(batch, now) == [Chains(PARAMS).resolve(c, now) for c in batch]


def test_a_resolved_daily_is_unknown_once_settled() -> None:
    """An SPXW daily resolves (con_id filled, strike on the grid) until its close settles it."""
    chains = Chains(PARAMS)
    asked = Contract(SPX, SecType.OPTION, SPXW, date(2026, 3, 2), 5800.0, Right.PUT, con_id=7)
    known = chains.resolve(asked, MONDAY)
    assert known is not None and known.con_id is not None and known.con_id != 7
    assert (known.trading_class, known.expiry, known.strike) == (SPXW, date(2026, 3, 2), 5800.0)
    assert chains.resolve(asked, MONDAY + timedelta(hours=7)) is None  # after the 16:00 close
    off_grid = Contract(SPX, SecType.OPTION, SPXW, date(2026, 3, 3), 5801.0, Right.PUT)
    assert chains.resolve(off_grid, MONDAY) is None


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(contracts, max_size=20), times=st.lists(st.sampled_from(TIMES), max_size=4))
def test_the_same_objects_asked_again_answer_as_fresh_lookups(
    batch: list[Contract], times: list[datetime]
) -> None:
    """The very same objects asked cycle after cycle (the by-identity cache) still answer
    as a fresh chain at each time, expiries settling in between included."""
    chains = Chains(PARAMS)
    for now in sorted([MONDAY, *times]):
        assert chains.resolve_all(batch, now) == [Chains(PARAMS).resolve(c, now) for c in batch]
        assert chains.resolve_all(batch, now) == [Chains(PARAMS).resolve(c, now) for c in batch]


def test_a_resolved_option_id_is_the_checksum_of_its_key() -> None:
    """A resolved option's con_id is CRC-32 of its ``Contract.key`` (stable across runs)."""
    asked = Contract(SPX, SecType.OPTION, SPXW, date(2026, 3, 6), 5800.0000000001, Right.CALL)
    known = Chains(PARAMS).resolve(asked, MONDAY)
    assert known is not None and known.key == "SPXW 2026-03-06 5800 C"
    assert known.con_id == zlib.crc32(b"SPXW 2026-03-06 5800 C") & 0x7FFFFFFF


def test_a_strike_listing_is_the_callers_own() -> None:
    """A listing handed out is a copy: changing it does not change the next answer."""
    chains = Chains(PARAMS)
    first = chains.strikes(SPXW, date(2026, 3, 6), 5800.0)
    expected = list(first)
    first.clear()
    assert chains.strikes(SPXW, date(2026, 3, 6), 5800.0) == expected
    assert chains.strikes(SPX, date(2026, 3, 20), 5800.0) == expected  # one grid, one band
    assert chains.strikes(SPXW, date(2026, 3, 6), 5900.0) != expected  # the band follows spot


@settings(max_examples=60, deadline=None)
@given(today=st.dates(date(2007, 1, 1), date(2030, 12, 31)))
def test_monthly_listings_are_the_calendars_expiries(today: date) -> None:
    """The monthly SPX and VIX candidates (worked out once per month) are the calendar's
    expiries from today on: the next SPX third Fridays, the VIX expiries in the window."""
    chains, c = Chains(PARAMS), PARAMS.chains
    end = today + timedelta(days=31 * (c.vix_expiry_count + 2))
    want_vix = vix_expiries(today, end)[: c.vix_expiry_count + 1]
    assert chains._candidate_expiries(VIX, today) == want_vix
    months = [
        (today.year + (today.month - 1 + i) // 12, (today.month - 1 + i) % 12 + 1)
        for i in range(c.spx_monthly_count + 1)
    ]
    want_spx = [d for d in (spx_monthly_expiry(y, m) for y, m in months) if d >= today]
    assert chains._candidate_expiries(SPX, today) == want_spx[: c.spx_monthly_count + 1]


@settings(max_examples=80, deadline=None)
@given(
    trading_class=st.sampled_from([SPX, SPXW, VIX]),
    days_out=st.integers(0, 400),
    minutes_before=st.integers(-600, 60 * 24 * 30),
)
def test_a_kept_settlement_gives_the_contracts_tenor(
    trading_class: str, days_out: int, minutes_before: int
) -> None:
    """An expiry's tenor from its kept settlement instant (the historical grids' path) is
    ``time_to_expiry_years`` of a contract of that expiry, float for float, asked twice
    (the second answer from the cache), before and after settlement, across DST changes."""
    chains = Chains(PARAMS)
    expiry = next_session(date(2026, 1, 2) + timedelta(days=days_out))
    want_settle = settlement_time(option_contract(trading_class, expiry, 1.0, Right.CALL))
    now = (want_settle - timedelta(minutes=minutes_before)).astimezone(NY)
    for strike, right in ((1.0, Right.CALL), (25.0, Right.PUT)):
        want = time_to_expiry_years(option_contract(trading_class, expiry, strike, right), now)
        assert years_until(chains.settles(trading_class, expiry), now) == want


def test_a_request_lists_only_the_classes_its_hits_name() -> None:
    """``resolve_all`` fetches a class's listing on its first cached hit only: a request of
    VIX options lists VIX alone (as the first pass it replaced did), each listing the
    chain's own expiries at that time."""
    chains = Chains(PARAMS)
    expiry = _LISTED[VIX][0]
    batch = [Contract(VIX, SecType.OPTION, VIX, expiry, k, Right.CALL) for k in (15.0, 20.0)]
    chains.resolve_all(batch, MONDAY)  # misses: resolved one by one, then kept by identity
    later = MONDAY + timedelta(hours=1)
    assert chains.resolve_all(batch, later) == [Chains(PARAMS).resolve(c, later) for c in batch]
    listings = _Listings(chains, later)
    assert not listings  # nothing fetched until read
    assert listings[VIX] == frozenset(Chains(PARAMS).expiries(VIX, later))
    assert list(listings) == [VIX]
    assert {tc for tc, (when, _) in chains._listed_sets.items() if when == later} == {VIX}
