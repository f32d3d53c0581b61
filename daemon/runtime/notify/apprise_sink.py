"""Remote notifications through apprise: Telegram, Slack, Discord, e-mail, ntfy,
Pushover, webhooks... one apprise URL per target (https://github.com/caronc/apprise/wiki).

Where the URLs come from, never the YAML (they hold tokens):
- ``ALVH_NOTIFY_URLS``: URLs separated by white space (a systemd ``EnvironmentFile``);
- ``notify.urls_file``: a file of URLs, one per line, ``#`` comments allowed (a Docker or
  systemd credential). A file others may read is used, with a warning.

Each URL is a sink of its own (``apprise-1:tgram``: its position and scheme, never the
rest of the URL), so one dead target neither hides nor delays the others.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from typing import Any

import structlog

from daemon.config_file import read_config_text
from daemon.core.calendar import NY
from daemon.errors import ConfigError
from daemon.runtime.notify.fanout import Fanout
from daemon.runtime.notify.log_sink import LogNotifier
from daemon.runtime.notify.params import NotifyParams
from daemon.runtime.notify.port import Notification, Notifier

log = structlog.get_logger("alvh.notify")

URLS_ENV_VAR = "ALVH_NOTIFY_URLS"


class DeliveryFailed(Exception):
    """Apprise said the target did not take the message (its reason is in no log)."""


def _scheme(url: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return match.group(1).lower() if match else "?"


class AppriseNotifier:
    off_path = True

    def __init__(self, url: str, position: int) -> None:
        import apprise  # here: a daemon without notification targets never loads it

        self.name = f"apprise-{position}:{_scheme(url)}"
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ConfigError.single(
                "notify",
                f"notification URL #{position} (scheme '{_scheme(url)}') is not one apprise "
                "can use; see https://github.com/caronc/apprise/wiki",
                value="(hidden: it may hold a token)",
            )

    def send(self, note: Notification) -> None:
        title = f"ALVH {note.event.value.replace('_', ' ')}"
        body = f"{note.line}\n{note.at.astimezone(NY):%a %d %b %H:%M} ET"
        if not self._apprise.notify(body=body, title=title):
            raise DeliveryFailed(self.name)


def read_urls(params: NotifyParams, env: Mapping[str, str]) -> list[str]:
    """Every URL from the environment and the secrets file, in that order."""
    urls = env.get(URLS_ENV_VAR, "").split()
    path = params.urls_file
    if path is None:
        return urls
    try:
        # The config's bounded reader: a regular file of kilobytes, never a FIFO or a device
        # (read whole, either would hang or fill memory before the first cycle).
        text = read_config_text(path)
        mode = path.stat().st_mode
    except ConfigError as exc:
        why = "; ".join(p.message for p in exc.problems)
        raise ConfigError.single("notify.urls_file", why, value=str(path)) from None
    except OSError as exc:
        raise ConfigError.single(
            "notify.urls_file", f"cannot read it: {exc.strerror}", value=str(path)
        ) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("notify_urls_file_open_to_others", path=str(path), mode=oct(mode & 0o777))
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            urls.append(line)
    return urls


def build_fanout(params: NotifyParams, env: Mapping[str, str], **kwargs: Any) -> Fanout:
    """The log, then one apprise sink per configured URL."""
    sinks: list[Notifier] = [LogNotifier()]
    sinks += [AppriseNotifier(url, i) for i, url in enumerate(read_urls(params, env), start=1)]
    return Fanout(
        sinks,
        events=params.events,
        timeout_s=params.timeout_s,
        max_per_hour=params.max_per_hour,
        **kwargs,
    )
