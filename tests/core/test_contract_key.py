"""``Contract.key`` is formatted once per object and kept in the instance (a
``cached_property``): these tests pin the text against hand-written keys and check the
cache changes nothing else a contract does (equality, hash, order, repr, pickle,
``dataclasses.replace``, ``to_plain``, ``from_json``)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.models import Contract, Right, SecType
from daemon.core.plain import to_plain


@pytest.mark.parametrize(
    ("contract", "key"),
    [
        (
            Contract("SPX", SecType.OPTION, "SPXW", date(2026, 12, 18), 5800.0, Right.PUT),
            "SPXW 2026-12-18 5800 P",
        ),
        (
            Contract("VIX", SecType.OPTION, "VIX", date(2026, 4, 15), 17.5, Right.CALL),
            "VIX 2026-04-15 17.5 C",
        ),
        (Contract("SPX", SecType.OPTION, "SPX", date(2026, 1, 16)), "SPX 2026-01-16 ? None"),
        (Contract("VIX", SecType.FUTURE, "VX", date(2026, 5, 20)), "VIX FUT 2026-05-20"),
        (Contract("SPX", SecType.INDEX), "SPX IND"),
    ],
)
def test_key_reads_as_written(contract: Contract, key: str) -> None:
    """The key's text, hand-written per kind of contract, is the same on every read."""
    assert contract.key == key
    assert contract.key == key  # the second read comes from the instance


def _old_key(c: Contract) -> str:
    """The key as the property computed it on every call (the oracle of the cache)."""
    if c.sec_type is SecType.OPTION:
        strike = "?" if c.strike is None else f"{c.strike:g}"
        return f"{c.trading_class} {c.expiry} {strike} {c.right}"
    if c.sec_type is SecType.FUTURE:
        return f"{c.symbol} FUT {c.expiry}"
    return f"{c.symbol} {c.sec_type}"


contracts = st.builds(
    Contract,
    symbol=st.sampled_from(["SPX", "VIX"]),
    sec_type=st.sampled_from(list(SecType)),
    trading_class=st.sampled_from(["", "SPX", "SPXW", "VIX"]),
    expiry=st.none() | st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    strike=st.none() | st.floats(0.05, 10_000.0),
    right=st.none() | st.sampled_from(list(Right)),
    con_id=st.none() | st.integers(1, 2**31 - 1),
)


@given(contracts)
def test_cached_key_changes_nothing_else(c: Contract) -> None:
    """A contract whose key was read equals, hashes, orders, prints and converts like a
    twin never asked for it; its copies and pickles keep the right key."""
    twin = dataclasses.replace(c)
    assert "key" not in twin.__dict__
    assert c.key == _old_key(c)
    assert "key" in c.__dict__  # kept: the next read is a dictionary lookup
    assert c == twin and hash(c) == hash(twin) and not c < twin and not twin < c
    assert repr(c) == repr(twin)
    assert to_plain(c) == to_plain(twin)
    assert Contract.from_json(to_plain(c)) == c
    for other in (pickle.loads(pickle.dumps(c)), copy.copy(c), copy.deepcopy(c)):
        assert other == c and other.key == _old_key(c)
    assert pickle.loads(pickle.dumps(twin)).key == _old_key(c)


@given(contracts, st.floats(0.05, 10_000.0))
def test_replace_formats_a_new_key(c: Contract, strike: float) -> None:
    """``dataclasses.replace`` after a read builds a contract with its own fields' key,
    not the original's cached one."""
    assert c.key == _old_key(c)
    moved = dataclasses.replace(c, strike=strike, sec_type=SecType.OPTION)
    assert moved.key == _old_key(moved)
    assert "key" not in dataclasses.asdict(moved)
