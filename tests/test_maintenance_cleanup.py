"""Retention cleanup on SQLite and PostgreSQL: what goes and what stays, the counts it returns,
dead-letter trimming on the private Redis, and 100,000 old snapshots deleted in batches while
checks of a real HTTP source keep writing."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import func, select

from consultantos import db
from consultantos.config import get_settings
from consultantos.db.analysis_models import SnapshotRollup
from consultantos.db.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertKind,
    AlertMessage,
    ChannelKind,
    MessageStatus,
    Monitor,
    Snapshot,
)
from consultantos.errors import InvalidArguments
from consultantos.jobs.dead_letter import DeadLetterEntry
from consultantos.jobs.task_monitor import get_dlq_monitor
from consultantos.maintenance.cleanup import cleanup_old_data
from consultantos.monitoring.check import check_monitor
from tests.helpers.history import DAY, add_alert, add_monitor, insert_snapshots, snapshot
from tests.helpers.http_server import LocalServer, Reply

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
OLD = NOW - 100 * DAY
RECENT = NOW - 10 * DAY


def snapshot_ids(monitor_id: str) -> list[int]:
    with db.session_scope() as session:
        query = select(Snapshot.id).where(Snapshot.monitor_id == monitor_id).order_by(Snapshot.id)
        return list(session.scalars(query))


def count(model: type) -> int:
    with db.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def deliver(alert_id: str, monitor_id: str, at: datetime, status: MessageStatus) -> None:
    """A message to a webhook carrying the alert, made at `at`."""
    with db.session_scope() as session:
        channel = AlertChannel(user_id="user-1", kind=ChannelKind.WEBHOOK,
                               target="http://127.0.0.1:9/hook")  # fmt: skip
        session.add(channel)
        session.flush()
        message = AlertMessage(channel_id=channel.id, channel_kind=ChannelKind.WEBHOOK,
                               target=channel.target, monitor_id=monitor_id, status=status,
                               not_before=at, created_at=at)  # fmt: skip
        session.add(message)
        session.flush()
        session.add(AlertDelivery(alert_id=alert_id, channel_id=channel.id,
                                  message_id=message.id, created_at=at))  # fmt: skip


def test_old_data_goes_but_rollups_and_the_latest_snapshot_of_active_monitors_stay(
    database: str,
) -> None:
    stale = add_monitor(name="stale but active")  # only old snapshots
    busy = add_monitor(name="busy")  # old and recent snapshots
    paused = add_monitor(name="paused", status="paused")  # only old snapshots
    for monitor_id in (stale, busy, paused):
        insert_snapshots(snapshot(monitor_id, OLD + n * DAY) for n in range(3))
    insert_snapshots(snapshot(busy, RECENT + n * DAY) for n in range(2))
    latest_of_stale = snapshot_ids(stale)[-1]
    recent_of_busy = snapshot_ids(busy)[-2:]
    with db.session_scope() as session:
        session.add(SnapshotRollup(monitor_id=busy, day=OLD.date(), checks=3, failures=0,
                                   changes=0, alerts=1))  # fmt: skip
    old_alert = add_alert(busy, AlertKind.CONTENT_CHANGED, OLD, snapshot_id=snapshot_ids(busy)[0])
    new_alert = add_alert(busy, AlertKind.CONTENT_CHANGED, RECENT, snapshot_id=recent_of_busy[0])
    deliver(old_alert, busy, OLD, MessageStatus.DELIVERED)
    deliver(new_alert, busy, RECENT, MessageStatus.DELIVERED)
    waiting = AlertMessage(
        channel_kind=ChannelKind.EMAIL,
        target="a@example.com",
        monitor_id=busy,
        status=MessageStatus.OPEN,
        created_at=OLD,
    )
    with db.session_scope() as session:  # an old message still waiting to be sent stays
        session.add(waiting)

    result = cleanup_old_data(now=NOW)

    assert result == {
        "items_deleted": 8 + 1 + 1 + 1,
        "snapshots": 8,  # 2 of stale (its latest stays), 3 of busy, 3 of paused
        "alerts": 1,
        "deliveries": 1,
        "messages": 1,
        "dead_letters": 0,  # no dead-letter queues given
        "cutoff_date": (NOW - 90 * DAY).isoformat(),
        "retention_days": 90,
        "dead_letter_cutoff": (NOW - 30 * DAY).isoformat(),
    }
    assert snapshot_ids(stale) == [latest_of_stale]
    assert snapshot_ids(busy) == recent_of_busy
    assert snapshot_ids(paused) == []
    assert count(SnapshotRollup) == 1
    with db.session_scope() as session:
        assert list(session.scalars(select(Alert.id))) == [new_alert]
        assert list(session.scalars(select(AlertDelivery.alert_id))) == [new_alert]
        statuses = sorted(session.scalars(select(AlertMessage.status)))
        assert statuses == [MessageStatus.DELIVERED, MessageStatus.OPEN]
    assert cleanup_old_data(now=NOW)["items_deleted"] == 0  # nothing left to do


def dead_letter(client: redis.Redis, queue: str, task_id: str, failed_at: datetime) -> None:
    entry = DeadLetterEntry(task_id=task_id, task_name="consultantos.jobs.tasks.check_monitor_task",
                            args=["mon_x"], kwargs={}, exception="NotFound: gone", traceback="",
                            failed_at=failed_at.isoformat(), retries=0, queue=queue, priority=5,
                            reason="permanent error")  # fmt: skip
    client.lpush(f"{queue}.dead", entry.to_json())


def test_dead_letter_entries_older_than_their_retention_are_trimmed(
    database: str, redis_client: redis.Redis
) -> None:
    for n, age in enumerate((45, 31, 29, 1)):
        dead_letter(redis_client, "normal", f"normal-{n}", NOW - age * DAY)
    dead_letter(redis_client, "low", "low-old", NOW - 400 * DAY)
    dead_letter(redis_client, "critical", "critical-new", NOW - DAY)

    result = cleanup_old_data(now=NOW, dead_letters=get_dlq_monitor())

    assert result["dead_letters"] == 3 and result["items_deleted"] == 3
    left = get_dlq_monitor().inspect_dead_letter_queue("normal.dead", limit=10)
    assert sorted(entry["task_id"] for entry in left) == ["normal-2", "normal-3"]
    assert redis_client.llen("low.dead") == 0 and redis_client.llen("critical.dead") == 1


def test_retention_days_is_an_argument_and_is_checked(database: str) -> None:
    monitor_id = add_monitor(status="paused")
    insert_snapshots(snapshot(monitor_id, NOW - n * DAY) for n in (5, 20, 40))
    result = cleanup_old_data(retention_days=30, now=NOW)
    assert result["snapshots"] == 1 and result["cutoff_date"] == (NOW - 30 * DAY).isoformat()
    assert result["dead_letters"] == 0  # no dead-letter queues given
    for bad in (0, -1, "30", 2.5, True):
        with pytest.raises(InvalidArguments, match="retention_days"):
            cleanup_old_data(retention_days=bad, now=NOW)


def test_progress_is_logged_batch_by_batch(
    database: str, settings_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings_env.setenv("CLEANUP_BATCH_SIZE", "4")
    get_settings.cache_clear()
    monitor_id = add_monitor(status="paused")
    insert_snapshots(snapshot(monitor_id, OLD + n * timedelta(minutes=1)) for n in range(10))
    with caplog.at_level(logging.INFO, logger="consultantos.maintenance.cleanup"):
        result = cleanup_old_data(now=NOW)
    assert result["snapshots"] == 10
    progress = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
    assert progress == [
        "cleanup: snapshots: 4 deleted so far (batch 1)",
        "cleanup: snapshots: 8 deleted so far (batch 2)",
        "cleanup: snapshots: 10 deleted so far (batch 3)",
    ]


OLD_SNAPSHOTS = 100_000


def test_100k_old_snapshots_are_deleted_in_batches_while_checks_keep_writing(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    monitors = [add_monitor(name=f"old {n}") for n in range(20)]
    start = datetime.now(UTC) - 200 * DAY
    insert_snapshots(
        snapshot(monitors[n % 20], start + n * timedelta(seconds=60), check_id=f"old-{n}",
                 metrics={"price": 1.0})
        for n in range(OLD_SNAPSHOTS)
    )  # fmt: skip
    with LocalServer() as source:
        source.route("/page", Reply(body="<p class=price>$5</p>"))
        live = add_monitor(name="live", url=source.url("/page"), selector=".price")
        done = threading.Event()
        durations: list[float] = []
        errors: list[BaseException] = []

        def keep_checking() -> None:
            n = 0
            while not done.is_set():
                began = time.monotonic()
                try:
                    outcome = check_monitor(monitor_id=live, check_id=f"live-{n}", force=True)
                    assert outcome.status == "checked" and outcome.ok
                except BaseException as exc:
                    errors.append(exc)
                    return
                durations.append(time.monotonic() - began)
                n += 1

        checker = threading.Thread(target=keep_checking)
        began = time.monotonic()
        checker.start()
        try:
            with caplog.at_level(logging.INFO, logger="consultantos.maintenance.cleanup"):
                result = cleanup_old_data()
        finally:
            done.set()
            checker.join(60)
        elapsed = time.monotonic() - began

    assert not errors, errors
    assert result["snapshots"] == OLD_SNAPSHOTS - 20  # each active monitor keeps its latest
    batches = [r for r in caplog.records if "so far" in r.getMessage()]
    assert len(batches) == OLD_SNAPSHOTS // 1000
    assert len(durations) >= 3, f"only {len(durations)} checks in {elapsed:.1f} s"
    assert max(durations) < 10, f"a check waited {max(durations):.1f} s for a lock"
    with db.session_scope() as session:
        live_checks = session.scalar(select(func.count()).where(Snapshot.monitor_id == live))
        assert live_checks == len(durations)
        assert session.scalar(select(func.count()).select_from(Snapshot)) == 20 + len(durations)
        assert session.scalar(select(func.count()).select_from(Monitor)) == 21
