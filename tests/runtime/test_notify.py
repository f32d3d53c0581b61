"""Notifications through apprise to a loopback webhook: delivered, filtered, rate-limited,
and a target that errors or hangs neither raises nor holds up the publisher."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from daemon.brokers.sim import SimBroker, SimClock
from daemon.errors import ConfigError
from daemon.logs import configure_logging
from daemon.runtime.alerts import DecisionAlerts
from daemon.runtime.executors import Executor, ProposeExecutor
from daemon.runtime.journal import SqliteJournal
from daemon.runtime.notify import Fanout, LogNotifier, Notification, NotifyEvent
from daemon.runtime.notify.apprise_sink import AppriseNotifier, build_fanout, read_urls
from daemon.runtime.notify.params import AlertParams, NotifyParams
from tests.runtime.alert_factories import T0, Recorder
from tests.runtime.engine_rig import open_rig
from tests.runtime.webhook import webhook

SECRET = "tok3n-SECRET-9f8e"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _note(
    event: NotifyEvent = NotifyEvent.ADJUSTMENT_PROPOSED, line: str = "OPEN 1 x"
) -> Notification:
    return Notification(event, line, T0, "info", {"adjustment_id": "abc"})


def test_a_notification_reaches_a_loopback_webhook() -> None:
    """json:// posts the title and the line with the market time; the log has it too."""
    with webhook() as hook:
        log_sink = Recorder()
        fanout = Fanout([log_sink, AppriseNotifier(hook.url(), 1)])

        async def body() -> None:
            fanout.publish(_note(line="OPEN 15 x VIX 20-Jan-27 22/31 call spread"))
            await fanout.close()

        asyncio.run(body())
        (message,) = hook.received
    assert message["title"] == "ALVH adjustment proposed"
    assert message["message"] == "OPEN 15 x VIX 20-Jan-27 22/31 call spread\nTue 24 Nov 10:05 ET"
    assert log_sink.events() == ["adjustment_proposed"]
    assert fanout.stats()["apprise-1:json"]["sent"] == 1


def test_only_the_configured_events_go_out_but_the_log_has_all() -> None:
    """An event left out of notify.events stays in the log and never reaches the target."""
    with webhook() as hook:
        log_sink = Recorder()
        fanout = Fanout(
            [log_sink, AppriseNotifier(hook.url(), 1)], events=[NotifyEvent.ORDER_FILLED]
        )

        async def body() -> None:
            fanout.publish(_note(NotifyEvent.ADJUSTMENT_PROPOSED, "proposed"))
            fanout.publish(_note(NotifyEvent.ORDER_FILLED, "filled"))
            await fanout.close()

        asyncio.run(body())
        assert [m["message"].splitlines()[0] for m in hook.received] == ["filled"]
    assert log_sink.events() == ["adjustment_proposed", "order_filled"]


def test_a_failing_target_is_counted_and_logged_without_its_url() -> None:
    """HTTP 500: the publisher is not told, the failure is counted, no log line has the token."""
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    with webhook(status=500) as hook:
        fanout = Fanout([AppriseNotifier(hook.url(f"hook/{SECRET}"), 1)])

        async def body() -> None:
            fanout.publish(_note())
            await fanout.close()

        asyncio.run(body())
        assert hook.paths == [f"/hook/{SECRET}"]
    assert fanout.stats()["apprise-1:json"] == {
        "sent": 0,
        "failed": 1,
        "timed_out": 0,
        "rate_limited": 0,
        "dropped": 0,
    }
    assert '"notify_failed"' in stream.getvalue()
    assert SECRET not in stream.getvalue()


def test_a_hanging_target_does_not_hold_up_the_publisher() -> None:
    """The target never answers: publish returns while the request is still open, the
    delivery is abandoned at timeout_s and counted; the next one still goes out."""
    release = threading.Event()
    with webhook(release=release) as hook:
        fanout = Fanout([AppriseNotifier(hook.url(), 1)], timeout_s=0.5)

        async def body() -> None:
            fanout.publish(_note(line="first"))
            # publish has returned; the worker now waits on the hanging request.
            await asyncio.to_thread(hook.arrived.wait, 30)
            assert not release.is_set() and len(hook.received) == 1
            await fanout.close(within_s=30)
            assert fanout.stats()["apprise-1:json"]["timed_out"] == 1
            release.set()
            hook.status = 200
            fanout.publish(_note(line="second"))
            await fanout.close(within_s=30)

        asyncio.run(body())
        assert [m["message"].splitlines()[0] for m in hook.received] == ["first", "second"]
    assert fanout.stats()["apprise-1:json"]["sent"] == 1


def test_the_rate_limit_drops_and_then_says_how_many() -> None:
    """max_per_hour=2: the third and fourth are dropped and counted; an hour on, the next
    message says two were not sent."""
    now = [0.0]
    with webhook() as hook:
        fanout = Fanout([AppriseNotifier(hook.url(), 1)], max_per_hour=2, monotonic=lambda: now[0])

        async def body() -> None:
            for n in range(4):
                fanout.publish(_note(line=f"m{n}"))
            now[0] = 3600.0
            fanout.publish(_note(line="m4"))
            await fanout.close()

        asyncio.run(body())
        lines = [m["message"].splitlines()[0] for m in hook.received]
    assert lines == ["m0", "m1", "m4  (2 earlier message(s) not sent: rate limit)"]
    assert fanout.stats()["apprise-1:json"]["rate_limited"] == 2


def test_a_broken_inline_sink_is_contained() -> None:
    """A sink that raises is counted; the sinks after it still get the notification."""

    class Broken(Recorder):
        def send(self, note: Notification) -> None:
            raise RuntimeError("bug")

    after = Recorder(name="after")
    fanout = Fanout([Broken(name="broken"), after])
    fanout.publish(_note())
    assert after.events() == ["adjustment_proposed"]
    assert fanout.stats()["broken"]["failed"] == 1


def test_urls_come_from_the_environment_and_the_secrets_file(tmp_path: Path) -> None:
    """Both sources, in order; comments and blank lines skipped; one sink per URL."""
    secrets = tmp_path / "notify.urls"
    secrets.write_text("# ops phone\njson://127.0.0.1:1/b\n\n  ntfy://alvh-topic  \n")
    secrets.chmod(0o600)
    params = NotifyParams(urls_file=secrets)
    env = {"ALVH_NOTIFY_URLS": "json://127.0.0.1:1/a  json://127.0.0.1:1/c"}
    assert read_urls(params, env) == [
        "json://127.0.0.1:1/a",
        "json://127.0.0.1:1/c",
        "json://127.0.0.1:1/b",
        "ntfy://alvh-topic",
    ]
    fanout = build_fanout(params, env)
    assert fanout.sink_names == (
        "log",
        "apprise-1:json",
        "apprise-2:json",
        "apprise-3:json",
        "apprise-4:ntfy",
    )


def test_a_bad_url_or_missing_file_is_a_config_error_that_hides_the_url(tmp_path: Path) -> None:
    """The error names where and the scheme, never the URL (it may hold a token)."""
    with pytest.raises(ConfigError) as bad:
        build_fanout(NotifyParams(), {"ALVH_NOTIFY_URLS": f"nosuchscheme://{SECRET}"})
    assert "nosuchscheme" in str(bad.value) and SECRET not in str(bad.value)
    with pytest.raises(ConfigError) as missing:
        read_urls(NotifyParams(urls_file=tmp_path / "absent"), {})
    assert "notify.urls_file" in str(missing.value)


def test_a_cycle_does_not_wait_for_a_hanging_target(tmp_path: Path) -> None:
    """A propose cycle on the simulated market with a target that never answers: the cycle
    ends (journalled, ok) while its alerts' request is still held open by the target."""
    release = threading.Event()
    with webhook(release=release) as hook:
        fanout = Fanout([LogNotifier(), AppriseNotifier(hook.url(), 1)], timeout_s=0.5)

        def propose(_b: SimBroker, journal: SqliteJournal, _c: SimClock) -> Executor:
            return ProposeExecutor(DecisionAlerts(journal, fanout, AlertParams()))

        async def body() -> None:
            rig = await open_rig(tmp_path / "j.sqlite", executor=propose)
            try:
                outcome = await rig.cycle()
                assert outcome.status == "ok" and outcome.executions, outcome.reason
                await asyncio.to_thread(hook.arrived.wait, 30)
                assert not release.is_set()  # the cycle returned before any reply
                assert [r["cycle_id"] for r in rig.journal.recent_cycles()] == [outcome.cycle_id]
                await fanout.close(within_s=30)
            finally:
                await rig.close()

        asyncio.run(body())
    assert fanout.stats()["apprise-1:json"]["timed_out"] >= 1


def test_a_fifo_or_device_as_the_urls_file_is_refused_at_once(tmp_path: Path) -> None:
    """A FIFO or /dev/zero given as the secrets file is refused (naming notify.urls_file)
    without reading: read whole, either would hang the start-up or fill memory."""
    fifo = tmp_path / "urls.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(ConfigError) as refused:
            read_urls(NotifyParams(urls_file=path), {})
        assert "notify.urls_file" in str(refused.value)
        assert "regular file" in str(refused.value)


def test_each_sink_failure_is_logged_by_name_and_the_other_sinks_still_deliver() -> None:
    """One inline and one remote sink raise: each is logged ``notify_failed`` with its
    name and the error's type, and the log sink and the healthy remote sink still get it."""

    class Broken(Recorder):
        def send(self, note: Notification) -> None:
            raise RuntimeError("bug")

    remote_ok = Recorder(name="remote-ok", off_path=True)
    fanout = Fanout(
        [
            Broken(name="inline-broken"),
            LogNotifier(),
            Broken(name="remote-broken", off_path=True),
            remote_ok,
        ]
    )

    async def body() -> None:
        fanout.publish(_note())
        await fanout.close()

    with structlog.testing.capture_logs() as logs:
        asyncio.run(body())
    failed = [(e["sink"], e["error"]) for e in logs if e["event"] == "notify_failed"]
    assert sorted(failed) == [("inline-broken", "RuntimeError"), ("remote-broken", "RuntimeError")]
    assert [e["event"] for e in logs].count("adjustment_proposed") == 1  # the log sink
    assert remote_ok.events() == ["adjustment_proposed"]
    assert fanout.stats()["remote-broken"]["failed"] == 1
    assert fanout.stats()["remote-ok"]["sent"] == 1
