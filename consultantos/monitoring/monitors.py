"""Create, read and change monitors (plain data functions, keyword-only arguments)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.db.models import Monitor, MonitorStatus, SourceType, utcnow
from consultantos.errors import InvalidArguments, NotFound
from consultantos.monitoring.schemas import MonitorCreate, MonitorUpdate, validate_selector


def create_monitor(
    *, session: Session, spec: MonitorCreate, now: datetime | None = None
) -> Monitor:
    """Store a new monitor; its first check is due at once."""
    monitor = Monitor(
        user_id=spec.user_id,
        company=spec.company,
        industry=spec.industry,
        name=spec.name or f"{spec.company} {spec.source_type.value}",
        source_type=spec.source_type,
        url=str(spec.url),
        selector=spec.selector or None,
        check_interval_seconds=spec.check_interval_seconds,
        change_threshold_pct=spec.change_threshold_pct,
        status=spec.status,
        next_check_at=now or utcnow(),
    )
    session.add(monitor)
    session.flush()
    return monitor


def get_monitor(*, session: Session, monitor_id: str) -> Monitor:
    """The monitor with this id, or NotFound."""
    if not isinstance(monitor_id, str) or not monitor_id:
        raise InvalidArguments(f"monitor id must be a non-empty string, got {monitor_id!r}")
    monitor = session.get(Monitor, monitor_id)
    if monitor is None:
        raise NotFound(f"monitor {monitor_id!r} does not exist")
    return monitor


def list_monitors(
    *,
    session: Session,
    user_id: str | None = None,
    company: str | None = None,
    status: MonitorStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Monitor]:
    """Monitors matching every filter given, oldest first."""
    query = select(Monitor).order_by(Monitor.created_at, Monitor.id).limit(limit).offset(offset)
    if user_id is not None:
        query = query.where(Monitor.user_id == user_id)
    if company is not None:
        query = query.where(Monitor.company == company)
    if status is not None:
        query = query.where(Monitor.status == status)
    return list(session.scalars(query))


def update_monitor(*, session: Session, monitor_id: str, changes: MonitorUpdate) -> Monitor:
    """Apply the fields set in `changes`; the selector is re-checked against the source type."""
    monitor = get_monitor(session=session, monitor_id=monitor_id)
    fields = changes.model_dump(exclude_unset=True)
    if "url" in fields and fields["url"] is not None:
        fields["url"] = str(fields["url"])
    for name in ("company", "url", "check_interval_seconds", "change_threshold_pct", "status"):
        if name in fields and fields[name] is None:
            raise InvalidArguments(f"{name} cannot be null")
    if "selector" in fields:
        try:
            validate_selector(SourceType(monitor.source_type), fields["selector"])
        except ValueError as exc:
            raise InvalidArguments(str(exc)) from exc
    for name, value in fields.items():
        setattr(monitor, name, value)
    if fields.get("status") == MonitorStatus.ACTIVE:
        monitor.next_check_at = min(monitor.next_check_at, utcnow())
    session.flush()
    return monitor


def set_monitor_status(*, session: Session, monitor_id: str, status: MonitorStatus) -> Monitor:
    """Pause or resume a monitor."""
    return update_monitor(
        session=session, monitor_id=monitor_id, changes=MonitorUpdate(status=status)
    )
