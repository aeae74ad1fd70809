"""Claim the monitors whose check is due, so that each is enqueued by exactly one scheduler run.

Claiming moves a monitor's next_check_at one interval (plus jitter) ahead in the same
transaction that selected it, so two overlapping runs can never both pick it:

- PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; a concurrent run skips the rows this one holds
  and claims others instead of waiting.
- SQLite: BEGIN IMMEDIATE takes the database's write lock before reading; a concurrent run waits
  (busy_timeout), then sees the moved next_check_at values.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text, update

from consultantos.config import get_settings
from consultantos.db import session_scope
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import Monitor, MonitorStatus, utcnow
from consultantos.errors import InvalidArguments


def claim_due_monitors(
    *, now: datetime | None = None, limit: int | None = None, jitter: float | None = None
) -> list[str]:
    """Ids of up to `limit` active monitors due at `now` (oldest due first), now claimed.

    Each claimed monitor's next check moves to now + interval * (1 + uniform(0, jitter)), which
    spreads checks that were created or resumed together. Defaults: schedule_batch_size and
    schedule_jitter from settings.
    """
    settings = get_settings()
    limit = settings.schedule_batch_size if limit is None else limit
    jitter = settings.schedule_jitter if jitter is None else jitter
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArguments(f"limit must be a positive integer, got {limit!r}")
    if not 0 <= jitter <= 1:
        raise InvalidArguments(f"jitter must be between 0 and 1, got {jitter!r}")
    if now is not None and now.tzinfo is None:
        raise InvalidArguments("now must be timezone-aware")
    when = now or utcnow()
    with database_unavailable_as_transient("claiming monitors"):
        return _claim(when, limit, jitter)


def _claim(now: datetime, limit: int, jitter: float) -> list[str]:
    with session_scope() as session:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        query = (
            select(Monitor.id, Monitor.check_interval_seconds)
            .where(Monitor.status == MonitorStatus.ACTIVE, Monitor.next_check_at <= now)
            .order_by(Monitor.next_check_at, Monitor.id)
            .limit(limit)
        )
        if dialect != "sqlite":
            query = query.with_for_update(skip_locked=True)
        due = session.execute(query).all()
        if due:
            monitors = Monitor.__table__
            move = (
                update(monitors)
                .where(monitors.c.id == bindparam("claimed_id"))
                .values(
                    next_check_at=bindparam("next_at"),
                    updated_at=monitors.c.updated_at,  # scheduling is not an edit of the monitor
                )
            )
            session.execute(
                move,
                [
                    {
                        "claimed_id": monitor_id,
                        "next_at": now
                        + timedelta(seconds=interval * (1 + random.uniform(0, jitter))),
                    }
                    for monitor_id, interval in due
                ],
            )
        return [monitor_id for monitor_id, _ in due]
