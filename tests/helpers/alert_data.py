"""Test data for alert delivery: monitors, alerts and channels stored the way the code does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from consultantos import db
from consultantos.alerts.channel_config import set_channels
from consultantos.alerts.channel_specs import ChannelList
from consultantos.db.models import Alert, AlertChannel, AlertKind, AlertMessage, Monitor, utcnow
from consultantos.monitoring.monitors import create_monitor
from consultantos.monitoring.schemas import MonitorCreate

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def add_monitor(url: str = "http://127.0.0.1:9/pricing", **fields: Any) -> str:
    spec = {
        "user_id": "user-1",
        "company": "Acme",
        "name": "pricing page",
        "source_type": "html",
        "url": url,
    }
    spec.update(fields)
    with db.session_scope() as session:
        return create_monitor(session=session, spec=MonitorCreate.model_validate(spec)).id


def add_alert(
    monitor_id: str,
    *,
    kind: AlertKind = AlertKind.CONTENT_CHANGED,
    title: str = "Acme pricing page changed",
    details: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> str:
    with db.session_scope() as session:
        count = len(list(session.scalars(select(Alert.id).where(Alert.monitor_id == monitor_id))))
        alert = Alert(
            monitor_id=monitor_id,
            kind=kind,
            dedupe_key=f"test:{count}",
            title=title,
            details=details
            if details is not None
            else {"diff": "-$99.00\n+$129.00", "lines_added": 1, "lines_removed": 1},
            created_at=created_at or utcnow(),
        )
        session.add(alert)
        session.flush()
        return alert.id


def set_monitor_channels(monitor_id: str, channels: list[dict[str, Any]]) -> list[str]:
    """Replace the monitor's channels; returns their ids in order."""
    with db.session_scope() as session:
        monitor = session.get(Monitor, monitor_id)
        assert monitor is not None
        rows = set_channels(
            session=session,
            user_id=monitor.user_id,
            monitor_id=monitor_id,
            spec=ChannelList.model_validate({"channels": channels}),
        )
        return [row.id for row in rows]


def message(message_id: str) -> AlertMessage:
    with db.session_scope() as session:
        found = session.get(AlertMessage, message_id)
        assert found is not None
        return found


def alert(alert_id: str) -> Alert:
    with db.session_scope() as session:
        found = session.get(Alert, alert_id)
        assert found is not None
        return found


def channel(channel_id: str) -> AlertChannel:
    with db.session_scope() as session:
        found = session.get(AlertChannel, channel_id)
        assert found is not None
        return found
