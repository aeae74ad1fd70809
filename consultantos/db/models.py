"""ORM models: monitors, their snapshots, and the alerts that comparing snapshots produces."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Readable random ids such as `mon_3f9c2a1b7d4e` (the guide's ids are strings)."""
    return f"{prefix}_{secrets.token_hex(6)}"


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, always returned timezone-aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC was expected")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON}


class SourceType(enum.StrEnum):
    HTML = "html"
    JSON = "json"
    FEED = "feed"


class MonitorStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class AlertKind(enum.StrEnum):
    CONTENT_CHANGED = "content_changed"
    METRIC_CHANGED = "metric_changed"
    SOURCE_DOWN = "source_down"
    SOURCE_UP = "source_up"
    ANOMALY = "anomaly"


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    """Created; delivery not done yet."""
    DELIVERED = "delivered"
    FAILED = "failed"


class Monitor(Base):
    """One watched source of one competitor, owned by one user."""

    __tablename__ = "monitors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("mon"))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    company: Mapped[str] = mapped_column(String(200), index=True)
    industry: Mapped[str | None] = mapped_column(String(200), default=None)
    name: Mapped[str] = mapped_column(String(200))
    source_type: Mapped[SourceType] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2048))
    selector: Mapped[str | None] = mapped_column(String(1000), default=None)
    """CSS selector (html) or JSONPath (json); empty means the whole document."""
    check_interval_seconds: Mapped[int] = mapped_column(Integer, default=3600)
    change_threshold_pct: Mapped[float] = mapped_column(Float, default=5.0)
    """A numeric metric moving by more than this percentage raises an alert."""
    status: Mapped[MonitorStatus] = mapped_column(String(16), default=MonitorStatus.ACTIVE)
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_check_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_check_id: Mapped[str | None] = mapped_column(String(64), default=None)
    """Task id of the check that last claimed this monitor (makes redelivery idempotent)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    snapshots: Mapped[list[Snapshot]] = relationship(
        back_populates="monitor", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_monitors_due", "status", "next_check_at"),)


class Snapshot(Base):
    """What one check of a monitor saw."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64), unique=True)
    """The task id of the check; a redelivered task finds its snapshot and stops."""
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_time_ms: Mapped[float | None] = mapped_column(Float, default=None)
    content_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    content_text: Mapped[str | None] = mapped_column(Text, default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)

    monitor: Mapped[Monitor] = relationship(back_populates="snapshots")

    __table_args__ = (Index("ix_snapshots_monitor_time", "monitor_id", "checked_at"),)


class Alert(Base):
    """A change worth telling the monitor's owner about."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("alr"))
    monitor_id: Mapped[str] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), index=True
    )
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[AlertKind] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    """Unique per monitor: the same observation never makes two alerts."""
    title: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[AlertStatus] = mapped_column(String(16), default=AlertStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("monitor_id", "dedupe_key", name="uq_alerts_dedupe"),)


class ChannelKind(enum.StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"


class MessageStatus(enum.StrEnum):
    OPEN = "open"
    """Waiting to be sent; alerts of its group may still join it."""
    SENDING = "sending"
    """Claimed by a send task (`claimed_by`); closed to new alerts."""
    RETRYING = "retrying"
    """An attempt failed transiently; its send task retries it later."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Failed for good: a permanent error, or retries ran out."""


class AlertChannel(Base):
    """Where a monitor's alerts go; rows without a monitor are the user's defaults."""

    __tablename__ = "alert_channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("chn"))
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    monitor_id: Mapped[str | None] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), index=True, default=None
    )
    """None: one of the user's default channels, used by monitors that have none of their own."""
    kind: Mapped[ChannelKind] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    """An email address, or the Slack / webhook URL."""
    secret: Mapped[str | None] = mapped_column(String(200), default=None)
    """Webhooks only: the `whsec_…` signing secret."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertMessage(Base):
    """One message to one channel, carrying one alert or a group of them.

    Alerts of one monitor and kind inside the cooldown share a message (`group_key`); the
    message is what is sent, retried and signed (its id is the webhook-id).
    """

    __tablename__ = "alert_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("msg"))
    channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="SET NULL"), index=True, default=None
    )
    channel_kind: Mapped[ChannelKind] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    """The channel's address when the message was made (kept if the channel is removed)."""
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    group_key: Mapped[str | None] = mapped_column(String(100), default=None)
    """`monitor_id:kind` for grouped alerts; None for a re-send, which joins no group."""
    status: Mapped[MessageStatus] = mapped_column(String(16), default=MessageStatus.OPEN)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    """When it may be sent: now, or the end of the group's cooldown window."""
    claimed_by: Mapped[str | None] = mapped_column(String(155), default=None)
    """Id of the send task that owns it; only that task (or its retries) sends it."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    """HTTP status, or SMTP reply code, of the last attempt."""
    response_excerpt: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # At most one open message per channel and group: racing alerts join the same one.
        Index(
            "uq_alert_messages_open_group",
            "channel_id",
            "group_key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_alert_messages_group_time", "channel_id", "group_key", "not_before"),
    )


class AlertDelivery(Base):
    """One alert to one channel: which message carries it (one row per alert and channel)."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel_id: Mapped[str | None] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="SET NULL"), default=None
    )
    message_id: Mapped[str] = mapped_column(
        ForeignKey("alert_messages.id", ondelete="CASCADE"), index=True
    )
    """The latest message sent for it (a re-send points it at a new one)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[AlertMessage] = relationship()

    __table_args__ = (
        UniqueConstraint("alert_id", "channel_id", name="uq_alert_deliveries_alert_channel"),
    )
