"""Anomaly models: what each numeric metric of a monitor normally looks like, and how far a new
value is from that. Pure functions; `anomaly_store.py` trains from and scores against the
database, and bench/anomaly_quality.py measures this very code on generated series.

The method: a robust additive seasonal decomposition, fitted with medians.

    expected(t) = level + slope·days(t) + hour_effect[hour(t)] + weekday_effect[weekday(t)]
    score(t, x) = (x - expected(t)) / scale          scale = 1.4826 · MAD(training residuals)

- **Robust.** Every estimate is a median: the level, each seasonal effect (median of the
  residuals in its bucket), the trend (Theil-Sen: the median of the slopes between daily
  medians) and the scale (median absolute deviation). Training history contains the very spikes
  and outages we want to find; a median ignores up to half of its points being wild (Theil-Sen
  about 29%), where a mean and standard deviation are dragged by a single spike and would widen
  the expected range until it hides the next one.
- **Seasonal where the data supports it.** Hour of day and day of week (UTC) are modelled as two
  additive effects rather than 168 hour-of-week buckets: with hourly checks four weeks give
  ~28 points per hour bucket and ~96 per weekday, but only 4 per hour-of-week bucket, too few for
  a median. A bucket with fewer than ANOMALY_MIN_BUCKET_POINTS points gets no effect of its own
  and falls back to the coarser expectation (level and trend). Each component (trend, hour,
  weekday) is kept only if dropping it would make the residual scale MIN_GAIN worse: a metric
  without a daily cycle is not given 24 effects fitted to noise. (Judging components on
  held-out days instead was tried: with the spikes and level shifts of real histories in both
  halves, its verdicts were noisier, and recall in the bench fell by three points.)
- **Scale floor.** A metric that was constant in training (a price) has MAD 0; its scale is
  floored at RELATIVE_FLOOR of its typical magnitude and at its resolution (the smallest step
  between two values seen: 1 for counts), so one more item, or a cent, is not an anomaly.
- **Transitions, not states.** A check alerts when a metric *becomes* anomalous: when the
  previous successful check was anomalous the same way under the same model, a level shift
  that persists is not re-alerted on every check until the next weekly training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations, pairwise
from statistics import median
from typing import Any

METHOD = "robust-seasonal-median-v1"
MAD_TO_SIGMA = 1.4826
"""MAD times this estimates the standard deviation of normally distributed noise."""
MIN_GAIN = {"hour": 0.10, "weekday": 0.05, "trend": 0.05}
"""A component stays only if dropping it raises the residual MAD by more than this share. The
24 hour effects get the highest bar: fitted to pure noise they lower its MAD by 3-7%."""
RELATIVE_FLOOR = 0.01
"""The scale is at least this share of the metric's median absolute value."""
MIN_TREND_DAYS = 7
"""Days with data needed before a trend is even tried."""
MAX_EXTRAPOLATION_DAYS = 14.0
"""The trend is followed this far past the end of training, then held."""
NOT_SCORED = frozenset({"http_status", "response_time_ms", "element_count", "item_count"})
"""Metrics never modelled (as compare.py leaves them out of the threshold rule): the status
code and response time describe our fetch, not the competitor (the rollups keep response-time
percentiles), and the counts of matched elements or feed entries cannot move without the
content changing, which the check's content_changed alert already reports."""
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class MetricModel:
    """The fitted normal behaviour of one metric."""

    level: float
    """Expected value at `origin` before seasonal effects."""
    slope_per_day: float
    origin: float
    """Unix time of the end of training, where the trend is anchored."""
    hour: dict[int, float]
    weekday: dict[int, float]
    """Effects by UTC hour (0-23) and weekday (0 = Monday); missing buckets have none."""
    scale: float
    """Robust standard deviation of the residuals, floored (never 0)."""

    def expected(self, at: datetime) -> float:
        t = min(at.timestamp(), self.origin + MAX_EXTRAPOLATION_DAYS * _DAY)
        when = at.astimezone(UTC)
        return (
            self.level
            + self.slope_per_day * (t - self.origin) / _DAY
            + self.hour.get(when.hour, 0.0)
            + self.weekday.get(when.weekday(), 0.0)
        )

    def score(self, at: datetime, value: float) -> float:
        """Signed distance from the expectation, in scales."""
        return (value - self.expected(at)) / self.scale

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "slope_per_day": self.slope_per_day,
            "origin": self.origin,
            "hour": {str(key): value for key, value in sorted(self.hour.items())},
            "weekday": {str(key): value for key, value in sorted(self.weekday.items())},
            "scale": self.scale,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricModel:
        return cls(
            level=float(data["level"]),
            slope_per_day=float(data["slope_per_day"]),
            origin=float(data["origin"]),
            hour={int(key): float(value) for key, value in data["hour"].items()},
            weekday={int(key): float(value) for key, value in data["weekday"].items()},
            scale=float(data["scale"]),
        )


@dataclass(frozen=True, slots=True)
class Score:
    """A metric value judged against its model."""

    metric: str
    value: float
    expected: float
    low: float
    high: float
    """The expected range: expected ± threshold · scale."""
    score: float
    """Signed distance in scales; anomalous when |score| > threshold."""


@dataclass(frozen=True, slots=True)
class _Fit:
    model: MetricModel
    mad: float
    components: tuple[str, ...]


def fit_metric(
    points: Sequence[tuple[datetime, float]], *, min_bucket_points: int, threshold: float
) -> tuple[MetricModel, dict[str, Any]]:
    """Fit one metric's model to (time, value) points; returns it with training statistics."""
    if len(points) < 3:
        raise ValueError("at least 3 points are needed to fit a model")
    ordered = sorted(points, key=lambda point: point[0])
    times = [at.timestamp() for at, _ in ordered]
    values = [float(value) for _, value in ordered]
    hours = [at.astimezone(UTC).hour for at, _ in ordered]
    weekdays = [at.astimezone(UTC).weekday() for at, _ in ordered]
    data = (times, values, hours, weekdays, min_bucket_points)
    candidates = [name for name in ("trend", "hour", "weekday") if _supported(name, *data)]
    best = _fit(data, tuple(candidates))
    for name in ("hour", "weekday", "trend"):
        if name not in best.components:
            continue
        simpler = _fit(data, tuple(c for c in best.components if c != name))
        if simpler.mad <= best.mad * (1 + MIN_GAIN[name]):
            best = simpler
    floor = max(RELATIVE_FLOOR * median(abs(v) for v in values), _resolution(values), 1e-9)
    raw_scale = MAD_TO_SIGMA * best.mad
    model = _replace_scale(best.model, max(raw_scale, floor))
    scores = [model.score(at, value) for at, value in ordered]
    stats = {
        "points": len(values),
        "components": list(best.components),
        "level": model.level,
        "slope_per_day": model.slope_per_day,
        "hour_buckets": len(model.hour),
        "weekday_buckets": len(model.weekday),
        "scale": model.scale,
        "raw_scale": raw_scale,
        "scale_floor": floor,
        "median": median(values),
        "training_outliers": sum(1 for score in scores if abs(score) > threshold),
    }
    return model, stats


def _supported(
    name: str,
    times: list[float],
    values: list[float],
    hours: list[int],
    weekdays: list[int],
    min_bucket_points: int,
) -> bool:
    if name == "trend":
        return len({int(t // _DAY) for t in times}) >= MIN_TREND_DAYS
    keys = hours if name == "hour" else weekdays
    counts: dict[int, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return sum(1 for count in counts.values() if count >= min_bucket_points) >= 2


_Data = tuple[list[float], list[float], list[int], list[int], int]
"""Times, values, hours, weekdays and the minimum points per bucket."""


def _fit(data: _Data, components: tuple[str, ...]) -> _Fit:
    times, values, hours, weekdays, min_bucket = data
    origin = times[-1]
    slope = _theil_sen(times, values) if "trend" in components else 0.0
    base = [v - slope * (t - origin) / _DAY for t, v in zip(times, values, strict=True)]
    level = median(base)
    y = [b - level for b in base]
    hour: dict[int, float] = {}
    weekday: dict[int, float] = {}
    for _ in range(2 if {"hour", "weekday"} <= set(components) else 1):
        if "hour" in components:
            rest = [yi - weekday.get(d, 0.0) for yi, d in zip(y, weekdays, strict=True)]
            hour = _bucket_medians(hours, rest, min_bucket)
        if "weekday" in components:
            rest = [yi - hour.get(h, 0.0) for yi, h in zip(y, hours, strict=True)]
            weekday = _bucket_medians(weekdays, rest, min_bucket)
    residuals = [
        yi - hour.get(h, 0.0) - weekday.get(d, 0.0)
        for yi, h, d in zip(y, hours, weekdays, strict=True)
    ]
    shift = median(residuals)
    mad = median(abs(r - shift) for r in residuals)
    model = MetricModel(
        level=level + shift,
        slope_per_day=slope,
        origin=origin,
        hour=hour,
        weekday=weekday,
        scale=1.0,
    )
    return _Fit(model=model, mad=mad, components=components)


def _bucket_medians(keys: list[int], values: list[float], min_points: int) -> dict[int, float]:
    buckets: dict[int, list[float]] = {}
    for key, value in zip(keys, values, strict=True):
        buckets.setdefault(key, []).append(value)
    return {key: median(vs) for key, vs in sorted(buckets.items()) if len(vs) >= min_points}


def _theil_sen(times: list[float], values: list[float]) -> float:
    """Median slope per day between the daily medians."""
    days: dict[int, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        days.setdefault(int(t // _DAY), []).append(v)
    daily = [(day, median(vs)) for day, vs in sorted(days.items())]
    slopes = [(b - a) / (j - i) for (i, a), (j, b) in combinations(daily, 2)]
    return median(slopes) if slopes else 0.0


def _resolution(values: list[float]) -> float:
    """The smallest step between two distinct values (0 when all are equal)."""
    distinct = sorted(set(values))
    steps = [b - a for a, b in pairwise(distinct)]
    return min(steps) if steps else 0.0


def _replace_scale(model: MetricModel, scale: float) -> MetricModel:
    return MetricModel(
        level=model.level,
        slope_per_day=model.slope_per_day,
        origin=model.origin,
        hour=model.hour,
        weekday=model.weekday,
        scale=scale,
    )


def judge(model: MetricModel, metric: str, at: datetime, value: float, threshold: float) -> Score:
    """`value` of `metric` at `at` against `model`."""
    expected = model.expected(at)
    margin = threshold * model.scale
    return Score(
        metric=metric,
        value=value,
        expected=expected,
        low=expected - margin,
        high=expected + margin,
        score=(value - expected) / model.scale,
    )


def new_anomalies(
    models: Mapping[str, MetricModel],
    *,
    at: datetime,
    metrics: Mapping[str, float],
    previous: tuple[datetime, Mapping[str, float]] | None,
    threshold: float,
) -> list[Score]:
    """Metrics of a check at `at` that became anomalous: outside their expected range now, and
    not outside it the same way at the `previous` successful check (time and metrics)."""
    found: list[Score] = []
    for name in sorted(models):
        value = metrics.get(name)
        if value is None or not math.isfinite(value):
            continue
        now = judge(models[name], name, at, value, threshold)
        if abs(now.score) <= threshold:
            continue
        before = previous[1].get(name) if previous is not None else None
        if previous is not None and before is not None and math.isfinite(before):
            earlier = models[name].score(previous[0], before)
            if abs(earlier) > threshold and (earlier > 0) == (now.score > 0):
                continue  # still the same anomaly
        found.append(now)
    return found
