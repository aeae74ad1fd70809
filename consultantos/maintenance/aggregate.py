"""Daily rollups: per monitor and UTC day, the figures of `rollup.py`, in `snapshot_rollups`.

Idempotent: a day's rollup is recomputed from the snapshots and written only when the figures
differ, so running twice leaves the same rows (computed_at included). Without a day, the
AGGREGATION_CATCHUP_DAYS days before today are all (re)visited, which catches up on days missed
while Beat or the workers were down at no extra cost on days already done.

Rollups outlive the snapshots they were made from (cleanup never deletes them), so a rollup is
never replaced by one built from fewer checks: re-aggregating a day whose snapshots retention
has started to delete keeps what was computed when they were all there.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultantos.config import Settings, get_settings
from consultantos.db import session_scope
from consultantos.db.analysis_models import SnapshotRollup
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import Alert, Snapshot, utcnow
from consultantos.errors import InvalidArguments
from consultantos.maintenance.rollup import DayFigures, SnapshotRow, day_figures

log = logging.getLogger(__name__)

_WRITE_ATTEMPTS = 3


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of `day` in UTC."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def parse_day(value: object) -> date | None:
    """None, a date, or an ISO date string ("2025-03-01") as a date; InvalidArguments else."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidArguments(f"day must be an ISO date (YYYY-MM-DD), got {value!r}") from exc
    raise InvalidArguments(f"day must be an ISO date (YYYY-MM-DD), got {value!r}")


def figures_for_day(
    session: Session, *, day: date, monitor_ids: Collection[str] | None = None
) -> dict[str, DayFigures]:
    """Figures of every monitor with snapshots on `day` (or of `monitor_ids` only)."""
    start, end = day_bounds(day)
    query = (
        select(
            Snapshot.monitor_id,
            Snapshot.checked_at,
            Snapshot.ok,
            Snapshot.response_time_ms,
            Snapshot.content_hash,
            Snapshot.metrics,
        )
        .where(Snapshot.checked_at >= start, Snapshot.checked_at < end)
        .order_by(Snapshot.monitor_id, Snapshot.checked_at, Snapshot.id)
    )
    alert_query = select(Alert.monitor_id, Alert.kind).where(
        Alert.created_at >= start, Alert.created_at < end
    )
    if monitor_ids is not None:
        query = query.where(Snapshot.monitor_id.in_(list(monitor_ids)))
        alert_query = alert_query.where(Alert.monitor_id.in_(list(monitor_ids)))
    rows: dict[str, list[SnapshotRow]] = {}
    for monitor_id, *columns in session.execute(query):
        rows.setdefault(monitor_id, []).append(SnapshotRow(*columns))
    kinds: dict[str, list[str]] = {}
    for monitor_id, kind in session.execute(alert_query):
        kinds.setdefault(monitor_id, []).append(kind)
    return {
        monitor_id: day_figures(
            rows=monitor_rows,
            previous_hash=_hash_before(session, monitor_id, start),
            alert_kinds=kinds.get(monitor_id, []),
        )
        for monitor_id, monitor_rows in rows.items()
    }


def _hash_before(session: Session, monitor_id: str, when: datetime) -> str | None:
    return session.scalar(
        select(Snapshot.content_hash)
        .where(
            Snapshot.monitor_id == monitor_id,
            Snapshot.checked_at < when,
            Snapshot.ok.is_(True),
            Snapshot.content_hash.is_not(None),
        )
        .order_by(Snapshot.checked_at.desc(), Snapshot.id.desc())
        .limit(1)
    )


def aggregate_day(*, day: date) -> dict[str, int]:
    """Write the rollups of `day`; returns {"written", "unchanged", "kept"} counts."""
    attempt = 1
    while True:
        try:
            with session_scope() as session:
                return _write_day(session, day)
        except IntegrityError:
            # a concurrent aggregation inserted one of our rows first: go again, updating it
            if attempt >= _WRITE_ATTEMPTS:
                raise
            attempt += 1


def _write_day(session: Session, day: date) -> dict[str, int]:
    figures = figures_for_day(session, day=day)
    existing = {
        row.monitor_id: row
        for row in session.scalars(select(SnapshotRollup).where(SnapshotRollup.day == day))
    }
    counts = {"written": 0, "unchanged": 0, "kept": 0}
    now = utcnow()
    for monitor_id, fresh in sorted(figures.items()):
        columns = fresh.columns()
        row = existing.get(monitor_id)
        if row is None:
            session.add(SnapshotRollup(monitor_id=monitor_id, day=day, computed_at=now, **columns))
            counts["written"] += 1
        elif row.checks > fresh.checks:
            counts["kept"] += 1  # some of its snapshots are gone: keep the complete rollup
        elif _stored(row) == columns:
            counts["unchanged"] += 1
        else:
            for name, value in columns.items():
                setattr(row, name, value)
            row.computed_at = now
            counts["written"] += 1
    session.flush()
    return counts


def _stored(row: SnapshotRollup) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DayFigures.__dataclass_fields__}


def aggregate_snapshots(
    *, day: object = None, now: datetime | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Roll up `day` (a date or ISO string), or else the AGGREGATION_CATCHUP_DAYS days before
    today (UTC). Returns the days done and how many rollups were written, unchanged or kept."""
    settings = settings or get_settings()
    today = (now or utcnow()).astimezone(UTC).date()
    wanted = parse_day(day)
    if wanted is not None and wanted > today:
        raise InvalidArguments(f"day {wanted.isoformat()} is in the future (today is {today})")
    if wanted is not None:
        days = [wanted]
    else:
        days = [
            today - timedelta(days=back) for back in range(settings.aggregation_catchup_days, 0, -1)
        ]
    totals = {"written": 0, "unchanged": 0, "kept": 0}
    with database_unavailable_as_transient("aggregating snapshots"):
        for one_day in days:
            counts = aggregate_day(day=one_day)
            log.info("aggregate %s: %s", one_day.isoformat(), counts)
            for name, value in counts.items():
                totals[name] += value
    return {
        "days": [one_day.isoformat() for one_day in days],
        "rollups_written": totals["written"],
        "rollups_unchanged": totals["unchanged"],
        "rollups_kept": totals["kept"],
    }
