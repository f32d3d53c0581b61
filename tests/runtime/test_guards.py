"""Every execution guard, one at a time, against a context that otherwise allows the order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from daemon.core.calendar import NY
from daemon.runtime.guards import (
    GuardCode,
    GuardContext,
    GuardLimits,
    OrderIntent,
    check_order,
)

LIMITS = GuardLimits(
    allow_live=False,
    max_orders_per_day=5,
    max_contracts_per_order=10,
    max_debit_per_day_usd=5_000.0,
    quiet_after_open_min=15,
    quiet_before_close_min=10,
)
OK_CTX = GuardContext(
    now=datetime(2026, 11, 24, 11, 0, tzinfo=NY),
    session_open=datetime(2026, 11, 24, 9, 30, tzinfo=NY),
    session_close=datetime(2026, 11, 24, 16, 0, tzinfo=NY),
    account_id="DU1234567",
    is_paper=True,
    live_confirmation=None,
    kill_switch_on=False,
    data_validated=True,
    journal_refs=frozenset(),
    broker_open_refs=frozenset(),
    busy_leg_keys=frozenset(),
    busy_kinds=frozenset(),
    orders_today=0,
    debit_today_usd=0.0,
)
INTENT = OrderIntent(
    ref="a1b2",
    quantity=3,
    debit_usd=600.0,
    leg_keys=("VIX 2026-12-16 20 C",),
    kind="VIX_CALL_SPREAD",
)


def codes(ctx: GuardContext, limits: GuardLimits = LIMITS, intent: OrderIntent = INTENT) -> set:
    return {code for code, _ in check_order(ctx, limits, intent).refused}


def test_the_baseline_context_allows_the_order() -> None:
    """The reference context passes every guard, so each test below isolates one guard."""
    assert check_order(OK_CTX, LIMITS, INTENT).allowed


def test_live_account_refused_unless_config_and_env_both_allow() -> None:
    """A live account needs allow_live AND the env var naming that account."""
    live = replace(OK_CTX, account_id="U7654321", is_paper=False)
    assert codes(live) == {GuardCode.LIVE_ACCOUNT}
    allowed = replace(LIMITS, allow_live=True)
    assert codes(live, allowed) == {GuardCode.LIVE_ACCOUNT}
    assert codes(replace(live, live_confirmation="yes"), allowed) == {GuardCode.LIVE_ACCOUNT}
    assert codes(replace(live, live_confirmation="U7654321"), allowed) == set()


def test_kill_switch_refuses() -> None:
    """A present kill-switch file stops every order."""
    assert codes(replace(OK_CTX, kill_switch_on=True)) == {GuardCode.KILL_SWITCH}


def test_unvalidated_data_refuses() -> None:
    """No order on data the cycle could not validate."""
    assert codes(replace(OK_CTX, data_validated=False)) == {GuardCode.UNVALIDATED_DATA}


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (9, 30, {GuardCode.QUIET_OPEN}),
        (9, 44, {GuardCode.QUIET_OPEN}),
        (9, 45, set()),
        (15, 50, set()),
        (15, 51, {GuardCode.QUIET_CLOSE}),
        (16, 1, {GuardCode.OUTSIDE_SESSION}),
        (9, 0, {GuardCode.OUTSIDE_SESSION}),
    ],
)
def test_quiet_minutes_and_session(hour: int, minute: int, expected: set) -> None:
    """No orders in the first 15 / last 10 minutes of the session, nor outside it."""
    now = datetime(2026, 11, 24, hour, minute, tzinfo=NY)
    assert codes(replace(OK_CTX, now=now)) == expected


def test_not_a_session_day_refuses() -> None:
    """On a holiday there are no session bounds, and no orders."""
    ctx = replace(OK_CTX, session_open=None, session_close=None)
    assert codes(ctx) == {GuardCode.OUTSIDE_SESSION}


def test_caps() -> None:
    """Orders per day, contracts per order and debit per day are each a hard cap."""
    assert codes(replace(OK_CTX, orders_today=5)) == {GuardCode.MAX_ORDERS_PER_DAY}
    assert codes(replace(OK_CTX, orders_today=4)) == set()
    assert codes(OK_CTX, intent=replace(INTENT, quantity=11)) == {GuardCode.MAX_CONTRACTS_PER_ORDER}
    assert codes(replace(OK_CTX, debit_today_usd=4_500.0)) == {GuardCode.MAX_DEBIT_PER_DAY}
    assert codes(replace(OK_CTX, debit_today_usd=4_400.0)) == set()


def test_duplicates_refused_from_journal_broker_or_busy_legs() -> None:
    """The same ref in the journal or at the broker, or a working order on a leg: refused."""
    assert codes(replace(OK_CTX, journal_refs=frozenset({"a1b2"}))) == {GuardCode.DUPLICATE}
    assert codes(replace(OK_CTX, broker_open_refs=frozenset({"a1b2"}))) == {GuardCode.DUPLICATE}
    busy = replace(OK_CTX, busy_leg_keys=frozenset({"VIX 2026-12-16 20 C"}))
    assert codes(busy) == {GuardCode.LEGS_BUSY}


def test_a_family_with_a_working_order_gets_no_new_order() -> None:
    """A VIX spread order still working blocks another VIX spread (other strikes), not a
    diagonal: its cover is not in the positions the new proposal was sized on."""
    vix_busy = replace(OK_CTX, busy_kinds=frozenset({"VIX_CALL_SPREAD"}))
    assert codes(vix_busy) == {GuardCode.FAMILY_BUSY}
    diagonal = replace(INTENT, kind="SPX_PUT_DIAGONAL", leg_keys=("SPXW 2026-12-31 5500 P",))
    assert codes(vix_busy, intent=diagonal) == set()


def test_every_refusal_is_reported_together() -> None:
    """Several failing guards are all named, so the journal explains the whole refusal."""
    ctx = replace(OK_CTX, kill_switch_on=True, orders_today=9, is_paper=False)
    assert codes(ctx) == {
        GuardCode.KILL_SWITCH,
        GuardCode.MAX_ORDERS_PER_DAY,
        GuardCode.LIVE_ACCOUNT,
    }
