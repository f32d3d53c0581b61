"""The journal port: the SQLite journal implements it, the runtime asks for it, and the
enums that replaced the runtime's strings keep the text the journal and the logs held."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import pytest

from daemon.commands import _rows
from daemon.core.broker import OrderStatus
from daemon.core.evaluate import CycleStatus
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.engine import SKIPPED, Engine
from daemon.runtime.executors import ExecutionOutcome
from daemon.runtime.follow import OrderFollower
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.journal_port import (
    TERMINAL_ORDER_STATUSES,
    Journal,
    JournalOrderStatus,
    JournalReader,
)
from daemon.runtime.submit import SubmitExecutor

_PROPERTIES = {"writable", "last_write_error", "write_failures"}


def _members(port: type) -> set[str]:
    return {
        name
        for klass in port.__mro__
        if klass not in (object, typing.Protocol, typing.Generic)
        for name in vars(klass)
        if not name.startswith("_")
    }


def test_the_sqlite_journal_has_every_port_member_with_its_signature(tmp_path: Path) -> None:
    """Each method of ``Journal`` is on ``SqliteJournal`` with the same parameters (names,
    kinds, defaults), and each property is an attribute of an open journal."""
    journal = SqliteJournal.open(tmp_path / "j.sqlite")
    try:
        members = _members(Journal)
        assert members >= _PROPERTIES | {"record_order_state", "open_orders", "close"}
        for name in sorted(members - _PROPERTIES):
            want = inspect.signature(getattr(Journal, name)).parameters
            have = inspect.signature(getattr(SqliteJournal, name)).parameters
            shape = [(p.name, p.kind, p.default) for p in want.values()]
            assert [(p.name, p.kind, p.default) for p in have.values()] == shape, name
        for name in _PROPERTIES:
            assert hasattr(journal, name), name
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("where", "port"),
    [
        (Engine.__init__, Journal),
        (SubmitExecutor.__init__, Journal),
        (OrderFollower.__init__, Journal),
        (DecisionAlerts.__init__, Journal),
        (_rows, JournalReader),
    ],
)
def test_the_runtime_takes_the_port_not_the_sqlite_class(where: object, port: type) -> None:
    """The engine, the executors, the follower, the alerts and the commands ask for the
    port, so another journal is a new class, not an edit of each of them."""
    assert typing.get_type_hints(where)["journal"] is port


def test_order_statuses_keep_the_text_the_journal_stored() -> None:
    """A broker state is stored under its member name, as ``state.status.name`` did; the
    daemon's own states and the terminal set are the hand-listed strings of schema v1."""
    for status in OrderStatus:
        assert JournalOrderStatus.of(status) == status.name
    assert {s.value for s in JournalOrderStatus} == {
        "INTENT", "PENDING_SUBMIT", "SUBMITTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED",
        "REJECTED", "REPRICING", "UNKNOWN", "ENDED_UNSEEN",
    }  # fmt: skip
    assert set(TERMINAL_ORDER_STATUSES) == {"FILLED", "CANCELLED", "REJECTED", "ENDED_UNSEEN"}
    assert [s for s in JournalOrderStatus if s.is_terminal] == list(TERMINAL_ORDER_STATUSES)
    # The broker's terminal states are the journal's terminal states.
    for status in OrderStatus:
        assert JournalOrderStatus.of(status).is_terminal == status.is_terminal


def test_outcomes_keep_the_text_of_the_journal_and_the_metrics() -> None:
    """Execution outcomes and the engine's skip read as the strings they replaced."""
    assert [o.value for o in ExecutionOutcome] == [
        "proposed", "refused", "submitted", "rejected", "unknown",
    ]  # fmt: skip
    assert SKIPPED == "skipped" and SKIPPED not in {s.value for s in CycleStatus}
