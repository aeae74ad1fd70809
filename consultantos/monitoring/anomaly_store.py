"""Anomaly models in the database: the weekly training of every active monitor, and the scoring
each check does against its monitor's latest model (the method is in `anomaly.py`).

Training is idempotent per run: a model row carries its run id (the task id), so a redelivered
training task finds the versions it already stored instead of adding more. Scoring is part of
the check's store transaction and yields `Change`s like `compare()` does, with dedupe keys that
name the baseline snapshot (as compare's do): racing or redelivered checks make one alert.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consultantos.config import Settings, get_settings
from consultantos.db import session_scope
from consultantos.db.analysis_models import AnomalyModel
from consultantos.db.errors import database_unavailable_as_transient
from consultantos.db.models import AlertKind, Monitor, MonitorStatus, Snapshot, new_id, utcnow
from consultantos.maintenance.rollup import as_number
from consultantos.monitoring.anomaly import (
    METHOD,
    NOT_SCORED,
    MetricModel,
    Score,
    fit_metric,
    new_anomalies,
)
from consultantos.monitoring.compare import Change, Observation, Subject

log = logging.getLogger(__name__)

_KEY_MAX_CHARS = 200
_TITLE_MAX_CHARS = 500


def train_anomaly_models(
    *, run_id: str | None = None, now: datetime | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Train a new model version for every active monitor with enough history.

    Returns {"run_id", "trained", "skipped", "metrics", "window_start", "window_end"}:
    monitors given a model, monitors left with the threshold rule only, metrics modelled.
    """
    settings = settings or get_settings()
    run_id = run_id or new_id("train")
    end = now or utcnow()
    start = end - timedelta(days=settings.anomaly_training_days)
    trained = skipped = metrics = 0
    with database_unavailable_as_transient("training anomaly models"):
        with session_scope() as session:
            monitor_ids = list(
                session.scalars(
                    select(Monitor.id)
                    .where(Monitor.status == MonitorStatus.ACTIVE)
                    .order_by(Monitor.id)
                )
            )
        for monitor_id in monitor_ids:
            modelled = _train_monitor(monitor_id, run_id, start, end, settings)
            if modelled:
                trained += 1
                metrics += modelled
            else:
                skipped += 1
    log.info("anomaly training %s: %d monitors trained, %d skipped", run_id, trained, skipped)
    return {
        "run_id": run_id,
        "trained": trained,
        "skipped": skipped,
        "metrics": metrics,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
    }


def _train_monitor(
    monitor_id: str, run_id: str, start: datetime, end: datetime, settings: Settings
) -> int:
    """Store a new version for one monitor; returns the metrics modelled (0: none stored)."""
    for attempt in (1, 2):
        try:
            with session_scope() as session:
                return _train_in(session, monitor_id, run_id, start, end, settings)
        except IntegrityError:
            # another run took the same version number: number ours after it
            if attempt == 2:
                raise
    return 0


def _train_in(
    session: Session,
    monitor_id: str,
    run_id: str,
    start: datetime,
    end: datetime,
    settings: Settings,
) -> int:
    done = session.scalar(
        select(AnomalyModel).where(
            AnomalyModel.monitor_id == monitor_id, AnomalyModel.run_id == run_id
        )
    )
    if done is not None:
        return len(done.params.get("metrics", {}))
    rows = session.execute(
        select(Snapshot.checked_at, Snapshot.metrics)
        .where(
            Snapshot.monitor_id == monitor_id,
            Snapshot.ok.is_(True),
            Snapshot.checked_at >= start,
            Snapshot.checked_at < end,
        )
        .order_by(Snapshot.checked_at, Snapshot.id)
    ).all()
    if len(rows) < settings.anomaly_min_snapshots:
        return 0
    series: dict[str, list[tuple[datetime, float]]] = {}
    for checked_at, values in rows:
        for name, raw in (values or {}).items():
            number = as_number(raw)
            if number is not None and name not in NOT_SCORED:
                series.setdefault(name, []).append((checked_at, number))
    params: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for name, points in sorted(series.items()):
        if len(points) < settings.anomaly_min_snapshots:
            continue
        model, metric_stats = fit_metric(
            points,
            min_bucket_points=settings.anomaly_min_bucket_points,
            threshold=settings.anomaly_threshold,
        )
        params[name] = model.to_json()
        stats[name] = metric_stats
    if not params:
        return 0
    latest = session.scalar(
        select(func.max(AnomalyModel.version)).where(AnomalyModel.monitor_id == monitor_id)
    )
    session.add(
        AnomalyModel(
            monitor_id=monitor_id,
            version=(latest or 0) + 1,
            run_id=run_id,
            method=METHOD,
            trained_at=utcnow(),
            window_start=start,
            window_end=end,
            snapshot_count=len(rows),
            params={"metrics": params},
            stats={
                "metrics": stats,
                "threshold": settings.anomaly_threshold,
                "min_bucket_points": settings.anomaly_min_bucket_points,
                "skipped_metrics": sorted(set(series) - set(params)),
            },
        )
    )
    session.flush()
    return len(params)


def latest_model(session: Session, monitor_id: str) -> AnomalyModel | None:
    """The newest model version of a monitor, if it has one."""
    return session.scalar(
        select(AnomalyModel)
        .where(AnomalyModel.monitor_id == monitor_id)
        .order_by(AnomalyModel.version.desc())
        .limit(1)
    )


def anomaly_changes(
    *,
    session: Session,
    subject: Subject,
    current: Observation,
    at: datetime,
    baseline: Snapshot | None,
    settings: Settings | None = None,
) -> list[Change]:
    """`anomaly` changes for the metrics of `current` (seen at `at`) that became anomalous
    since `baseline` (the latest successful snapshot) under the monitor's latest model."""
    if not current.ok:
        return []
    stored = latest_model(session, subject.monitor_id)
    if stored is None:
        return []
    settings = settings or get_settings()
    models = {
        name: MetricModel.from_json(data) for name, data in stored.params.get("metrics", {}).items()
    }
    previous = None
    if baseline is not None and baseline.ok:
        previous = (baseline.checked_at, _numbers(baseline.metrics or {}))
    scores = new_anomalies(
        models,
        at=at,
        metrics=_numbers(current.metrics),
        previous=previous,
        threshold=settings.anomaly_threshold,
    )
    since = baseline.id if baseline is not None else "first"
    return [_change(subject, score, stored, since, settings.anomaly_threshold) for score in scores]


def _numbers(metrics: Any) -> dict[str, float]:
    numbers = {name: as_number(value) for name, value in dict(metrics).items()}
    return {name: number for name, number in numbers.items() if number is not None}


def _change(
    subject: Subject, score: Score, model: AnomalyModel, since: object, threshold: float
) -> Change:
    direction = "above" if score.score > 0 else "below"
    title = (
        f"{subject.label}: {score.metric} is {_fmt(score.value)}, {direction} its expected range "
        f"{_fmt(score.low)} to {_fmt(score.high)} (anomaly score {abs(score.score):.1f})"
    )
    if len(title) > _TITLE_MAX_CHARS:
        title = title[: _TITLE_MAX_CHARS - 1] + "…"
    return Change(
        kind=AlertKind.ANOMALY,
        dedupe_key=_key("anomaly", score.metric, since, repr(score.value)),
        title=title,
        details={
            **subject.details(),
            "metric": score.metric,
            "value": score.value,
            "expected": round(score.expected, 6),
            "expected_low": round(score.low, 6),
            "expected_high": round(score.high, 6),
            "score": round(abs(score.score), 3),
            "direction": direction,
            "threshold": threshold,
            "model_version": model.version,
            "model_id": model.id,
            "previous_snapshot_id": since if since != "first" else None,
        },
    )


def _key(*parts: object) -> str:
    key = ":".join(str(part) for part in parts)
    if len(key) <= _KEY_MAX_CHARS:
        return key
    return f"{key[:130]}#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 0.01:
        return f"{value:,.2f}"
    return f"{value:.3g}"
