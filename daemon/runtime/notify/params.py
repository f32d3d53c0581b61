"""The ``alerts`` and ``notify`` config sections (see config/default.yaml for each key).

Notification targets are secrets (a Telegram bot token, a Slack webhook): they never
appear here. ``notify.urls_file`` names a file that holds them, and the environment
variable ``ALVH_NOTIFY_URLS`` may hold more; see ``daemon.runtime.notify.apprise_sink``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from daemon.core.params import Section
from daemon.runtime.notify.port import DEFAULT_REMOTE_EVENTS, NotifyEvent


class AlertParams(Section):
    # An unchanged proposal (or refusal, or failing cycle) is alerted again after this.
    repeat_after_min: int = Field(120, ge=1, le=7 * 24 * 60)
    # A standing proposal whose quantity moves by at least this fraction of the quantity
    # last alerted is alerted again (a change of strikes alone is not).
    realert_change_frac: float = Field(0.25, gt=0, le=10)
    # A broker connection lost for this long is alerted (a short IB reset is not).
    broker_disconnected_after_min: int = Field(10, ge=1, le=24 * 60)
    # Sessions of the scalar's history plotted on the status page (GET / on the http port).
    page_history_sessions: int = Field(5, ge=1, le=60)


class NotifyParams(Section):
    # A file of apprise URLs, one per line ("" = none). Keep it readable by the daemon only.
    urls_file: Path | None = None
    # Which events go to the remote targets (the log always gets every event).
    events: tuple[NotifyEvent, ...] = DEFAULT_REMOTE_EVENTS
    # Seconds one delivery may take before it is abandoned (and counted as failed).
    timeout_s: float = Field(10.0, gt=0, le=120)
    # At most this many messages per hour per target; the rest are dropped and counted.
    max_per_hour: int = Field(30, ge=1, le=3600)
