"""Send one message once: claim it, send it, record the outcome right after.

A send task owns a message from its claim on (`claimed_by` = the task id); only it, its retries
and its redeliveries send it, so duplicate send tasks and repeated planning never send twice.
The one unavoidable window: a worker that dies after the peer accepted the message and before
the outcome was recorded sends it again on redelivery, with the same message id (webhook-id,
email Message-ID), by which receivers can drop the copy.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from consultantos.alerts.channels import SENDERS
from consultantos.alerts.content import Outgoing
from consultantos.alerts.outbox import carried_alerts, outgoing, refresh_alert_statuses
from consultantos.config import Settings, get_settings
from consultantos.db import session_scope
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import AlertChannel, AlertMessage, ChannelKind, MessageStatus, utcnow
from consultantos.errors import InvalidArguments, NotFound, TransientError

log = logging.getLogger(__name__)

ERROR_MAX_CHARS = 2000
_DONE = (MessageStatus.DELIVERED, MessageStatus.FAILED)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one call of send_message did."""

    message_id: str
    status: str
    """`delivered`, or `skipped` (see reason)."""
    reason: str | None = None
    status_code: int | None = None
    alert_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def send_message(
    *,
    message_id: str,
    channel_kind: str,
    target: str,
    task_id: str,
    now: datetime | None = None,
) -> SendOutcome:
    """Send message `message_id` (to `target` over `channel_kind`) as task `task_id`.

    Raises what the sender raised (after recording it): TransientError to be retried,
    PermanentError for good; NotFound for an unknown message or a removed webhook channel.
    """
    if not all(isinstance(value, str) and value for value in (message_id, target, task_id)):
        raise InvalidArguments("message id, target and task id must be non-empty strings")
    try:
        kind = ChannelKind(channel_kind)
    except ValueError as exc:
        raise InvalidArguments(f"unknown channel kind {channel_kind!r}") from exc
    settings = get_settings()
    with (
        database_unavailable_as_transient(f"claiming message {message_id!r}"),
        session_scope() as session,
    ):
        claimed = _claim(session, message_id, kind, target, task_id, now or utcnow())
        if isinstance(claimed, SendOutcome):
            return claimed
        message = outgoing(session, *claimed, settings)
    if not message.alerts:
        _record(message_id, MessageStatus.FAILED, {"error": "the message carries no alert"})
        return _skipped(message_id, "no alert to send")
    if kind is ChannelKind.WEBHOOK and message.secret is None:
        error = NotFound(f"the webhook channel of message {message_id} was removed")
        _record(message_id, MessageStatus.FAILED, _fields_of(error))
        raise error
    return _send(message, settings)


def _skipped(message_id: str, reason: str) -> SendOutcome:
    return SendOutcome(message_id=message_id, status="skipped", reason=reason)


def _claim(
    session: Session,
    message_id: str,
    kind: ChannelKind,
    target: str,
    task_id: str,
    now: datetime,
) -> tuple[AlertMessage, AlertChannel | None] | SendOutcome:
    """Take the message for `task_id` (open, or already its own), counting the attempt."""
    message = session.get(AlertMessage, message_id)
    if message is None:
        raise NotFound(f"alert message {message_id!r} does not exist")
    if message.channel_kind != kind or message.target != target:
        raise InvalidArguments(
            f"message {message_id} goes to {message.channel_kind} {message.target}, "
            f"not to {kind} {target}"
        )
    if message.status in _DONE:
        return _skipped(message_id, f"already {message.status}")
    if message.status != MessageStatus.OPEN and message.claimed_by != task_id:
        return _skipped(message_id, f"sent by task {message.claimed_by}")
    claimed = session.execute(
        update(AlertMessage)
        .where(
            AlertMessage.id == message_id,
            or_(AlertMessage.status == MessageStatus.OPEN, AlertMessage.claimed_by == task_id),
            AlertMessage.status.not_in(_DONE),
        )
        .values(
            status=MessageStatus.SENDING,
            claimed_by=task_id,
            attempts=AlertMessage.attempts + 1,
            last_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return _skipped(message_id, "claimed by another task")
    session.refresh(message)
    channel = session.get(AlertChannel, message.channel_id) if message.channel_id else None
    return message, channel


def _send(message: Outgoing, settings: Settings) -> SendOutcome:
    try:
        receipt = SENDERS[message.channel_kind](message, settings)
    except TransientError as exc:
        _record_quietly(message.message_id, MessageStatus.RETRYING, exc)
        raise
    except Exception as exc:  # permanent, or a bug: either way it is not retried
        _record_quietly(message.message_id, MessageStatus.FAILED, exc)
        raise
    fields = {"status_code": receipt.status_code, "excerpt": receipt.excerpt, "error": None}
    with database_unavailable_as_transient(f"recording delivery of {message.message_id!r}"):
        _record(message.message_id, MessageStatus.DELIVERED, fields)
    return SendOutcome(
        message_id=message.message_id,
        status="delivered",
        status_code=receipt.status_code,
        alert_ids=[alert.id for alert in message.alerts],
    )


def give_up(*, message_id: str, task_id: str, exc: BaseException) -> None:
    """The send task failed for good (permanent error, retries exhausted, poison message):
    the message it owns is failed, and so are the alerts it carries."""
    with session_scope() as session:
        message = session.get(AlertMessage, message_id)
        if message is None or message.status in _DONE or message.claimed_by != task_id:
            return
        _finish(session, message, MessageStatus.FAILED, _fields_of(exc))


def _fields_of(exc: BaseException) -> dict[str, Any]:
    return {
        "status_code": getattr(exc, "status_code", None),
        "excerpt": getattr(exc, "excerpt", None),
        "error": f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
    }


def _finish(
    session: Session, message: AlertMessage, status: MessageStatus, fields: dict[str, Any]
) -> None:
    """Store an attempt's outcome; a final one also settles the statuses of its alerts."""
    message.status = status
    message.status_code = fields.get("status_code")
    message.response_excerpt = fields.get("excerpt") or None
    message.error = fields.get("error")
    if status is MessageStatus.DELIVERED:
        message.delivered_at = utcnow()
    if status in _DONE:
        alert_ids = [alert.id for alert in carried_alerts(session, message.id)]
        refresh_alert_statuses(session, alert_ids)


def _record(message_id: str, status: MessageStatus, fields: dict[str, Any]) -> None:
    with session_scope() as session:
        message = session.get(AlertMessage, message_id)
        if message is not None:
            _finish(session, message, status, fields)


def _record_quietly(message_id: str, status: MessageStatus, exc: BaseException) -> None:
    """Record a failed attempt; a database error here must not hide the sender's error."""
    try:
        _record(message_id, status, _fields_of(exc))
    except Exception:
        log.exception("could not record the failed attempt of message %s", message_id)
