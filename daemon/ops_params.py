"""The supervision sections of the config: the HTTP endpoint and the health rules.

Kept apart from ``daemon.config`` (which composes them into ``AppConfig`` and re-exports
them) so each file fits one idea; the rules that read them are in
``daemon.runtime.health`` and ``daemon.runtime.http``.
"""

from __future__ import annotations

import ipaddress
from typing import Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from daemon.core.params import Section


class HttpParams(Section):
    """The health and metrics endpoint (``/healthz``, ``/metrics``)."""

    # Declared first: the host check below reads them.
    allow_non_loopback: bool = False
    port: int = Field(9321, ge=0, le=65535)  # 0 = no HTTP server
    # An IP address (or "localhost"); a non-loopback one needs allow_non_loopback.
    host: str = Field("127.0.0.1", min_length=1, max_length=253)

    @field_validator("host")
    @classmethod
    def _loopback_unless_allowed(cls, host: str, info: ValidationInfo) -> str:
        allowed = info.data.get("allow_non_loopback", False)
        if info.data.get("port", 1) and not allowed and not is_loopback(host):
            raise ValueError(
                f"{host!r} is not a loopback address (127.0.0.0/8, ::1, localhost); "
                "set http.allow_non_loopback: true to serve beyond this machine"
            )
        return host


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback IP literals; a name other than localhost is not
    resolved (what it resolves to may change), so it never counts as loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HealthParams(Section):
    """When ``/healthz`` (and the container's HEALTHCHECK) says unhealthy."""

    # Real seconds the broker may stay disconnected (reconnecting) before health fails.
    max_disconnected_s: float = Field(300.0, ge=1, le=86_400)
    # During a session, health fails once this many scheduled cycles in a row are missing.
    max_missed_cycles: int = Field(2, ge=0, le=100)
    # Real seconds between scheduler liveness beats (health, systemd watchdog).
    beat_interval_s: float = Field(5.0, ge=0.1, le=600)
    # Real seconds without a beat after which the scheduler counts as stuck.
    scheduler_stale_s: float = Field(30.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _stale_after_beats(self) -> Self:
        if self.scheduler_stale_s < 2 * self.beat_interval_s:
            raise ValueError(
                f"scheduler_stale_s ({self.scheduler_stale_s}) must be >= 2 x "
                f"beat_interval_s ({self.beat_interval_s}): one late beat is not a hang"
            )
        return self
