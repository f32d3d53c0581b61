"""The IB account id never reaches a log line whole, whatever logger emits it: the IB
client's own standard-library loggers print it inside their message text (issue 12,
item 13), where no key names it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from daemon.logs import configure_logging, mask_account_ids, mask_secrets

ACCOUNT = "DU1234567"
MASKED = "******567"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_ib_async_wrapper_lines_are_masked(fmt: str) -> None:
    """ib_async.wrapper's INFO lines (positions, portfolio, account values) carry the id
    in the message and its arguments: both come out masked, in either format."""
    stream = io.StringIO()
    configure_logging("info", fmt, stream)  # type: ignore[arg-type]
    wrapper = logging.getLogger("ib_async.wrapper")
    wrapper.info("position: Position(account='%s', contract=SPX, position=-10)", ACCOUNT)
    wrapper.info(f"updateAccountValue: {ACCOUNT} NetLiquidation 1000000 USD")
    logging.getLogger("ib_insync.client").warning("managed accounts: %s,U7654321", ACCOUNT)
    text = stream.getvalue()
    assert ACCOUNT not in text and "U7654321" not in text
    assert text.count(MASKED) == 3 and "*****321" in text


def test_structlog_strings_are_masked_wherever_the_id_sits() -> None:
    """A structlog event with the id inside a free-text value or the event name."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    structlog.get_logger("daemon.test").warning(f"login {ACCOUNT}", detail=f"acct={ACCOUNT};")
    assert ACCOUNT not in stream.getvalue() and stream.getvalue().count(MASKED) == 2


def test_a_traceback_through_a_stdlib_logger_is_masked() -> None:
    """An exception's text, logged with exc_info, is masked in the JSON line."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        raise RuntimeError(f"account {ACCOUNT} not found")
    except RuntimeError:
        logging.getLogger("ib_async.client").exception("request failed")
    assert ACCOUNT not in stream.getvalue() and MASKED in stream.getvalue()


@given(st.sampled_from(["U", "DU", "F", "DF"]), st.integers(1000, 10**12 - 1))
def test_every_ib_account_shape_is_masked_to_its_last_three(prefix: str, number: int) -> None:
    """Property: any IB-shaped id anywhere in a text keeps only its last three characters."""
    account = f"{prefix}{number}"
    out = mask_account_ids(f"x [{account}] y")
    assert account not in out and out == f"x [{'*' * (len(account) - 3)}{account[-3:]}] y"


def test_words_that_only_contain_the_shape_are_left_alone() -> None:
    """Not inside other words or numbers: SPX strikes, order ids, tickers stay readable."""
    text = "SPXW 2026-04-17 5025 P, order 12345, AUD1234567, U12"
    assert mask_account_ids(text) == text


def test_a_config_dump_is_masked_at_any_depth() -> None:
    """``mask_secrets`` on a config: the account key and any id in a string value."""
    config = {"broker": {"ib": {"account": ACCOUNT, "port": 4002}}, "note": f"for {ACCOUNT}"}
    assert mask_secrets(config) == {
        "broker": {"ib": {"account": MASKED, "port": 4002}},
        "note": f"for {MASKED}",
    }
