"""Generated monitor history for maintenance, anomaly and analysis tests: monitors, snapshots
written in bulk (one INSERT per chunk), and alerts."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from consultantos import db
from consultantos.db.models import Alert, AlertKind, Snapshot
from consultantos.monitoring.monitors import create_monitor
from consultantos.monitoring.schemas import MonitorCreate

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CHUNK = 10_000


def add_monitor(
    *,
    company: str = "Acme",
    industry: str | None = "saas",
    user_id: str = "user-1",
    url: str = "http://127.0.0.1:9/page",
    **fields: Any,
) -> str:
    spec = {
        "user_id": user_id,
        "company": company,
        "industry": industry,
        "source_type": "html",
        "url": url,
        **fields,
    }
    with db.session_scope() as session:
        return create_monitor(session=session, spec=MonitorCreate.model_validate(spec)).id


def insert_snapshots(rows: Iterable[dict[str, Any]]) -> int:
    """Bulk-insert snapshot rows (dicts of Snapshot columns); returns how many."""
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            count += _flush(batch)
    return count + _flush(batch)


def _flush(batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    with db.session_scope() as session:
        session.execute(insert(Snapshot), batch)
    size = len(batch)
    batch.clear()
    return size


def snapshot(
    monitor_id: str,
    at: datetime,
    *,
    ok: bool = True,
    metrics: dict[str, Any] | None = None,
    content_hash: str | None = "h0",
    response_time_ms: float | None = 100.0,
    check_id: str | None = None,
) -> dict[str, Any]:
    return {
        "monitor_id": monitor_id,
        "check_id": check_id or f"{monitor_id}:{at.isoformat()}",
        "checked_at": at,
        "ok": ok,
        "http_status": 200 if ok else 503,
        "response_time_ms": response_time_ms if ok else None,
        "content_hash": content_hash if ok else None,
        "content_text": "Plans\nPro" if ok else None,
        "metrics": (metrics or {}) if ok else {},
        "error": None if ok else "HTTP 503",
    }


def seasonal_price(at: datetime, *, level: float = 100.0, amplitude: float = 10.0) -> float:
    """A price with a daily cycle: highest at 06:00 UTC, lowest at 18:00."""
    return level + amplitude * math.sin(2 * math.pi * at.hour / 24)


def hourly_history(
    monitor_id: str,
    *,
    end: datetime,
    hours: int,
    value: Callable[[datetime], float] = seasonal_price,
    noise: float = 1.0,
    seed: int = 1,
    metric: str = "value",
) -> list[dict[str, Any]]:
    """`hours` hourly snapshots up to (not including) `end`, metric = value(t) + N(0, noise)."""
    rng = random.Random(seed)
    start = end - hours * HOUR
    rows = []
    for n in range(hours):
        at = start + n * HOUR
        number = round(value(at) + rng.gauss(0, noise), 2)
        rows.append(snapshot(monitor_id, at, metrics={metric: number, "element_count": 1.0}))
    return rows


def add_alert(
    monitor_id: str,
    kind: AlertKind,
    at: datetime,
    *,
    title: str = "something changed",
    details: dict[str, Any] | None = None,
    snapshot_id: int | None = None,
) -> str:
    with db.session_scope() as session:
        alert = Alert(
            monitor_id=monitor_id,
            snapshot_id=snapshot_id,
            kind=kind,
            dedupe_key=f"test:{kind}:{at.isoformat()}:{random.random()}",
            title=title,
            details=details or {},
            created_at=at,
        )
        session.add(alert)
        session.flush()
        return alert.id


def midnight(day_offset: int = 0, *, now: datetime | None = None) -> datetime:
    """00:00 UTC of today plus `day_offset` days."""
    base = (now or datetime.now(UTC)).astimezone(UTC)
    return base.replace(hour=0, minute=0, second=0, microsecond=0) + day_offset * DAY
