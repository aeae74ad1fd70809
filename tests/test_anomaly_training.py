"""Anomaly models in the database (SQLite and PostgreSQL): versioned training with statistics,
and checks of a real HTTP page scored against the latest model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from consultantos import db
from consultantos.db.analysis_models import AnomalyModel
from consultantos.db.models import Alert, AlertKind
from consultantos.monitoring.anomaly import METHOD
from consultantos.monitoring.anomaly_store import train_anomaly_models
from consultantos.monitoring.check import check_monitor
from tests.helpers.history import (
    HOUR,
    add_monitor,
    hourly_history,
    insert_snapshots,
    seasonal_price,
)
from tests.helpers.http_server import LocalServer, Reply

T = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # a Monday, 06:00: the daily high (110)
WEEKS_4 = 28 * 24


def models_of(monitor_id: str) -> list[AnomalyModel]:
    with db.session_scope() as session:
        query = select(AnomalyModel).where(AnomalyModel.monitor_id == monitor_id)
        return list(session.scalars(query.order_by(AnomalyModel.version)))


def test_training_stores_versions_with_statistics_for_monitors_with_enough_history(
    database: str,
) -> None:
    few = add_monitor(name="few")
    many = add_monitor(name="many")
    paused = add_monitor(name="paused", status="paused")
    insert_snapshots(hourly_history(few, end=T, hours=29))
    insert_snapshots(hourly_history(many, end=T, hours=WEEKS_4 + 48))  # two days too many
    insert_snapshots(hourly_history(paused, end=T, hours=WEEKS_4))

    result = train_anomaly_models(run_id="run-1", now=T)

    assert (result["trained"], result["skipped"], result["metrics"]) == (1, 1, 1)
    assert result["window_start"] == (T - timedelta(days=28)).isoformat()
    [model] = models_of(many)
    assert (model.version, model.run_id, model.method) == (1, "run-1", METHOD)
    assert model.snapshot_count == WEEKS_4  # the training window only
    assert (model.window_start, model.window_end) == (T - timedelta(days=28), T)
    assert list(model.params["metrics"]) == ["value"]  # element_count is not scored
    stats = model.stats["metrics"]["value"]
    assert stats["points"] == WEEKS_4 and "hour" in stats["components"]
    assert stats["scale"] == pytest.approx(1.0, rel=0.3)
    assert model.stats["threshold"] == 5.0
    assert models_of(few) == [] and models_of(paused) == []

    again = train_anomaly_models(run_id="run-1", now=T)  # a redelivered run
    assert again["trained"] == 1 and len(models_of(many)) == 1
    train_anomaly_models(run_id="run-2", now=T + timedelta(days=7))
    assert [m.version for m in models_of(many)] == [1, 2]


def page(price: float) -> Reply:
    return Reply(body=f"<h1>Acme pricing</h1><p class=price>${price:,.2f}</p>")


@pytest.fixture
def source() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def anomalies(monitor_id: str) -> list[Alert]:
    with db.session_scope() as session:
        query = select(Alert).where(Alert.monitor_id == monitor_id, Alert.kind == "anomaly")
        return list(session.scalars(query.order_by(Alert.created_at)))


def test_a_spike_on_a_watched_page_raises_one_anomaly_alert(
    database: str, source: LocalServer
) -> None:
    monitor_id = add_monitor(url=source.url("/pricing"), selector=".price")
    insert_snapshots(hourly_history(monitor_id, end=T, hours=WEEKS_4))
    assert train_anomaly_models(now=T)["trained"] == 1
    assert seasonal_price(T) == pytest.approx(110)

    def check(price: float, n: int) -> list[str]:
        source.route("/pricing", page(price))
        outcome = check_monitor(
            monitor_id=monitor_id, check_id=f"check-{n}", now=T + n * HOUR / 60, force=True
        )
        return outcome.alert_ids

    check(110.4, 1)  # normal for a Monday morning
    assert anomalies(monitor_id) == []
    spike_alerts = check(180.0, 2)
    [alert] = anomalies(monitor_id)
    assert alert.id in spike_alerts
    details = alert.details
    assert (details["metric"], details["value"], details["direction"]) == ("value", 180, "above")
    assert details["expected"] == pytest.approx(110, abs=1.5)
    assert details["expected_low"] < 110 < details["expected_high"] < 120
    assert details["score"] > 50 and details["model_version"] == 1
    assert "value is 180.00, above its expected range" in alert.title
    assert f"(anomaly score {details['score']:.1f})" in alert.title

    check(181.0, 3)  # the same excursion: no second alert
    check(110.0, 4)  # back to normal
    assert len(anomalies(monitor_id)) == 1
    check(40.0, 5)  # a dip
    assert [a.details["direction"] for a in anomalies(monitor_id)] == ["above", "below"]
    # The threshold rule still works alongside: each big move also made a metric_changed alert.
    with db.session_scope() as session:
        kinds = session.scalars(select(Alert.kind).where(Alert.monitor_id == monitor_id))
        assert sorted(set(kinds)) == [AlertKind.ANOMALY, AlertKind.CONTENT_CHANGED,
                                      AlertKind.METRIC_CHANGED]  # fmt: skip


def test_a_monitor_with_too_little_history_keeps_the_threshold_rule_only(
    database: str, source: LocalServer
) -> None:
    monitor_id = add_monitor(url=source.url("/pricing"), selector=".price")
    insert_snapshots(hourly_history(monitor_id, end=T, hours=20))
    assert train_anomaly_models(now=T)["skipped"] == 1
    source.route("/pricing", page(500.0))
    check_monitor(monitor_id=monitor_id, check_id="spike", now=T, force=True)
    with db.session_scope() as session:
        kinds = set(session.scalars(select(Alert.kind).where(Alert.monitor_id == monitor_id)))
        assert AlertKind.METRIC_CHANGED in kinds and AlertKind.ANOMALY not in kinds
        assert session.scalar(select(func.count()).select_from(AnomalyModel)) == 0
