"""Alerts with their per-channel delivery state, as the API lists them (plain data functions)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.db.models import Alert, AlertDelivery, AlertMessage, AlertStatus, Monitor
from consultantos.errors import InvalidArguments, NotFound

Deliveries = dict[str, list[tuple[AlertDelivery, AlertMessage]]]


def list_alerts(
    *,
    session: Session,
    monitor_id: str | None = None,
    company: str | None = None,
    since: datetime | None = None,
    status: AlertStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Alert]:
    """Alerts matching every filter given, newest first."""
    if since is not None and since.tzinfo is None:
        raise InvalidArguments("since must carry a timezone (e.g. 2025-01-31T08:00:00Z)")
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if monitor_id is not None:
        query = query.where(Alert.monitor_id == monitor_id)
    if company is not None:
        query = query.join(Monitor, Monitor.id == Alert.monitor_id).where(
            Monitor.company == company
        )
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if status is not None:
        query = query.where(Alert.status == status)
    return list(session.scalars(query.limit(limit).offset(offset)))


def get_alert(*, session: Session, alert_id: str) -> Alert:
    """The alert with this id, or NotFound."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id!r} does not exist")
    return alert


def deliveries_of(*, session: Session, alert_ids: list[str]) -> Deliveries:
    """Each alert's deliveries with the message now carrying them, in channel order."""
    found: Deliveries = defaultdict(list)
    if not alert_ids:
        return found
    rows = session.execute(
        select(AlertDelivery, AlertMessage)
        .join(AlertMessage, AlertMessage.id == AlertDelivery.message_id)
        .where(AlertDelivery.alert_id.in_(alert_ids))
        .order_by(AlertDelivery.id)
    )
    for delivery, message in rows:
        found[delivery.alert_id].append((delivery, message))
    return found
