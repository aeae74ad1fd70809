"""Retention: delete what is older than RETENTION_DAYS, in small batches, while checks go on.

What goes, oldest first:

- snapshots checked before the cutoff, except the latest snapshot of each active monitor (a
  monitor's next check compares against it, however old it is);
- alerts created before the cutoff, with their alert deliveries; then alert messages made
  before the cutoff that are finished (delivered or failed) and carry no delivery any more;
- dead-letter entries that failed more than DEAD_LETTER_RETENTION_DAYS ago.

Daily rollups are never deleted: they are what remains of the deleted snapshots.

Every batch is its own short transaction of at most CLEANUP_BATCH_SIZE rows, so checks writing
at the same time wait for one batch at most (on SQLite, the database-wide write lock is held
for one batch; on PostgreSQL only the batch's rows are locked). The candidates of a batch are
chosen and deleted in the same transaction, so a snapshot that stops being the latest one, or an
alert that gains a delivery meanwhile, is judged on what is true at that moment. A run that is
interrupted keeps what it deleted; the next run goes on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, delete, exists, select, tuple_
from sqlalchemy.orm import Session, aliased

from consultantos.config import Settings, get_settings
from consultantos.db import session_scope
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import (
    Alert,
    AlertDelivery,
    AlertMessage,
    MessageStatus,
    Monitor,
    MonitorStatus,
    Snapshot,
    utcnow,
)
from consultantos.errors import InvalidArguments
from consultantos.jobs.queues import QUEUES

log = logging.getLogger(__name__)


class DeadLetterTrimmer(Protocol):
    """What cleanup needs of the dead-letter queues (consultantos.jobs.dead_letter)."""

    def trim_dead_letter_queue(self, name: str, *, older_than: datetime) -> int: ...


def cleanup_old_data(
    *,
    retention_days: object = None,
    now: datetime | None = None,
    dead_letters: DeadLetterTrimmer | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Delete data older than `retention_days` (default RETENTION_DAYS) and dead-letter entries
    older than DEAD_LETTER_RETENTION_DAYS (when `dead_letters` is given).

    Returns {"items_deleted": total, "snapshots", "alerts", "deliveries", "messages",
    "dead_letters": counts, "cutoff_date": ISO cutoff, "retention_days", "dead_letter_cutoff"}.
    """
    settings = settings or get_settings()
    days = _retention(retention_days, settings)
    now = (now or utcnow()).astimezone(UTC)
    cutoff = now - timedelta(days=days)
    dead_cutoff = now - timedelta(days=settings.dead_letter_retention_days)
    batch = settings.cleanup_batch_size
    log.info("cleanup: deleting data older than %s (%d days)", cutoff.isoformat(), days)
    with database_unavailable_as_transient("deleting old data"):
        snapshots = _delete_old_snapshots(cutoff, batch)
        alerts, deliveries = _in_batches(
            "alerts",
            Alert,
            batch,
            lambda session: _old_alerts(session, cutoff, batch),
            dependents=_delete_deliveries,
        )
        messages, _ = _in_batches(
            "alert messages",
            AlertMessage,
            batch,
            lambda session: _old_messages(session, cutoff, batch),
        )
    dead = 0
    if dead_letters is not None:
        for queue in QUEUES:
            dead += dead_letters.trim_dead_letter_queue(queue, older_than=dead_cutoff)
        log.info("cleanup: dead-letter entries: %d deleted", dead)
    counts = {
        "snapshots": snapshots,
        "alerts": alerts,
        "deliveries": deliveries,
        "messages": messages,
        "dead_letters": dead,
    }
    return {
        "items_deleted": sum(counts.values()),
        **counts,
        "cutoff_date": cutoff.isoformat(),
        "retention_days": days,
        "dead_letter_cutoff": dead_cutoff.isoformat(),
    }


def _retention(value: object, settings: Settings) -> int:
    if value is None:
        return settings.retention_days
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArguments(f"retention_days must be a whole number of days >= 1, got {value!r}")
    return value


def _in_batches(
    what: str,
    model: type[Alert | AlertMessage],
    batch: int,
    candidates: Callable[[Session], list[Any]],
    dependents: Callable[[Session, list[Any]], int] | None = None,
) -> tuple[int, int]:
    """Delete the rows of `model` whose ids `candidates` returns (after their `dependents`),
    one transaction per batch, until a batch comes back short. Returns both counts."""
    total = removed_dependents = number = 0
    while True:
        with session_scope() as session:
            ids = candidates(session)
            if ids:
                if dependents is not None:
                    removed_dependents += dependents(session, ids)
                result = session.execute(delete(model).where(model.id.in_(ids)))
                total += int(result.rowcount or 0)  # a concurrent cleanup may have been first
        number += 1
        if ids:
            log.info("cleanup: %s: %d deleted so far (batch %d)", what, total, number)
        if len(ids) < batch:
            log.info("cleanup: %s: %d deleted in all", what, total)
            return total, removed_dependents


def _delete_old_snapshots(cutoff: datetime, batch: int) -> int:
    """Walk the snapshots older than `cutoff`, oldest first, `batch` at a time (keyset
    pagination on the checked_at index), deleting each unless it is the latest of an active
    monitor. The walk never revisits a kept snapshot, so a few of them cannot stall it."""
    total = number = 0
    after: tuple[datetime, int] | None = None
    while True:
        with session_scope() as session:
            rows = session.execute(_snapshot_window(cutoff, after, batch)).all()
            doomed = [row.id for row in rows if row.status != MonitorStatus.ACTIVE or row.newer]
            if doomed:
                result = session.execute(delete(Snapshot).where(Snapshot.id.in_(doomed)))
                total += int(result.rowcount or 0)
        number += 1
        if doomed:
            log.info("cleanup: snapshots: %d deleted so far (batch %d)", total, number)
        if len(rows) < batch:
            log.info("cleanup: snapshots: %d deleted in all", total)
            return total
        after = (rows[-1].checked_at, rows[-1].id)


def _snapshot_window(
    cutoff: datetime, after: tuple[datetime, int] | None, batch: int
) -> Select[tuple[int, datetime, str, bool]]:
    """The next `batch` snapshots before `cutoff`, with their monitor's status and whether a
    newer snapshot of that monitor exists. The LIMIT is applied first (a subquery), so the
    check for a newer snapshot runs for these rows only, whatever the planner's statistics."""
    window = select(Snapshot.id, Snapshot.checked_at, Snapshot.monitor_id).where(
        Snapshot.checked_at < cutoff
    )
    if after is not None:
        window = window.where(tuple_(Snapshot.checked_at, Snapshot.id) > tuple_(*after))
    page = window.order_by(Snapshot.checked_at, Snapshot.id).limit(batch).subquery()
    # Strictly newer, so the (monitor_id, checked_at) index answers it; two snapshots of the
    # same instant both count as the latest and both stay.
    newer = aliased(Snapshot)
    has_newer = (
        exists()
        .where(newer.monitor_id == page.c.monitor_id, newer.checked_at > page.c.checked_at)
        .label("newer")
    )
    return (
        select(page.c.id, page.c.checked_at, Monitor.status, has_newer)
        .join(Monitor, Monitor.id == page.c.monitor_id)
        .order_by(page.c.checked_at, page.c.id)
    )


def _old_alerts(session: Session, cutoff: datetime, batch: int) -> list[str]:
    query = (
        select(Alert.id)
        .where(Alert.created_at < cutoff)
        .order_by(Alert.created_at, Alert.id)
        .limit(batch)
    )
    return list(session.scalars(query))


def _delete_deliveries(session: Session, alert_ids: list[str]) -> int:
    """The deliveries of alerts about to go (the foreign key would cascade; this counts them)."""
    result = session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id.in_(alert_ids)))
    return int(result.rowcount or 0)


def _old_messages(session: Session, cutoff: datetime, batch: int) -> list[str]:
    query = (
        select(AlertMessage.id)
        .where(
            AlertMessage.created_at < cutoff,
            AlertMessage.status.in_([MessageStatus.DELIVERED, MessageStatus.FAILED]),
            ~exists().where(AlertDelivery.message_id == AlertMessage.id),
        )
        .order_by(AlertMessage.created_at, AlertMessage.id)
        .limit(batch)
    )
    return list(session.scalars(query))
