"""The figures of one monitor's day, computed from its snapshots: pure functions over rows.

Used by the daily aggregation (which stores them) and by analysis reports (which compute them
for days not aggregated yet), so both agree on what a "check", a "change" or a "p95" is:

- checks: snapshots of the day; failures: those with ok=False;
- changes: successful checks whose content hash differs from the previous successful check
  (the day's first is compared with the last successful check before the day);
- response-time p50 / p95: linear interpolation between closest ranks (as numpy's default);
- per numeric metric (booleans and non-finite values are not numbers here): min, mean, max,
  last (the value of the day's latest check that had it) and count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """The columns of a snapshot a rollup needs."""

    checked_at: datetime
    ok: bool
    response_time_ms: float | None
    content_hash: str | None
    metrics: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One monitor's day, as stored in SnapshotRollup."""

    checks: int
    failures: int
    changes: int
    alerts: int
    alert_counts: dict[str, int]
    response_time_p50_ms: float | None
    response_time_p95_ms: float | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """The SnapshotRollup column values."""
        return {
            "checks": self.checks,
            "failures": self.failures,
            "changes": self.changes,
            "alerts": self.alerts,
            "alert_counts": dict(self.alert_counts),
            "response_time_p50_ms": self.response_time_p50_ms,
            "response_time_p95_ms": self.response_time_p95_ms,
            "metrics": {name: dict(stats) for name, stats in self.metrics.items()},
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) of `values`, interpolated linearly; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def as_number(value: Any) -> float | None:
    """A metric value as a finite float, or None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def metric_stats(rows: Iterable[SnapshotRow]) -> dict[str, dict[str, float]]:
    """min / mean / max / last / count of every numeric metric of `rows` (in time order)."""
    values: dict[str, list[float]] = {}
    for row in rows:
        for name, raw in row.metrics.items():
            number = as_number(raw)
            if number is not None:
                values.setdefault(name, []).append(number)
    return {
        name: {
            "min": min(series),
            "mean": math.fsum(series) / len(series),
            "max": max(series),
            "last": series[-1],
            "count": len(series),
        }
        for name, series in sorted(values.items())
    }


def day_figures(
    *, rows: Sequence[SnapshotRow], previous_hash: str | None, alert_kinds: Iterable[str]
) -> DayFigures:
    """Figures of one monitor's day from its snapshots in time order, the content hash of its
    last successful check before the day, and the kinds of the alerts created that day."""
    changes = 0
    last_hash = previous_hash
    for row in rows:
        if not row.ok or row.content_hash is None:
            continue
        if last_hash is not None and row.content_hash != last_hash:
            changes += 1
        last_hash = row.content_hash
    times = [row.response_time_ms for row in rows if row.ok and row.response_time_ms is not None]
    counts = Counter(str(kind) for kind in alert_kinds)
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    return DayFigures(
        checks=len(rows),
        failures=sum(1 for row in rows if not row.ok),
        changes=changes,
        alerts=sum(counts.values()),
        alert_counts=dict(sorted(counts.items())),
        response_time_p50_ms=None if p50 is None else round(p50, 3),
        response_time_p95_ms=None if p95 is None else round(p95, 3),
        metrics=metric_stats(row for row in rows if row.ok),
    )
