"""Alerts a trader can act on: once per decision, again only after a while, withdrawn
when the decision goes away, and all of it surviving a restart.

A *decision* is what a trader would call one: the action on one hedge. For a held hedge
(add, reduce, close, roll) that is the action and the hedge's id; for a new one (open),
the action, the hedge kind and the legs' expiries (with an ordinal when a cycle opens two
of the same). Not the strikes, the quantity or the trading day that adjustment ids carry:
the optimiser moving to a neighbouring strike from one cycle to the next (which it does,
the candidates being nearly equivalent) is the same decision, not a withdrawal and a new
proposal each cycle, and a proposal standing overnight is one decision. The quantity
matters only when it moves by at least ``alerts.realert_change_frac`` of the quantity
last alerted: then it is alerted again, saying what it was. Each alert carries the
current strikes and price; the debug line and the journal have every cycle's.

Per cycle that reached a proposal (``proposals``):
- a decision not standing: ``adjustment_proposed`` (published to every notifier);
- standing, last alerted less than ``alerts.repeat_after_min`` ago: a debug-level
  ``adjustment_still_proposed`` with the count of cycles it has been seen;
- standing for longer: ``adjustment_proposed`` again, with ``repeat`` and since when;
- standing but absent from a cycle that evaluated the whole book (status ``ok``, a
  proposal made): ``adjustment_withdrawn``. A cycle that could not decide (bad data, too
  few signals) withdraws nothing: its silence is not a decision.

Submit mode refusals (a guard says no, every cycle) follow the same rule, keyed by the
decision and the guards that refused it. Skipped cycles alert ``cycles_failing`` once, then
``cycles_recovered``; a broker connection lost for ``alerts.broker_disconnected_after_min``
alerts ``broker_disconnected``, then ``broker_connection_restored``.

What stands is kept in the journal's ``alerts`` table (schema v2), so a restarted daemon
knows what it already said.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from apscheduler.events import JobSubmissionEvent

from daemon.core.broker import ConnectionState
from daemon.core.calendar import NY
from daemon.core.evaluate import CycleResult, CycleStatus
from daemon.core.proposal import Adjustment, AdjustmentAction, ProposalStatus
from daemon.runtime.journal_port import Journal, JournalWriteFailed
from daemon.runtime.notify.fanout import Fanout
from daemon.runtime.notify.lines import adjustment_fields, adjustment_line
from daemon.runtime.notify.params import AlertParams
from daemon.runtime.notify.port import Level, Notification, NotifyEvent

log = structlog.get_logger("alvh.alerts")


def _anchor(adj: Adjustment) -> str:
    """What the decision is about: the held hedge, or for an open the kind's expiries."""
    if adj.action is AdjustmentAction.OPEN:
        expiries = sorted({str(leg.contract.expiry) for leg in adj.legs})
        return f"new {','.join(expiries)}"
    return adj.structure_key.split(" -> ")[0]  # a roll's key: "<held id> -> <successor>"


def decision_keys(adjustments: Sequence[Adjustment]) -> list[str]:
    """One key per adjustment (module docstring), in the order given."""
    seen: Counter[tuple[str, str, str]] = Counter()
    keys = []
    for adj in adjustments:
        base = (adj.action.value, adj.kind.value, _anchor(adj))
        text = json.dumps([*base, seen[base]])
        seen[base] += 1
        keys.append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return keys


def _moved(quantity: int, alerted: int, frac: float) -> bool:
    return abs(quantity - alerted) >= max(1.0, frac * alerted)


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(NY):%d-%b %H:%M} ET"


class Seen(StrEnum):
    NEW = "new"
    REPEAT = "repeat"
    STILL = "still"


@dataclass
class _Row:
    key: str
    kind: str
    subject_id: str | None
    line: str
    first_alerted_at: datetime
    last_alerted_at: datetime
    last_seen_at: datetime
    times_seen: int
    detail: dict[str, Any]

    @classmethod
    def from_journal(cls, row: dict[str, Any]) -> _Row:
        return cls(
            row["alert_key"],
            row["kind"],
            row["subject_id"],
            row["line"],
            datetime.fromisoformat(row["first_alerted_at"]),
            datetime.fromisoformat(row["last_alerted_at"]),
            datetime.fromisoformat(row["last_seen_at"]),
            int(row["times_seen"]),
            dict(json.loads(row["detail_json"])),
        )

    def to_journal(self) -> dict[str, Any]:
        return {
            "alert_key": self.key,
            "kind": self.kind,
            "subject_id": self.subject_id,
            "line": self.line,
            "first_alerted_at": self.first_alerted_at.isoformat(),
            "last_alerted_at": self.last_alerted_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "times_seen": self.times_seen,
            "detail_json": json.dumps(self.detail, sort_keys=True, default=str),
        }


class _Standing:
    """The standing alerts of one kind, mirrored from the journal and written back."""

    def __init__(self, journal: Journal, kind: str, repeat_after: timedelta) -> None:
        self._journal = journal
        self.kind = kind
        self._repeat_after = repeat_after
        self.rows = {r.key: r for r in map(_Row.from_journal, journal.active_alerts(kind))}
        self._unsaved_ended: list[str] = []

    def see(
        self, key: str, subject_id: str | None, line: str, detail: dict[str, Any], now: datetime
    ) -> tuple[Seen, _Row]:
        row = self.rows.get(key)
        if row is None:
            row = _Row(key, self.kind, subject_id, line, now, now, now, 1, detail)
            self.rows[key] = row
            return Seen.NEW, row
        row.subject_id, row.line, row.detail = subject_id, line, detail
        row.times_seen += 1
        row.last_seen_at = now
        if now - row.last_alerted_at >= self._repeat_after:
            row.last_alerted_at = now
            return Seen.REPEAT, row
        return Seen.STILL, row

    def realert(self, row: _Row, now: datetime) -> Seen:
        """``row`` changed enough to be alerted now (the repeat clock starts again)."""
        row.last_alerted_at = now
        return Seen.REPEAT

    def end(self, keys: Sequence[str]) -> list[_Row]:
        return [self.rows.pop(k) for k in keys if k in self.rows]

    def save(self, ended: Sequence[_Row], now: datetime) -> None:
        """Write the standing rows back. A journal that refuses the write (disk full) does
        not stop the alerts: they went out; the rows, and the ends not yet written, are
        written with the next save that goes through."""
        self._unsaved_ended.extend(r.key for r in ended)
        ended_keys = [k for k in dict.fromkeys(self._unsaved_ended) if k not in self.rows]
        try:
            self._journal.record_alerts(
                [r.to_journal() for r in self.rows.values()], ended_keys, now=now
            )
        except JournalWriteFailed as exc:
            log.error("alerts_not_journalled", kind=self.kind, reason=str(exc))
            return
        self._unsaved_ended = []


class DecisionAlerts:
    def __init__(self, journal: Journal, notifier: Fanout, params: AlertParams) -> None:
        self.notifier = notifier
        self._params = params
        repeat = timedelta(minutes=params.repeat_after_min)
        self._proposals = _Standing(journal, "proposal", repeat)
        self._refusals = _Standing(journal, "refusal", repeat)
        self._failures = _Standing(journal, "cycle", repeat)
        self._ever_connected = False
        self._down_since: datetime | None = None
        self._down_alerted = False

    def publish(
        self, event: NotifyEvent, line: str, at: datetime, level: Level = "info", **fields: Any
    ) -> None:
        self.notifier.publish(Notification(event, line, at, level, fields))

    # ---- proposals --------------------------------------------------------------------------
    def proposals(self, result: CycleResult) -> None:
        now, standing = result.now, self._proposals
        present: set[str] = set()
        for adj, key in zip(result.adjustments, decision_keys(result.adjustments), strict=True):
            present.add(key)
            line = adjustment_line(adj)
            fields = adjustment_fields(adj)
            before = standing.rows.get(key)
            alerted = (
                adj.quantity
                if before is None
                else before.detail.get("alerted_quantity", adj.quantity)
            )
            detail = {"adjustment_id": adj.id, "alerted_quantity": alerted}
            seen, row = standing.see(key, adj.id, line, detail, now)
            if seen is Seen.STILL and _moved(
                adj.quantity, alerted, self._params.realert_change_frac
            ):
                standing.realert(row, now)
                line = f"{line}  (was {alerted})"
                fields |= {"changed_from": alerted}
            elif seen is Seen.STILL:
                log.debug("adjustment_still_proposed", line=line, count=row.times_seen, **fields)
                continue
            elif seen is Seen.REPEAT:
                line = f"{line}  (proposed since {_stamp(row.first_alerted_at)})"
                fields |= {"repeat": True, "since": row.first_alerted_at.isoformat()}
            row.detail["alerted_quantity"] = adj.quantity
            self.publish(NotifyEvent.ADJUSTMENT_PROPOSED, line, now, decision=key, **fields)
        ended: list[_Row] = []
        if _decided(result):
            ended = standing.end([k for k in standing.rows if k not in present])
        for row in ended:
            self.publish(
                NotifyEvent.ADJUSTMENT_WITHDRAWN,
                f"WITHDRAWN {row.line}",
                now,
                adjustment_id=row.subject_id,
                decision=row.key,
                proposed_at=row.first_alerted_at.isoformat(),
                cycles_seen=row.times_seen,
            )
        standing.save(ended, now)

    # ---- submit mode: refusals ----------------------------------------------------------
    def refusals(self, refused: Sequence[tuple[Adjustment, Sequence[str]]], now: datetime) -> None:
        """This cycle's refused adjustments with the guards that refused each; a refusal
        no longer repeated ends quietly (the decision went away or an order went out)."""
        present: set[str] = set()
        adjustments = [adj for adj, _ in refused]
        refusal_keys = dict(
            zip((a.id for a in adjustments), decision_keys(adjustments), strict=True)
        )
        for adj, guards in refused:
            key = f"{refusal_keys[adj.id]}:{'|'.join(sorted(guards))}"
            present.add(key)
            line = f"REFUSED {adjustment_line(adj)}  [{'; '.join(guards)}]"
            seen, row = self._refusals.see(key, adj.id, line, {"guards": list(guards)}, now)
            if seen is Seen.STILL:
                log.debug("order_still_refused", adjustment_id=adj.id, count=row.times_seen)
                continue
            self.publish(
                NotifyEvent.ORDER_REFUSED, line, now, "warning", adjustment_id=adj.id, guards=guards
            )
        ended = self._refusals.end([k for k in self._refusals.rows if k not in present])
        self._refusals.save(ended, now)

    # ---- cycles and the connection --------------------------------------------------------
    def cycle(self, *, skipped: bool, reason: str, now: datetime, cycle_id: str) -> None:
        """After each cycle: a skipped one alerts once (then after the repeat interval),
        the first good one after it says the daemon recovered."""
        standing = self._failures
        if skipped:
            seen, row = standing.see("cycle", cycle_id, reason, {}, now)
            if seen is Seen.STILL:
                log.debug("cycle_still_failing", count=row.times_seen, reason=reason)
            else:
                line = f"CYCLE FAILED ({row.times_seen} in a row): {reason}"
                self.publish(NotifyEvent.CYCLE_FAILED, line, now, "error", reason=reason)
            standing.save([], now)
            return
        ended = standing.end(["cycle"])
        for row in ended:
            line = f"cycles running again after {row.times_seen} failed (last: {row.line})"
            self.publish(NotifyEvent.CYCLE_RECOVERED, line, now, failed_cycles=row.times_seen)
        if ended:
            standing.save(ended, now)

    def connection(self, state: ConnectionState, now: datetime) -> None:
        """Called on each heartbeat: a connection down for long enough is alerted once."""
        if state is ConnectionState.CONNECTED:
            if self._down_alerted and self._down_since is not None:
                minutes = (now - self._down_since).total_seconds() / 60
                line = f"broker reconnected after {minutes:.0f} min"
                self.publish(NotifyEvent.BROKER_RESTORED, line, now, down_min=round(minutes))
            self._ever_connected, self._down_since, self._down_alerted = True, None, False
            return
        if not self._ever_connected:  # never connected yet: nothing was lost
            return
        if self._down_since is None:
            self._down_since = now
        limit = timedelta(minutes=self._params.broker_disconnected_after_min)
        if not self._down_alerted and now - self._down_since >= limit:
            self._down_alerted = True
            line = f"BROKER DISCONNECTED since {_stamp(self._down_since)}"
            self.publish(NotifyEvent.BROKER_DISCONNECTED, line, now, "error", state=state.value)


def _decided(result: CycleResult) -> bool:
    """Did this cycle see the whole book and decide (so a missing proposal is withdrawn)?"""
    proposal = result.proposal
    return (
        result.status is CycleStatus.OK
        and proposal is not None
        and proposal.status is not ProposalStatus.INSUFFICIENT_DATA
    )


def overrun_listener(
    alerts: DecisionAlerts, clock: Callable[[], datetime]
) -> Callable[[JobSubmissionEvent], None]:
    """An APScheduler listener (``EVENT_JOB_MAX_INSTANCES``): a run skipped because the
    last one is still going becomes a ``cycle_overrun`` notification (``daemon.logs``
    drops the library's own unstructured warning). The scheduler's run times are
    wall-clock instants (under the simulator they are not market time), so they are given
    in UTC and named so; the notification's time is the market's."""

    def on_overrun(event: JobSubmissionEvent) -> None:
        times = [t.astimezone(UTC).isoformat() for t in event.scheduled_run_times]
        line = f"{event.job_id} run skipped: the previous one is still running"
        alerts.publish(
            NotifyEvent.CYCLE_OVERRUN,
            line,
            clock(),
            "warning",
            job=event.job_id,
            scheduled_wall_utc=times,
        )

    return on_overrun
