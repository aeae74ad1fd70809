"""What checks of a monitor saw (snapshots) and raised (alerts), latest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.db.models import Alert, Snapshot


def latest_snapshots(
    *, session: Session, monitor_id: str, limit: int, offset: int, include_content: bool
) -> list[dict[str, Any]]:
    """Snapshot rows, newest first; the content column is not even read unless asked for."""
    columns = [
        column
        for column in Snapshot.__table__.c
        if include_content or column.name != "content_text"
    ]
    query = (
        select(*columns)
        .where(Snapshot.monitor_id == monitor_id)
        .order_by(Snapshot.checked_at.desc(), Snapshot.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def latest_alerts(*, session: Session, monitor_id: str, limit: int, offset: int) -> list[Alert]:
    """Alerts of a monitor, newest first."""
    query = (
        select(Alert)
        .where(Alert.monitor_id == monitor_id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))
