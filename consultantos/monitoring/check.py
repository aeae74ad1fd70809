"""Check one monitor: fetch its source, compare with what was seen before, store what changed.

A check may run twice (a redelivered task), concurrently with another check of the same monitor
(a scheduled one and a forced one), or die half-way. It stays correct because:

- the snapshot carries the check id (unique): a check that finds its own snapshot returns it;
- a lease on the monitor row (`lease.py`) keeps two different checks from fetching the same
  source at once; it is released when the check ends, and expires if a worker died holding it;
- the snapshot, its alerts and the lease release are written in one short transaction, after
  the fetch: no transaction is open while the network is slow;
- alerts are unique per (monitor, dedupe key): racing checks cannot make the same alert twice.

Transient source failures are observations (a snapshot with ok=False, maybe a source_down
alert), not errors; permanent ones (4xx, unusable content) are raised and store nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultantos.config import Settings, get_settings
from consultantos.db import session_scope
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import Alert, MonitorStatus, Snapshot, SourceType, utcnow
from consultantos.errors import InvalidArguments, SourceUnavailable
from consultantos.monitoring.anomaly_store import anomaly_changes
from consultantos.monitoring.compare import Change, Observation, Subject, compare, content_hash
from consultantos.monitoring.extract import extract
from consultantos.monitoring.fetch import FetchResult, fetch
from consultantos.monitoring.lease import release_lease, release_lease_quietly, take_lease
from consultantos.monitoring.monitors import get_monitor

CONTENT_TEXT_MAX_CHARS = 200_000
"""Text stored per snapshot; the content hash is always of the whole text."""
_STORE_ATTEMPTS = 3


class Fetcher(Protocol):
    """How a check gets a source's answer (`fetch`, or a stand-in that behaves the same)."""

    def __call__(self, url: str, *, settings: Settings | None = None) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What one call of check_monitor did."""

    monitor_id: str
    status: Literal["checked", "skipped"]
    reason: str | None = None
    """Why it was skipped, or 'already checked' when a redelivered check found its snapshot."""
    snapshot_id: int | None = None
    ok: bool | None = None
    """Whether the source answered usefully; None when skipped."""
    alert_ids: list[str] = field(default_factory=list)
    """Alerts stored with this check's snapshot, in creation order."""

    def as_dict(self) -> dict[str, Any]:
        """A small JSON-able dict (a task's return value)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Seen:
    observation: Observation
    response_time_ms: float | None


def check_monitor(
    *,
    monitor_id: str,
    check_id: str,
    force: bool = False,
    now: datetime | None = None,
    fetcher: Fetcher = fetch,
) -> CheckOutcome:
    """Check `monitor_id` once under the id `check_id` (the task id); safe to call again.

    `force` checks a paused monitor and ignores the duplicate window (not another check's
    lease). Raises NotFound, InvalidArguments, SourceRejected, SourceContentError (permanent)
    or DependencyUnavailable (our database is unreachable).
    """
    if not isinstance(check_id, str) or not check_id or len(check_id) > 64:
        raise InvalidArguments(f"check id must be a string of 1-64 characters, got {check_id!r}")
    if now is not None and now.tzinfo is None:
        raise InvalidArguments("now must be timezone-aware")
    settings = get_settings()
    when = now or utcnow()
    with database_unavailable_as_transient(f"checking monitor {monitor_id!r}"):
        return _check(monitor_id, check_id, force, when, fetcher, settings)


def _check(
    monitor_id: str,
    check_id: str,
    force: bool,
    now: datetime,
    fetcher: Fetcher,
    settings: Settings,
) -> CheckOutcome:
    with session_scope() as session:
        started = _start(session, monitor_id, check_id, force, now, settings)
    if isinstance(started, CheckOutcome):
        return started
    subject, selector = started
    try:
        seen = _observe(subject, selector, fetcher, settings)
        return _record(subject, check_id, now, seen)
    except BaseException:
        release_lease_quietly(monitor_id=monitor_id, check_id=check_id)
        raise


def _start(
    session: Session,
    monitor_id: str,
    check_id: str,
    force: bool,
    now: datetime,
    settings: Settings,
) -> CheckOutcome | tuple[Subject, str | None]:
    """Decide whether to check, and take the lease if so (one transaction)."""
    monitor = get_monitor(session=session, monitor_id=monitor_id)
    done = _recorded_outcome(session, monitor_id, check_id)
    if done is not None:
        return done
    if monitor.status == MonitorStatus.PAUSED and not force:
        return CheckOutcome(monitor_id=monitor_id, status="skipped", reason="paused")
    if not take_lease(
        session=session, monitor_id=monitor_id, check_id=check_id, now=now, settings=settings
    ):
        return CheckOutcome(
            monitor_id=monitor_id, status="skipped", reason="another check is in progress"
        )
    if not force:
        # Read after taking the lease: a check that finished just now is visible here.
        window = settings.duplicate_check_window * monitor.check_interval_seconds
        latest = session.scalar(
            select(Snapshot.checked_at)
            .where(Snapshot.monitor_id == monitor_id)
            .order_by(Snapshot.checked_at.desc(), Snapshot.id.desc())
            .limit(1)
        )
        if latest is not None and (age := (now - latest).total_seconds()) < window:
            session.rollback()  # gives the lease back
            return CheckOutcome(
                monitor_id=monitor_id,
                status="skipped",
                reason=f"duplicate: checked {max(age, 0):.0f} s ago",
            )
    subject = Subject(
        monitor_id=monitor.id,
        company=monitor.company,
        name=monitor.name,
        url=monitor.url,
        source_type=SourceType(monitor.source_type),
        change_threshold_pct=monitor.change_threshold_pct,
    )
    return subject, monitor.selector


def _observe(subject: Subject, selector: str | None, fetcher: Fetcher, settings: Settings) -> _Seen:
    """Fetch and extract; a transient failure is an observation, a permanent one is raised."""
    try:
        result = fetcher(subject.url, settings=settings)
    except SourceUnavailable as exc:
        return _Seen(
            Observation(ok=False, error=str(exc), http_status=exc.status_code),
            response_time_ms=None,
        )
    extracted = extract(result=result, source_type=subject.source_type, selector=selector)
    elapsed = round(result.elapsed_ms, 1)
    metrics = {
        **extracted.metrics,
        "http_status": float(result.status_code),
        "response_time_ms": elapsed,
    }
    observation = Observation(
        ok=True,
        content_hash=content_hash(extracted.text),
        content_text=extracted.text[:CONTENT_TEXT_MAX_CHARS],
        metrics=metrics,
        http_status=result.status_code,
    )
    return _Seen(observation, response_time_ms=elapsed)


def _record(subject: Subject, check_id: str, now: datetime, seen: _Seen) -> CheckOutcome:
    """Store snapshot and alerts and release the lease; on a lost race, return the winner's."""
    attempt = 1
    while True:
        try:
            with session_scope() as session:
                return _store(session, subject, check_id, now, seen)
        except IntegrityError:
            with session_scope() as session:
                done = _recorded_outcome(session, subject.monitor_id, check_id)
            if done is not None:
                return done  # a redelivered twin of this check stored it first
            if attempt >= _STORE_ATTEMPTS:
                raise
            # another check stored an alert with one of our keys: retry, skipping those keys
            attempt += 1


def _store(
    session: Session, subject: Subject, check_id: str, now: datetime, seen: _Seen
) -> CheckOutcome:
    monitor_id = subject.monitor_id
    get_monitor(session=session, monitor_id=monitor_id)  # NotFound if deleted meanwhile
    # Releasing first writes the monitor row, which locks it (the whole database on SQLite)
    # until commit: checks of one monitor store one after another, each reading the snapshots
    # stored before it, so two of them never compare against the same previous snapshot.
    release_lease(session=session, monitor_id=monitor_id, check_id=check_id)
    previous = session.scalar(
        select(Snapshot)
        .where(Snapshot.monitor_id == monitor_id)
        .order_by(Snapshot.checked_at.desc(), Snapshot.id.desc())
        .limit(1)
    )
    baseline = previous
    if previous is not None and not previous.ok:
        baseline = session.scalar(
            select(Snapshot)
            .where(Snapshot.monitor_id == monitor_id, Snapshot.ok.is_(True))
            .order_by(Snapshot.checked_at.desc(), Snapshot.id.desc())
            .limit(1)
        )
    current = seen.observation
    changes = compare(
        subject=subject,
        current=current,
        previous=None if previous is None else Observation.of_snapshot(previous),
        baseline=None if baseline is None else Observation.of_snapshot(baseline),
    )
    changes += anomaly_changes(
        session=session, subject=subject, current=current, at=now, baseline=baseline
    )
    changes = _not_yet_alerted(session, monitor_id, changes)
    snapshot = Snapshot(
        monitor_id=monitor_id,
        check_id=check_id,
        checked_at=now,
        ok=current.ok,
        http_status=current.http_status,
        response_time_ms=seen.response_time_ms,
        content_hash=current.content_hash,
        content_text=current.content_text,
        metrics=dict(current.metrics),
        error=current.error,
    )
    session.add(snapshot)
    session.flush()
    alerts = [
        Alert(
            monitor_id=monitor_id,
            snapshot_id=snapshot.id,
            kind=change.kind,
            dedupe_key=change.dedupe_key,
            title=change.title,
            details=change.details,
            # distinct timestamps keep creation order readable from the table
            created_at=now + timedelta(microseconds=index),
        )
        for index, change in enumerate(changes)
    ]
    session.add_all(alerts)
    session.flush()
    return CheckOutcome(
        monitor_id=monitor_id,
        status="checked",
        snapshot_id=snapshot.id,
        ok=current.ok,
        alert_ids=[alert.id for alert in alerts],
    )


def _not_yet_alerted(session: Session, monitor_id: str, changes: list[Change]) -> list[Change]:
    """Drop changes another check already stored an alert for (same monitor and key)."""
    if not changes:
        return changes
    taken = set(
        session.scalars(
            select(Alert.dedupe_key).where(
                Alert.monitor_id == monitor_id,
                Alert.dedupe_key.in_([change.dedupe_key for change in changes]),
            )
        )
    )
    return [change for change in changes if change.dedupe_key not in taken]


def _recorded_outcome(session: Session, monitor_id: str, check_id: str) -> CheckOutcome | None:
    """The outcome of this check id if its snapshot is already stored (a redelivery)."""
    snapshot = session.scalar(select(Snapshot).where(Snapshot.check_id == check_id))
    if snapshot is None:
        return None
    if snapshot.monitor_id != monitor_id:
        raise InvalidArguments(
            f"check id {check_id!r} was already used for monitor {snapshot.monitor_id!r}"
        )
    alert_ids = session.scalars(
        select(Alert.id)
        .where(Alert.snapshot_id == snapshot.id)
        .order_by(Alert.created_at, Alert.id)
    )
    return CheckOutcome(
        monitor_id=monitor_id,
        status="checked",
        reason="already checked",
        snapshot_id=snapshot.id,
        ok=snapshot.ok,
        alert_ids=list(alert_ids),
    )
