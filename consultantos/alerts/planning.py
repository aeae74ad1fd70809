"""Decide which message carries an alert to each of its channels (grouping), and re-sends.

For each channel of the alert's monitor the alert gets one delivery row (unique per alert and
channel), pointing at a message:

* the group's open message (same channel, monitor and kind, not sent yet), if there is one:
  the alert joins it;
* else a new message, due now, or when the cooldown after the group's last message ends.

So each channel gets at most one message per monitor, kind and ALERT_COOLDOWN_SECONDS: the first
alert at once, later ones together when the window closes. Races are settled by the database:
one open message per group (a partial unique index), one delivery per alert and channel, and a
join that only counts while the message is still open; the loser of a race tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultantos.alerts.channel_config import channels_for
from consultantos.alerts.outbox import QueuedMessage, queued, refresh_alert_statuses
from consultantos.config import get_settings
from consultantos.db import session_scope
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertMessage,
    MessageStatus,
    Monitor,
    utcnow,
)
from consultantos.errors import InvalidArguments, NotFound

_ATTEMPTS = 5
_IN_FLIGHT = (MessageStatus.SENDING, MessageStatus.RETRYING)


class _Raced(Exception):
    """A message was claimed for sending between reading it and joining it."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What planning one alert did; `to_send` is for the caller to queue."""

    alert_id: str
    channels: int
    to_send: list[QueuedMessage] = field(default_factory=list)
    joined: int = 0
    """Channels where the alert joined a message that is already queued."""
    in_flight: list[str] = field(default_factory=list)
    """Channel ids skipped by a re-send because a message to them is being sent."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["to_send"] = [
            {"message_id": m.message_id, "channel_kind": str(m.channel_kind)} for m in self.to_send
        ]
        return data


def plan_alert_delivery(*, alert_id: str, now: datetime | None = None) -> Plan:
    """Give the alert a delivery on each of its monitor's channels; safe to call again."""
    return _retrying(lambda session: _plan(session, alert_id, now or utcnow()), alert_id)


def plan_resend(*, alert_id: str, channel_id: str | None = None) -> Plan:
    """Send the alert again, alone and now, to one or all of its channels.

    A channel whose message is still open is queued again (its send task may have been lost);
    one whose message is being sent or retried is left to that task (`in_flight`).
    """
    return _retrying(lambda session: _resend(session, alert_id, channel_id, utcnow()), alert_id)


def _retrying(plan: Callable[[Session], Plan], alert_id: str) -> Plan:
    """Run `plan` in a transaction, again when it lost a race to another call."""
    if not isinstance(alert_id, str) or not alert_id:
        raise InvalidArguments(f"alert id must be a non-empty string, got {alert_id!r}")
    attempt = 1
    with database_unavailable_as_transient(f"planning delivery of alert {alert_id!r}"):
        while True:
            try:
                with session_scope() as session:
                    return plan(session)
            except (IntegrityError, _Raced):
                if attempt >= _ATTEMPTS:
                    raise
                attempt += 1


def _load(
    session: Session, alert_id: str
) -> tuple[Alert, Monitor, dict[str | None, AlertDelivery]]:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id!r} does not exist")
    monitor = session.get(Monitor, alert.monitor_id)
    assert monitor is not None  # alerts cascade with their monitor
    deliveries = {
        delivery.channel_id: delivery
        for delivery in session.scalars(
            select(AlertDelivery).where(AlertDelivery.alert_id == alert_id)
        )
    }
    return alert, monitor, deliveries


def _plan(session: Session, alert_id: str, now: datetime) -> Plan:
    alert, monitor, deliveries = _load(session, alert_id)
    channels = channels_for(session=session, monitor=monitor)
    group_key = f"{monitor.id}:{alert.kind}"
    to_send: list[QueuedMessage] = []
    joined = 0
    for channel in channels:
        delivery = deliveries.get(channel.id)
        if delivery is not None:
            # A redelivered or repeated call: queue again what may not have been queued.
            if delivery.message.status == MessageStatus.OPEN:
                to_send.append(queued(delivery.message, alert.id))
            continue
        message, created = _message_for(session, channel, monitor.id, group_key, now)
        session.add(AlertDelivery(alert_id=alert.id, channel_id=channel.id, message_id=message.id))
        session.flush()
        if created:
            to_send.append(queued(message, alert.id))
        else:
            joined += 1
    return Plan(alert_id=alert.id, channels=len(channels), to_send=to_send, joined=joined)


def _message_for(
    session: Session, channel: AlertChannel, monitor_id: str, group_key: str, now: datetime
) -> tuple[AlertMessage, bool]:
    """The group's open message (joined), or a new one; True when it is new."""
    group = (AlertMessage.channel_id == channel.id, AlertMessage.group_key == group_key)
    open_message = session.scalar(
        select(AlertMessage).where(*group, AlertMessage.status == MessageStatus.OPEN)
    )
    if open_message is not None:
        joined = session.execute(
            update(AlertMessage)
            .where(AlertMessage.id == open_message.id, AlertMessage.status == MessageStatus.OPEN)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if joined.rowcount != 1:  # type: ignore[attr-defined]
            raise _Raced(open_message.id)
        return open_message, False
    last_due = session.scalar(select(func.max(AlertMessage.not_before)).where(*group))
    cooldown = timedelta(seconds=get_settings().alert_group_window)
    not_before = now if last_due is None else max(now, last_due + cooldown)
    message = _new_message(channel, monitor_id, group_key, not_before)
    session.add(message)
    session.flush()  # IntegrityError when a racing call opened the group's message first
    return message, True


def _new_message(
    channel: AlertChannel, monitor_id: str, group_key: str | None, not_before: datetime
) -> AlertMessage:
    return AlertMessage(
        channel_id=channel.id,
        channel_kind=channel.kind,
        target=channel.target,
        monitor_id=monitor_id,
        group_key=group_key,
        status=MessageStatus.OPEN,
        not_before=not_before,
    )


def _resend(session: Session, alert_id: str, channel_id: str | None, now: datetime) -> Plan:
    alert, monitor, deliveries = _load(session, alert_id)
    channels = channels_for(session=session, monitor=monitor)
    if channel_id is not None:
        known = {c.id: c for c in channels}
        for delivered_to in deliveries:
            if delivered_to is not None and delivered_to not in known:
                channel = session.get(AlertChannel, delivered_to)
                if channel is not None:
                    known[channel.id] = channel
        if channel_id not in known:
            raise NotFound(f"channel {channel_id!r} is not a channel of alert {alert_id!r}")
        channels = [known[channel_id]]
    to_send: list[QueuedMessage] = []
    in_flight: list[str] = []
    for channel in channels:
        delivery = deliveries.get(channel.id)
        if delivery is not None and delivery.message.status == MessageStatus.OPEN:
            to_send.append(queued(delivery.message, alert.id))
            continue
        if delivery is not None and delivery.message.status in _IN_FLIGHT:
            in_flight.append(channel.id)
            continue
        message = _new_message(channel, monitor.id, None, now)
        session.add(message)
        session.flush()
        if delivery is None:
            session.add(
                AlertDelivery(alert_id=alert.id, channel_id=channel.id, message_id=message.id)
            )
        else:
            delivery.message = message
        session.flush()
        to_send.append(queued(message, alert.id))
    refresh_alert_statuses(session, [alert.id])
    return Plan(alert_id=alert.id, channels=len(channels), to_send=to_send, in_flight=in_flight)
