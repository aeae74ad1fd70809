"""The analysis of one company over a period, as JSON-able data.

Daily figures come from the stored rollups where the day was aggregated, and are computed from
the snapshots with the very same code (consultantos.maintenance.rollup) where it was not (today,
or a day the aggregation has not reached): a report covers its whole period either way, and
keeps covering it after retention has deleted the snapshots. Changes with their diffs and the
anomalies are read from the alerts, which live as long as the snapshots.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consultantos.analysis.request import AnalysisRequest, monitors_in_scope
from consultantos.db.analysis_models import SnapshotRollup
from consultantos.db.models import Alert, AlertKind, Monitor
from consultantos.maintenance.aggregate import day_bounds, figures_for_day
from consultantos.maintenance.rollup import DayFigures

CHANGES_PER_MONITOR = 20
ANOMALIES_MAX = 100
METRICS_PER_MONITOR = 8
CHARTED_ELSEWHERE = frozenset({"http_status", "response_time_ms"})
"""Metrics not given a trend chart of their own (response time has its own percentiles)."""

Daily = dict[str, dict[date, DayFigures]]


def period_days(request: AnalysisRequest) -> list[date]:
    return [request.start + timedelta(days=n) for n in range(request.days)]


def daily_figures(
    session: Session, *, monitor_ids: list[str], days: list[date], today: date
) -> Daily:
    """Figures per monitor and day: stored rollups of aggregated days, computed ones otherwise.

    A day before today that has any rollup was aggregated: its monitors without one had no
    snapshots. Today is always computed (its rollup, if any, is of a part of the day)."""
    figures: Daily = {monitor_id: {} for monitor_id in monitor_ids}
    if not monitor_ids or not days:
        return figures
    first, last = days[0], days[-1]
    aggregated = set(
        session.scalars(
            select(SnapshotRollup.day)
            .where(SnapshotRollup.day >= first, SnapshotRollup.day <= last)
            .distinct()
        )
    )
    stored = session.scalars(
        select(SnapshotRollup).where(
            SnapshotRollup.monitor_id.in_(monitor_ids),
            SnapshotRollup.day >= first,
            SnapshotRollup.day <= last,
        )
    )
    for row in stored:
        if row.day < today:
            figures[row.monitor_id][row.day] = DayFigures(
                **{name: getattr(row, name) for name in DayFigures.__dataclass_fields__}
            )
    for day in days:
        if day in aggregated and day < today:
            continue
        for monitor_id, computed in figures_for_day(
            session, day=day, monitor_ids=monitor_ids
        ).items():
            figures[monitor_id][day] = computed
    return figures


def _totals(per_day: Iterable[DayFigures]) -> dict[str, Any]:
    days = list(per_day)
    checks = sum(f.checks for f in days)
    failures = sum(f.failures for f in days)
    kinds: Counter[str] = Counter()
    for f in days:
        kinds.update(f.alert_counts)
    p50s = [f.response_time_p50_ms for f in days if f.response_time_p50_ms is not None]
    return {
        "checks": checks,
        "failures": failures,
        "uptime_pct": None if not checks else round(100 * (checks - failures) / checks, 2),
        "changes": sum(f.changes for f in days),
        "alerts": sum(kinds.values()),
        "alert_counts": dict(sorted(kinds.items())),
        "response_time_p50_ms": round(statistics.median(p50s), 1) if p50s else None,
    }


def _daily_sums(figures: Daily, monitor_ids: list[str], days: list[date], key: str) -> list[int]:
    return [sum(getattr(figures[m][d], key) for m in monitor_ids if d in figures[m]) for d in days]


def _metric_series(per_day: dict[date, DayFigures], days: list[date]) -> list[dict[str, Any]]:
    names = sorted({name for f in per_day.values() for name in f.metrics} - CHARTED_ELSEWHERE)
    series = []
    for name in names[:METRICS_PER_MONITOR]:
        stats = [per_day[day].metrics.get(name) if day in per_day else None for day in days]
        means = [None if s is None else s["mean"] for s in stats]
        known = [s for s in stats if s is not None]
        first, last = known[0]["mean"], known[-1]["last"]
        series.append(
            {
                "name": name,
                "min": [None if s is None else s["min"] for s in stats],
                "mean": means,
                "max": [None if s is None else s["max"] for s in stats],
                "first": first,
                "last": last,
                "change_pct": None if first == 0 else round((last - first) / abs(first) * 100, 2),
            }
        )
    return series


def _alerts(
    session: Session, monitor_ids: list[str], kinds: list[AlertKind], start: datetime, end: datetime
) -> list[Alert]:
    query = (
        select(Alert)
        .where(
            Alert.monitor_id.in_(monitor_ids),
            Alert.kind.in_([str(kind) for kind in kinds]),
            Alert.created_at >= start,
            Alert.created_at < end,
        )
        .order_by(Alert.created_at.desc(), Alert.id)
    )
    return list(session.scalars(query))


def _monitor_section(
    monitor: Monitor, per_day: dict[date, DayFigures], days: list[date], changes: list[Alert]
) -> dict[str, Any]:
    return {
        "id": monitor.id,
        "name": monitor.name,
        "url": monitor.url,
        "source_type": str(monitor.source_type),
        "status": str(monitor.status),
        **_totals(per_day.values()),
        "daily_checks": [per_day[d].checks if d in per_day else 0 for d in days],
        "daily_failures": [per_day[d].failures if d in per_day else 0 for d in days],
        "response_time": {
            "p50": [per_day[d].response_time_p50_ms if d in per_day else None for d in days],
            "p95": [per_day[d].response_time_p95_ms if d in per_day else None for d in days],
        },
        "metrics": _metric_series(per_day, days),
        "change_log": [
            {
                "at": alert.created_at.isoformat(),
                "kind": str(alert.kind),
                "title": alert.title,
                "diff": alert.details.get("diff"),
                "lines_added": alert.details.get("lines_added"),
                "lines_removed": alert.details.get("lines_removed"),
            }
            for alert in changes[:CHANGES_PER_MONITOR]
        ],
    }


def build_report_data(
    session: Session,
    *,
    request: AnalysisRequest,
    user_id: str | None,
    monitors: list[Monitor],
    today: date,
) -> dict[str, Any]:
    """The whole report of `request` over the company's `monitors`, with its industry peers."""
    days = period_days(request)
    start, end = day_bounds(request.start)[0], day_bounds(request.end)[1]
    industries = Counter(m.industry for m in monitors if m.industry)
    industry = industries.most_common(1)[0][0] if industries else None
    peers = [
        m
        for m in monitors_in_scope(session, user_id=user_id)
        if industry is not None and m.industry == industry and m.company != request.company
    ]
    own_ids = [m.id for m in monitors]
    figures = daily_figures(
        session, monitor_ids=own_ids + [m.id for m in peers], days=days, today=today
    )
    changed = _alerts(
        session, own_ids, [AlertKind.CONTENT_CHANGED, AlertKind.METRIC_CHANGED], start, end
    )
    anomalies = _alerts(session, own_ids, [AlertKind.ANOMALY], start, end)
    own_days = [f for m in own_ids for f in figures[m].values()]
    sections = [
        _monitor_section(m, figures[m.id], days, [a for a in changed if a.monitor_id == m.id])
        for m in monitors
    ]
    names = {m.id: m.name for m in monitors}
    by_company: dict[str, list[Monitor]] = {request.company: monitors}
    for m in peers:
        by_company.setdefault(m.company, []).append(m)
    return {
        "company": request.company,
        "industry": industry,
        "user_id": user_id,
        "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
        "days": [d.isoformat() for d in days],
        "summary": {"monitors": len(monitors), "anomalies": len(anomalies), **_totals(own_days)},
        "daily": {
            key: _daily_sums(figures, own_ids, days, key)
            for key in ("checks", "failures", "changes", "alerts")
        },
        "monitors": sections,
        "anomalies": [
            {
                "at": a.created_at.isoformat(),
                "monitor_id": a.monitor_id,
                "monitor": names.get(a.monitor_id),
                "metric": a.details.get("metric"),
                "value": a.details.get("value"),
                "expected_low": a.details.get("expected_low"),
                "expected_high": a.details.get("expected_high"),
                "score": a.details.get("score"),
                "title": a.title,
            }
            for a in anomalies[:ANOMALIES_MAX]
        ],
        "peers": [
            {
                "company": company,
                "subject": company == request.company,
                "monitors": len(members),
                **_totals(f for m in members for f in figures[m.id].values()),
            }
            for company, members in by_company.items()
        ],
    }
