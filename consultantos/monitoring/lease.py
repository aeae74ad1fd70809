"""The lease a check holds on its monitor row, so two checks never fetch one source at once.

Taken by one conditional UPDATE of (last_check_id, last_check_started_at): the row changes only
when the lease is free, stale, or already held by the same check id (a redelivered task), and
the row count says who won. Released by clearing last_check_started_at; last_check_id stays as
the record of the last check that ran.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, null, or_, update
from sqlalchemy.orm import Session

from consultantos.config import Settings
from consultantos.db import session_scope
from consultantos.db.models import Monitor
from consultantos.monitoring.fetch import fetch_budget_seconds

log = logging.getLogger(__name__)

LEASE_GRACE_SECONDS = 60.0


def lease_timeout_seconds(settings: Settings) -> float:
    """How long a check's lease protects it; past this its worker is presumed dead.

    A fetch is bounded by fetch_budget_seconds(), but one read may start just before that
    deadline and wait its full timeout, hence twice the budget plus room for the database.
    """
    return 2 * fetch_budget_seconds(settings) + LEASE_GRACE_SECONDS


def take_lease(
    *, session: Session, monitor_id: str, check_id: str, now: datetime, settings: Settings
) -> bool:
    """True if `check_id` now holds the lease (free, stale, or already its own)."""
    stale = now - timedelta(seconds=lease_timeout_seconds(settings))
    statement = (
        update(Monitor)
        .where(
            Monitor.id == monitor_id,
            or_(
                Monitor.last_check_started_at.is_(None),
                Monitor.last_check_id == check_id,
                Monitor.last_check_started_at < stale,
            ),
        )
        .values(
            last_check_id=check_id,
            last_check_started_at=now,
            updated_at=Monitor.updated_at,  # a check is not an edit of the monitor
        )
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


def release_lease(*, session: Session, monitor_id: str, check_id: str) -> None:
    """Free the lease if `check_id` still holds it.

    The UPDATE matches the row whoever holds the lease, so it always takes the row's lock
    (the database's write lock on SQLite) until the transaction ends.
    """
    session.execute(
        update(Monitor)
        .where(Monitor.id == monitor_id)
        .values(
            last_check_started_at=case(
                (Monitor.last_check_id == check_id, null()),
                else_=Monitor.last_check_started_at,
            ),
            updated_at=Monitor.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


def release_lease_quietly(*, monitor_id: str, check_id: str) -> None:
    """Release after a failure, in its own transaction; if even that fails, the lease expires."""
    try:
        with session_scope() as session:
            release_lease(session=session, monitor_id=monitor_id, check_id=check_id)
    except Exception:
        log.warning("could not release the lease of monitor %s", monitor_id, exc_info=True)
