"""Structure recognition: hand-built books against the structures a trader would name."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.families.spx_put_diagonal import SPX_PUT_DIAGONAL
from daemon.core.families.vix_call_spread import VIX_CALL_SPREAD
from daemon.core.models import Contract, Position, Right
from daemon.core.recognition import recognise
from daemon.core.structures import Book, Leg, Structure, StructureKind
from tests.core.factories import (
    SPX_EXPIRY,
    SPX_FAR_EXPIRY,
    VIX_EXPIRY,
    iron_condor,
    pos,
    spx_option,
    stock,
    vix_future,
    vix_option,
)

P, C = Right.PUT, Right.CALL


def _shape(s: Structure) -> tuple[StructureKind, int, tuple[tuple[str, int], ...]]:
    """A structure as (kind, units, ((contract key, ratio), ...)) for table comparisons."""
    return (s.kind, s.quantity, tuple((leg.contract.key, leg.quantity) for leg in s.legs))


def _legs(*items: tuple[Contract, int]) -> tuple[tuple[str, int], ...]:
    return tuple((c.key, q) for c, q in items)


def _net(book: Book) -> Counter[str]:
    net: Counter[str] = Counter()
    for s in book.structures:
        for leg in s.position_legs:
            net[leg.contract.key] += leg.quantity
    for p in book.unrecognised:
        net[p.contract.key if p.contract.is_option else repr(p.contract)] += p.quantity
    return Counter({k: v for k, v in net.items() if v != 0})


def test_single_condor() -> None:
    """Four legs of one expiry in the condor order are one iron condor of their size."""
    book = recognise(iron_condor((4800, 4900, 5200, 5300), quantity=3))
    assert [_shape(s) for s in book.structures] == [
        (
            StructureKind.IRON_CONDOR,
            3,
            _legs(
                (spx_option(4800, P), 1),
                (spx_option(4900, P), -1),
                (spx_option(5200, C), -1),
                (spx_option(5300, C), 1),
            ),
        )
    ]
    assert book.unrecognised == ()
    assert book.condors == book.income == book.structures
    assert book.hedges == ()


def test_two_condors_same_expiry_innermost_first() -> None:
    """Two condors on one expiry pair innermost short with the nearest wing."""
    positions = iron_condor((4850, 4950, 5150, 5250), 2) + iron_condor((4700, 4800, 5300, 5400), 1)
    book = recognise(list(reversed(positions)))
    shapes = sorted(_shape(s) for s in book.structures)
    assert shapes == sorted(
        [
            (
                StructureKind.IRON_CONDOR,
                2,
                _legs(
                    (spx_option(4850, P), 1),
                    (spx_option(4950, P), -1),
                    (spx_option(5150, C), -1),
                    (spx_option(5250, C), 1),
                ),
            ),
            (
                StructureKind.IRON_CONDOR,
                1,
                _legs(
                    (spx_option(4700, P), 1),
                    (spx_option(4800, P), -1),
                    (spx_option(5300, C), -1),
                    (spx_option(5400, C), 1),
                ),
            ),
        ]
    )
    assert book.unrecognised == ()


def test_uneven_condor_leaves_extra_long_unrecognised() -> None:
    """3 long puts against 2 of everything else: a condor of 2 and one long put left over."""
    positions = iron_condor((4800, 4900, 5200, 5300), 2)
    positions[0] = pos(spx_option(4800, P), 3, 120.0)
    book = recognise(positions)
    assert [(s.kind, s.quantity) for s in book.structures] == [(StructureKind.IRON_CONDOR, 2)]
    assert book.unrecognised == (pos(spx_option(4800, P), 1, 120.0),)


def test_spx_and_spxw_same_date_are_different_expiries() -> None:
    """An SPX (AM) put spread and an SPXW (PM) call spread of one date are not a condor."""
    positions = [
        pos(spx_option(4800, P, trading_class="SPX"), 1),
        pos(spx_option(4900, P, trading_class="SPX"), -1),
        pos(spx_option(5200, C, trading_class="SPXW"), -1),
        pos(spx_option(5300, C, trading_class="SPXW"), 1),
    ]
    book = recognise(positions)
    assert sorted((s.kind, s.legs[0].contract.trading_class) for s in book.structures) == [
        (StructureKind.CALL_CREDIT_SPREAD, "SPXW"),
        (StructureKind.PUT_CREDIT_SPREAD, "SPX"),
    ]
    assert book.condors == ()
    assert len(book.income) == 2


def test_lone_put_credit_spread() -> None:
    """A short put above a long put of the same expiry is a put credit spread."""
    book = recognise([pos(spx_option(4900, P), -4), pos(spx_option(4850, P), 4)])
    assert [_shape(s) for s in book.structures] == [
        (
            StructureKind.PUT_CREDIT_SPREAD,
            4,
            _legs((spx_option(4850, P), 1), (spx_option(4900, P), -1)),
        )
    ]


def test_long_put_spread_is_not_income() -> None:
    """A debit put spread (long above short) is no structure the model knows."""
    book = recognise([pos(spx_option(4900, P), 1), pos(spx_option(4850, P), -1)])
    assert book.structures == ()
    assert len(book.unrecognised) == 2


def test_vix_call_spread() -> None:
    """Long VIX call K1 below short VIX call K2, same expiry, is a VIX call spread (hedge)."""
    book = recognise([pos(vix_option(30, C), -5), pos(vix_option(20, C), 5)])
    assert [_shape(s) for s in book.structures] == [
        (
            VIX_CALL_SPREAD,
            5,
            _legs((vix_option(20, C), 1), (vix_option(30, C), -1)),
        )
    ]
    assert book.hedges == book.structures
    assert book.income == ()


def test_spx_put_diagonal() -> None:
    """Long put at a far expiry with a lower short put nearer in is a put diagonal."""
    short = spx_option(4600, P, SPX_EXPIRY)
    long = spx_option(4650, P, SPX_FAR_EXPIRY, trading_class="SPX")
    book = recognise([pos(long, 2), pos(short, -2)])
    assert [_shape(s) for s in book.structures] == [
        (SPX_PUT_DIAGONAL, 2, _legs((short, -1), (long, 1)))
    ]
    assert book.structures[0].expiry == SPX_EXPIRY


def test_diagonal_needs_short_strike_at_or_below_long() -> None:
    """A short put above the far long put is not a diagonal hedge."""
    book = recognise(
        [pos(spx_option(4700, P, SPX_EXPIRY), -1), pos(spx_option(4650, P, SPX_FAR_EXPIRY), 1)]
    )
    assert book.structures == ()


def test_condor_with_hedges_and_a_stock() -> None:
    """Condor, VIX spread and diagonal together; the stock and a VIX future stay unrecognised."""
    positions = [
        *iron_condor((4800, 4900, 5200, 5300), 10),
        pos(vix_option(20, C), 3),
        pos(vix_option(30, C), -3),
        pos(spx_option(4650, P, SPX_FAR_EXPIRY), 2),
        pos(spx_option(4600, P, SPX_EXPIRY), -2),
        pos(stock("AAPL"), 100, 180.0),
        pos(vix_future(VIX_EXPIRY), -1),
    ]
    book = recognise(positions)
    assert Counter(s.kind for s in book.structures) == Counter(
        {
            StructureKind.IRON_CONDOR: 1,
            VIX_CALL_SPREAD: 1,
            SPX_PUT_DIAGONAL: 1,
        }
    )
    assert set(book.unrecognised) == {pos(stock("AAPL"), 100, 180.0), pos(vix_future(), -1)}


def test_id_is_stable_and_order_independent() -> None:
    """The id depends on the legs only: same for reordered input, different for other strikes."""
    a = recognise(iron_condor((4800, 4900, 5200, 5300), 1)).structures[0]
    b = recognise(list(reversed(iron_condor((4800, 4900, 5200, 5300), 5)))).structures[0]
    c = recognise(iron_condor((4800, 4900, 5200, 5350), 1)).structures[0]
    assert a.id == b.id
    assert a.id != c.id
    assert a.id.startswith("IC-")


def test_position_legs_scale_by_units() -> None:
    """``position_legs`` carries absolute signed contracts (ratio x units)."""
    s = recognise(iron_condor((4800, 4900, 5200, 5300), 7)).structures[0]
    assert [leg.quantity for leg in s.position_legs] == [7, -7, -7, 7]
    assert all(isinstance(leg, Leg) for leg in s.position_legs)


def test_duplicate_positions_merge() -> None:
    """Two entries for one contract are summed before matching (cost weighted by size)."""
    book = recognise(
        [
            pos(spx_option(4900, P), -1, 300.0),
            pos(spx_option(4900, P), -3, 500.0),
            pos(spx_option(4850, P), 4, 200.0),
        ]
    )
    (s,) = book.structures
    assert s.quantity == 4
    short = next(leg for leg in s.legs if leg.quantity < 0)
    assert short.avg_cost_usd == (300.0 + 3 * 500.0) / 4


# ---- invariant ----------------------------------------------------------------------------
_EXPIRIES = (SPX_EXPIRY, SPX_FAR_EXPIRY, date(2026, 6, 18))
_spx_contracts = st.builds(
    spx_option,
    st.sampled_from([4700.0, 4800.0, 4900.0, 5000.0, 5100.0, 5200.0]),
    st.sampled_from([P, C]),
    st.sampled_from(_EXPIRIES),
    st.sampled_from(["SPX", "SPXW"]),
)
_vix_contracts = st.builds(
    vix_option, st.sampled_from([15.0, 20.0, 25.0, 30.0]), st.sampled_from([P, C])
)
_positions = st.lists(
    st.builds(
        Position,
        st.one_of(_spx_contracts, _vix_contracts, st.just(stock()), st.just(vix_future())),
        st.integers(-6, 6),
        st.floats(0, 2000),
    ),
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(_positions)
def test_quantities_conserved(positions: list[Position]) -> None:
    """Every contract's signed quantity ends up exactly in the structures plus unrecognised."""
    expected: Counter[str] = Counter()
    for p in positions:
        expected[p.contract.key if p.contract.is_option else repr(p.contract)] += p.quantity
    expected = Counter({k: v for k, v in expected.items() if v != 0})
    book = recognise(positions)
    assert _net(book) == expected
    assert recognise(list(reversed(positions))) == book
    for s in book.structures:
        assert s.quantity > 0
        strikes = [leg.contract.strike for leg in s.legs]
        if s.kind is StructureKind.IRON_CONDOR:
            assert strikes == sorted(strikes) and len(set(strikes)) == 4
            assert [leg.quantity for leg in s.legs] == [1, -1, -1, 1]
