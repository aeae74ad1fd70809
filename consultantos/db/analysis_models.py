"""ORM models of maintenance and analysis: daily rollups, anomaly models and analysis reports.

Kept apart from `models.py` (monitors, snapshots, alerts, delivery) but on the same `Base`, so one
metadata describes the whole schema. Import this module wherever the metadata must be complete
(migrations, test clean-up); the code that uses these classes imports it anyway.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from consultantos.db.models import Alert, Base, Snapshot, utcnow

# Cleanup deletes snapshots in bulk, and each deleted snapshot sets `alerts.snapshot_id` to NULL
# (ON DELETE SET NULL): without this index every deleted row would scan the alerts table.
Index("ix_alerts_snapshot_id", Alert.__table__.c.snapshot_id)
# Daily aggregation reads one day of snapshots and cleanup the oldest ones, across monitors:
# the (monitor_id, checked_at) index cannot serve a range on checked_at alone.
Index("ix_snapshots_checked_at", Snapshot.__table__.c.checked_at)


class SnapshotRollup(Base):
    """What the checks of one monitor saw during one UTC day (aggregate_snapshots_task).

    Never deleted by cleanup: the long-term memory once snapshots are gone.
    """

    __tablename__ = "snapshot_rollups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    """The UTC day, 00:00 inclusive to the next 00:00 exclusive."""
    checks: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    """Checks whose source did not answer usefully (ok=False)."""
    changes: Mapped[int] = mapped_column(Integer)
    """Successful checks whose content differed from the previous successful one."""
    alerts: Mapped[int] = mapped_column(Integer)
    alert_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Alerts created that day, by kind."""
    response_time_p50_ms: Mapped[float | None] = mapped_column(Float, default=None)
    response_time_p95_ms: Mapped[float | None] = mapped_column(Float, default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Per numeric metric: {"min", "mean", "max", "last", "count"}."""
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("monitor_id", "day", name="uq_snapshot_rollups_monitor_day"),
        Index("ix_snapshot_rollups_day", "day"),
    )


class AnomalyModel(Base):
    """One trained version of a monitor's anomaly model (train_anomaly_model_task)."""

    __tablename__ = "anomaly_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    """1, 2, 3... per monitor; checks score against the highest."""
    run_id: Mapped[str] = mapped_column(String(155))
    """The training run (task id): a redelivered run does not add a second version."""
    method: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    snapshot_count: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Per metric: the fitted expectation and scale (consultantos.monitoring.anomaly)."""
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Training statistics: points, components kept, scale, outliers seen in training."""

    __table_args__ = (
        UniqueConstraint("monitor_id", "version", name="uq_anomaly_models_version"),
        UniqueConstraint("monitor_id", "run_id", name="uq_anomaly_models_run"),
    )


class AnalysisStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    """The request cannot be analysed (a permanent error); `error` says why."""


class AnalysisReport(Base):
    """A competitive analysis of one company over a period, and its report once built."""

    __tablename__ = "analysis_reports"

    id: Mapped[str] = mapped_column(String(155), primary_key=True)
    """The analysis id, which is the id of its run_analysis_task."""
    user_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    """Whose monitors the analysis covers; None means every monitor."""
    company: Mapped[str] = mapped_column(String(200), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    """Inclusive."""
    status: Mapped[AnalysisStatus] = mapped_column(String(16), default=AnalysisStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The report as JSON."""
    html: Mapped[str | None] = mapped_column(Text, default=None)
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
