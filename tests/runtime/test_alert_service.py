"""The running daemon (in process, simulated market) with a loopback webhook as its
notification target and the status page mounted: started, each decision once, the
post-close summary, stopped; the page serves the standing proposals while it runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from daemon.runtime.app import build_app
from daemon.runtime.service import Service
from daemon.runtime.status_page import page_sources, status_routes
from tests.runtime.test_ops_service import _config, _until
from tests.runtime.webhook import webhook


def test_the_daemon_notifies_once_per_decision_and_serves_its_page(tmp_path: Path) -> None:
    """Webhook: daemon_started first, one adjustment_proposed per decision the journal
    holds, the session summary, daemon_stopped last; GET / lists the standing proposals."""
    config = _config(tmp_path)
    config = config.model_copy(
        update={"alerts": config.alerts.model_copy(update={"repeat_after_min": 7 * 24 * 60})}
    )
    with webhook() as hook:

        async def body() -> tuple[list[str], str, list[str]]:
            app = build_app(config, env={"ALVH_NOTIFY_URLS": hook.url()})
            service = Service(app, env={})
            assert service.supervision.http is not None
            service.supervision.http.port = 0
            service.supervision.add_routes(status_routes(page_sources(app, service.status)))
            running = asyncio.create_task(service.run())
            await _until("three cycles", lambda: service.cycles_run >= 3)
            url = f"http://127.0.0.1:{service.supervision.http.port}/"
            async with aiohttp.ClientSession() as client, client.get(url) as reply:
                assert reply.status == 200
                page = await reply.text()
            standing = [a["line"] for a in app.journal.active_alerts("proposal")]
            await service._summary()
            service.request_stop("test")
            assert await running == 0
            return standing, page, [m["title"] for m in hook.received]

        standing, page, titles = asyncio.run(body())
    assert standing, "the simulated book is under-hedged: something is proposed"
    for line in standing:
        assert line.split("  ")[0] in page  # the page shows each standing proposal
    assert titles[0] == "ALVH daemon started" and titles[-1] == "ALVH daemon stopped"
    assert "ALVH session summary" in titles
    proposed = titles.count("ALVH adjustment proposed")
    withdrawn = titles.count("ALVH adjustment withdrawn")
    # Each decision alerted once: the standing ones, and those withdrawn since.
    assert proposed == len(standing) + withdrawn
