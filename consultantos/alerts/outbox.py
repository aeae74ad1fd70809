"""Messages in the database: what they carry, and what their outcomes make of alert statuses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.alerts.content import AlertFacts, Outgoing, alert_link
from consultantos.config import Settings
from consultantos.db.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertKind,
    AlertMessage,
    AlertStatus,
    ChannelKind,
    MessageStatus,
    Monitor,
)


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message whose send task is to be queued (the task layer does it, after commit)."""

    message_id: str
    channel_kind: ChannelKind
    target: str
    monitor_id: str
    alert_id: str
    not_before: datetime

    def countdown(self, now: datetime) -> float:
        """Seconds until it is due (0 when it is due now)."""
        return max(0.0, (self.not_before - now).total_seconds())


def queued(message: AlertMessage, alert_id: str) -> QueuedMessage:
    return QueuedMessage(
        message_id=message.id,
        channel_kind=ChannelKind(message.channel_kind),
        target=message.target,
        monitor_id=message.monitor_id,
        alert_id=alert_id,
        not_before=message.not_before,
    )


def carried_alerts(session: Session, message_id: str) -> list[Alert]:
    """The alerts a message carries, oldest first."""
    query = (
        select(Alert)
        .join(AlertDelivery, AlertDelivery.alert_id == Alert.id)
        .where(AlertDelivery.message_id == message_id)
        .order_by(Alert.created_at, Alert.id)
    )
    return list(session.scalars(query))


def outgoing(
    session: Session, message: AlertMessage, channel: AlertChannel | None, settings: Settings
) -> Outgoing:
    """Everything a sender needs, read in the transaction that claimed the message."""
    monitor = session.get(Monitor, message.monitor_id)
    if monitor is None:  # the foreign key cascades: a message never outlives its monitor
        raise LookupError(f"monitor {message.monitor_id} of message {message.id} is gone")
    alerts = carried_alerts(session, message.id)
    return Outgoing(
        message_id=message.id,
        channel_kind=ChannelKind(message.channel_kind),
        target=message.target,
        secret=channel.secret if channel is not None else None,
        monitor_id=monitor.id,
        monitor_name=monitor.name,
        company=monitor.company,
        source_url=monitor.url,
        alerts=tuple(
            AlertFacts(
                id=alert.id,
                kind=AlertKind(alert.kind),
                title=alert.title,
                created_at=alert.created_at,
                link=alert_link(settings.public_base_url, alert.id),
                details=dict(alert.details or {}),
            )
            for alert in alerts
        ),
    )


def alert_status(statuses: Iterable[MessageStatus | str]) -> AlertStatus:
    """Failed when a channel failed for good, delivered when every channel got it."""
    seen = [MessageStatus(status) for status in statuses]
    if not seen:
        return AlertStatus.PENDING
    if MessageStatus.FAILED in seen:
        return AlertStatus.FAILED
    if all(status is MessageStatus.DELIVERED for status in seen):
        return AlertStatus.DELIVERED
    return AlertStatus.PENDING


def refresh_alert_statuses(session: Session, alert_ids: Iterable[str]) -> None:
    """Recompute each alert's status from the messages that now carry it.

    The alert row is locked first: two channels of one alert finishing at once would each
    read the other's message as unfinished (PostgreSQL, read committed) and leave the alert
    pending for ever. Locks are taken in id order, so two messages never deadlock.
    """
    for alert_id in sorted(set(alert_ids)):
        alert = session.scalar(
            select(Alert)
            .where(Alert.id == alert_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if alert is None:
            continue
        statuses = session.scalars(
            select(AlertMessage.status)
            .join(AlertDelivery, AlertDelivery.message_id == AlertMessage.id)
            .where(AlertDelivery.alert_id == alert_id)
        )
        alert.status = alert_status(statuses)
