"""Daily rollups: the figures of a day, idempotence, catch-up of missed days, and rollups that
outlive their snapshots. Pure figures without a database; the rest on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from consultantos import db
from consultantos.config import get_settings
from consultantos.db.analysis_models import SnapshotRollup
from consultantos.db.models import AlertKind, Snapshot
from consultantos.errors import InvalidArguments
from consultantos.maintenance.aggregate import aggregate_snapshots
from consultantos.maintenance.rollup import SnapshotRow, day_figures, percentile
from tests.helpers.history import HOUR, add_alert, add_monitor, insert_snapshots, snapshot

DAY0 = date(2025, 3, 3)
T0 = datetime(2025, 3, 3, tzinfo=UTC)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(n) for n in range(10, 0, -1)]
    assert percentile(values, 0.5) == pytest.approx(5.5)
    assert percentile(values, 0.95) == pytest.approx(9.55)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_day_figures_count_changes_failures_and_metrics() -> None:
    def row(hour: int, ok: bool, digest: str | None, price: object) -> SnapshotRow:
        return SnapshotRow(T0 + hour * HOUR, ok, 10.0 * (hour + 1) if ok else None, digest,
                           {"price": price, "flag": True} if ok else {})  # fmt: skip

    rows = [
        row(0, True, "a", 10),
        row(1, False, None, None),
        row(2, True, "b", 30.0),  # a -> b
        row(3, True, "b", 20),
        row(4, True, "a", float("nan")),  # b -> a; NaN is no number
    ]
    figures = day_figures(rows=rows, previous_hash="z", alert_kinds=["anomaly", "source_down"])
    assert figures.checks == 5 and figures.failures == 1
    assert figures.changes == 3  # z -> a, a -> b, b -> a
    assert figures.alerts == 2 and figures.alert_counts == {"anomaly": 1, "source_down": 1}
    assert figures.response_time_p50_ms == pytest.approx(35.0)  # of 10, 30, 40, 50
    assert figures.metrics == {
        "price": {"min": 10.0, "mean": 20.0, "max": 30.0, "last": 20.0, "count": 3}
    }  # booleans are not metrics
    first = day_figures(rows=rows[:1], previous_hash=None, alert_kinds=[])
    assert first.changes == 0  # nothing before it to differ from


def day_of_checks(monitor_id: str, day: date, *, hashes: dict[int, str] | None = None) -> None:
    """24 hourly checks: hours 5 and 17 fail, response time = hour + 1 ms, price = hour."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    hashes = hashes or {}
    rows, digest = [], "h0"
    for hour in range(24):
        digest = hashes.get(hour, digest)
        rows.append(
            snapshot(monitor_id, start + hour * HOUR, ok=hour not in (5, 17),
                     metrics={"price": float(hour)}, content_hash=digest,
                     response_time_ms=float(hour + 1))
        )  # fmt: skip
    insert_snapshots(rows)


def rollups() -> list[dict]:
    with db.session_scope() as session:
        rows = session.scalars(select(SnapshotRollup).order_by(SnapshotRollup.day))
        return [{c.name: getattr(row, c.name) for c in SnapshotRollup.__table__.c} for row in rows]


def test_a_day_is_rolled_up_once_and_again_the_same(database: str) -> None:
    acme = add_monitor()
    other = add_monitor(company="Globex")
    insert_snapshots([snapshot(acme, T0 - HOUR, content_hash="h0")])  # the day before
    day_of_checks(acme, DAY0, hashes={10: "h1", 20: "h2"})
    insert_snapshots([snapshot(other, T0 - 2 * HOUR)])  # nothing on DAY0
    add_alert(acme, AlertKind.CONTENT_CHANGED, T0 + 10 * HOUR)
    add_alert(acme, AlertKind.ANOMALY, T0 + 20 * HOUR)
    add_alert(acme, AlertKind.ANOMALY, T0 + 25 * HOUR)  # the next day

    result = aggregate_snapshots(day="2025-03-03")
    assert result == {"days": ["2025-03-03"], "rollups_written": 1, "rollups_unchanged": 0,
                      "rollups_kept": 0}  # fmt: skip
    [row] = rollups()
    assert (row["monitor_id"], row["day"]) == (acme, DAY0)
    assert (row["checks"], row["failures"], row["changes"]) == (24, 2, 2)
    assert row["alerts"] == 2 and row["alert_counts"] == {"anomaly": 1, "content_changed": 1}
    ok_times = [float(h + 1) for h in range(24) if h not in (5, 17)]
    assert row["response_time_p50_ms"] == pytest.approx(percentile(ok_times, 0.5))
    assert row["response_time_p95_ms"] == pytest.approx(percentile(ok_times, 0.95))
    prices = [float(h) for h in range(24) if h not in (5, 17)]
    assert row["metrics"]["price"] == {"min": 0.0, "mean": pytest.approx(sum(prices) / 22),
                                       "max": 23.0, "last": 23.0, "count": 22}  # fmt: skip

    again = aggregate_snapshots(day=DAY0)
    assert again["rollups_unchanged"] == 1 and again["rollups_written"] == 0
    assert rollups() == [row]  # the very same row, computed_at included


def test_without_a_day_the_missed_days_are_caught_up(database: str) -> None:
    acme = add_monitor()
    for offset in range(4):  # DAY0 .. DAY0+3, where DAY0+3 is "today"
        day_of_checks(acme, DAY0 + timedelta(days=offset))
    now = T0 + timedelta(days=3, hours=2)

    result = aggregate_snapshots(now=now)
    assert result["days"] == [(DAY0 + timedelta(days=n)).isoformat() for n in range(-4, 3)]
    assert result["rollups_written"] == 3
    assert [row["day"] for row in rollups()] == [DAY0 + timedelta(days=n) for n in range(3)]

    # A day of history that arrived late (a restored backup) is picked up on the next run.
    insert_snapshots([snapshot(acme, T0 - timedelta(days=2), check_id="late")])
    result = aggregate_snapshots(now=now)
    assert (result["rollups_written"], result["rollups_unchanged"]) == (1, 3)


def test_catch_up_reaches_as_far_back_as_the_setting(
    database: str, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("AGGREGATION_CATCHUP_DAYS", "2")
    get_settings.cache_clear()
    acme = add_monitor()
    for offset in range(3):
        day_of_checks(acme, DAY0 + timedelta(days=offset))
    result = aggregate_snapshots(now=T0 + timedelta(days=3, hours=2))
    assert result["days"] == ["2025-03-04", "2025-03-05"]
    assert [row["day"] for row in rollups()] == [DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)]


def test_a_rollup_is_never_replaced_by_one_of_fewer_checks(database: str) -> None:
    acme = add_monitor()
    day_of_checks(acme, DAY0)
    aggregate_snapshots(day=DAY0)
    [before] = rollups()
    with db.session_scope() as session:  # retention deleted the morning
        session.execute(delete(Snapshot).where(Snapshot.checked_at < T0 + 12 * HOUR))

    result = aggregate_snapshots(day=DAY0)
    assert result["rollups_kept"] == 1 and rollups() == [before]

    insert_snapshots([snapshot(acme, T0 + 23.5 * HOUR, metrics={"price": 99.0})])
    insert_snapshots([snapshot(acme, T0 + h * HOUR, check_id=f"back-{h}") for h in range(12)])
    result = aggregate_snapshots(day=DAY0)  # more checks than before: rebuilt
    [after] = rollups()
    assert result["rollups_written"] == 1 and after["checks"] == 25
    assert after["metrics"]["price"]["last"] == 99.0 and after["id"] == before["id"]


@pytest.mark.parametrize("day", ["2025-13-01", "yesterday", 20250303, ["2025-03-03"]])
def test_a_day_that_is_not_a_date_is_refused(database: str, day: object) -> None:
    with pytest.raises(InvalidArguments, match="ISO date"):
        aggregate_snapshots(day=day)


def test_a_future_day_is_refused(database: str) -> None:
    with pytest.raises(InvalidArguments, match="future"):
        aggregate_snapshots(day=DAY0 + timedelta(days=1), now=T0 + HOUR)
