"""Where alerts go: each monitor's own channels, or else its owner's default channels.

A monitor with channels of its own uses those (only the enabled ones: disabling them all mutes
the monitor); a monitor with none uses its user's enabled defaults (rows without a monitor).
Setting a list replaces the old one; a channel listed again (same kind and address) keeps its
id, history and webhook secret.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.alerts.channel_specs import ChannelList, WebhookChannel, new_webhook_secret
from consultantos.db.models import AlertChannel, ChannelKind, Monitor


def own_channels(*, session: Session, user_id: str, monitor_id: str | None) -> list[AlertChannel]:
    """A monitor's own channels, or with monitor_id=None the user's defaults, oldest first."""
    query = select(AlertChannel).where(AlertChannel.user_id == user_id)
    if monitor_id is None:
        query = query.where(AlertChannel.monitor_id.is_(None))
    else:
        query = query.where(AlertChannel.monitor_id == monitor_id)
    return list(session.scalars(query.order_by(AlertChannel.created_at, AlertChannel.id)))


def set_channels(
    *, session: Session, user_id: str, monitor_id: str | None, spec: ChannelList
) -> list[AlertChannel]:
    """Replace a monitor's channels (or the user's defaults) with those of `spec`."""
    existing = {
        (row.kind, row.target.lower()): row
        for row in own_channels(session=session, user_id=user_id, monitor_id=monitor_id)
    }
    kept: list[AlertChannel] = []
    for channel in spec.channels:
        kind = ChannelKind(channel.kind)
        secret = channel.secret if isinstance(channel, WebhookChannel) else None
        row = existing.pop((kind, channel.target.lower()), None)
        if row is None:
            row = AlertChannel(
                user_id=user_id,
                monitor_id=monitor_id,
                kind=kind,
                target=channel.target,
                secret=secret or (new_webhook_secret() if kind is ChannelKind.WEBHOOK else None),
                enabled=channel.enabled,
            )
            session.add(row)
        else:
            row.target = channel.target
            row.enabled = channel.enabled
            if secret:
                row.secret = secret
        kept.append(row)
    for row in existing.values():
        # Messages and deliveries keep their history; their channel_id becomes NULL.
        session.delete(row)
    session.flush()
    return kept


def channels_for(*, session: Session, monitor: Monitor) -> list[AlertChannel]:
    """The enabled channels a new alert of `monitor` goes to."""
    own = own_channels(session=session, user_id=monitor.user_id, monitor_id=monitor.id)
    if not own:
        own = own_channels(session=session, user_id=monitor.user_id, monitor_id=None)
    return [channel for channel in own if channel.enabled]
