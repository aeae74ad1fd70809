"""The anomaly model on its own: seasonal where the data supports it, robust to outliers in its
training data, a scale floor for constant metrics, and alerts on transitions only."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from consultantos.monitoring.anomaly import MetricModel, fit_metric, judge, new_anomalies

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)


def fit(points: list[tuple[datetime, float]], min_bucket: int = 5) -> tuple[MetricModel, dict]:
    return fit_metric(points, min_bucket_points=min_bucket, threshold=5.0)


def series(
    hours: int, value: Callable[[datetime], float], *, noise: float = 1.0, seed: int = 3
) -> list[tuple[datetime, float]]:
    rng = random.Random(seed)
    return [(START + n * HOUR, value(START + n * HOUR) + rng.gauss(0, noise)) for n in range(hours)]


def daily(at: datetime) -> float:
    return 100 + 10 * math.sin(2 * math.pi * at.hour / 24)


def test_daily_cycle_is_learnt_and_training_spikes_do_not_widen_the_range() -> None:
    points = series(28 * 24, daily)
    for n in range(0, len(points), 50):  # 2% wild values in the history
        points[n] = (points[n][0], points[n][1] + 80)
    model, stats = fit(points)

    assert "hour" in stats["components"] and "trend" not in stats["components"]
    assert stats["hour_buckets"] == 24 and stats["training_outliers"] >= 13
    assert model.scale == pytest.approx(1.0, rel=0.25)  # the noise, not the spikes
    later = START + 29 * 24 * HOUR
    for hour in (0, 6, 12, 18):
        at = later + hour * HOUR
        assert model.expected(at) == pytest.approx(daily(at), abs=1.0)
    score = judge(model, "price", later + 6 * HOUR, 125.0, 5.0)
    assert score.score > 5 and score.low < 110 < score.high


def test_weekday_effect_and_trend_are_learnt_when_present() -> None:
    def shop(at: datetime) -> float:
        days = (at - START) / timedelta(days=1)
        return 50 + 0.5 * days - (8 if at.weekday() >= 5 else 0)

    model, stats = fit(series(35 * 24, shop, noise=0.5))
    assert set(stats["components"]) == {"trend", "weekday"}
    assert model.slope_per_day == pytest.approx(0.5, abs=0.05)
    saturday = START + 40 * 24 * HOUR + 12 * HOUR
    assert saturday.weekday() == 5
    assert model.expected(saturday) == pytest.approx(shop(saturday), abs=1.0)


def test_no_seasonality_means_no_seasonal_effects() -> None:
    model, stats = fit(series(28 * 24, lambda at: 42.0, noise=2.0))
    assert set(stats["components"]) <= {"trend"}  # chance drift of the noise, if any
    assert model.hour == {} and model.weekday == {} and abs(model.slope_per_day) < 0.05
    assert model.scale == pytest.approx(2.0, rel=0.2)


def test_sparse_buckets_fall_back_to_the_coarser_expectation() -> None:
    # one check a day at varying hours: no hour bucket gets 5 points
    rng = random.Random(5)
    points = [
        (START + timedelta(days=d, hours=rng.randrange(24)), 20 + rng.gauss(0, 1))
        for d in range(40)
    ]
    model, stats = fit(points)
    assert model.hour == {} and "hour" not in stats["components"]
    assert model.expected(START + timedelta(days=41, hours=3)) == pytest.approx(20, abs=1)


def test_a_constant_metric_gets_a_floor_and_counts_their_resolution() -> None:
    price = [(START + n * HOUR, 99.0) for n in range(60)]
    model, stats = fit(price)
    assert stats["raw_scale"] == 0 and model.scale == pytest.approx(0.99)
    at = START + 61 * HOUR
    assert abs(judge(model, "price", at, 99.5, 5.0).score) < 5  # half a percent
    assert judge(model, "price", at, 129.0, 5.0).score > 5

    items = [(START + n * HOUR, 20.0 + (n % 10 == 0)) for n in range(60)]  # 20, now and then 21
    model, _ = fit(items)
    assert model.scale == 1.0  # one item is the resolution of a count
    assert abs(judge(model, "items", at, 22.0, 5.0).score) < 5
    assert judge(model, "items", at, 30.0, 5.0).score > 5


def test_alerts_fire_when_a_metric_becomes_anomalous_not_while_it_stays() -> None:
    model, _ = fit(series(28 * 24, lambda at: 10.0, noise=0.5))
    models = {"price": model}
    at = START + 30 * 24 * HOUR

    def check(value: float, previous: float | None) -> list[str]:
        before = None if previous is None else (at - HOUR, {"price": previous})
        found = new_anomalies(models, at=at, metrics={"price": value}, previous=before,
                              threshold=5.0)  # fmt: skip
        return [score.metric for score in found]

    assert check(10.2, 10.0) == []
    assert check(30.0, 10.0) == ["price"]  # spike
    assert check(30.5, 30.0) == []  # still the same anomaly (a level shift)
    assert check(-20.0, 30.0) == ["price"]  # the other way: a new one
    assert check(30.0, None) == ["price"]  # nothing to compare with
    assert check(10.0, 30.0) == []  # back to normal
    assert new_anomalies(models, at=at, metrics={"other": 1e9}, previous=None, threshold=5) == []


def test_a_model_survives_its_json_form() -> None:
    model, _ = fit(series(28 * 24, daily))
    again = MetricModel.from_json(model.to_json())
    at = START + 30 * 24 * HOUR + 7 * HOUR
    assert again == model and again.expected(at) == model.expected(at)
