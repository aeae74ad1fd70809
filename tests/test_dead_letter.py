"""Dead-letter queues on a real Redis: inspect, requeue (once, even concurrently), purge, trim."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis

from consultantos.errors import InvalidArguments, NotFound
from consultantos.jobs.celery_app import app
from consultantos.jobs.dead_letter import DeadLetterEntry
from consultantos.jobs.task_monitor import get_dlq_monitor


def entry(
    n: int, *, queue: str = "normal", priority: int = 5, age_days: int = 0
) -> DeadLetterEntry:
    return DeadLetterEntry(
        task_id=f"task-{n}",
        task_name="consultantos.jobs.tasks.check_monitor_task",
        args=[f"mon_{n}"],
        kwargs={},
        exception="NotFound: nope",
        traceback="",
        failed_at=(datetime.now(UTC) - timedelta(days=age_days)).isoformat(),
        retries=0,
        queue=queue,
        priority=priority,
        reason="permanent error",
    )


def queued_ids(client: redis.Redis, queue: str, priority: int) -> list[str]:
    key = app.connection_for_write().default_channel._q_for_pri(queue, 10 - priority)
    return [json.loads(raw)["headers"]["id"] for raw in client.lrange(key, 0, -1)]


def test_names_resolve_and_unknown_queues_are_refused(redis_client: redis.Redis) -> None:
    dlq = get_dlq_monitor()
    assert dlq.resolve("critical") == dlq.resolve("critical.dead") == "critical.dead"
    with pytest.raises(NotFound, match=r"known: critical\.dead"):
        dlq.resolve("nonsense")
    with pytest.raises(InvalidArguments):
        dlq.resolve("bad name with spaces")
    with pytest.raises(NotFound, match="task-9"):
        dlq.requeue_dead_letter_task("normal", "task-9")


def test_requeue_one_keeps_queue_priority_and_id(redis_client: redis.Redis) -> None:
    redis_client.lpush("high.dead", entry(1, queue="high", priority=8).to_json())
    get_dlq_monitor().requeue_dead_letter_task("high.dead", "task-1")
    assert redis_client.llen("high.dead") == 0
    assert queued_ids(redis_client, "high", 8) == ["task-1"]


def test_concurrent_requeue_all_publishes_each_entry_once(redis_client: redis.Redis) -> None:
    for n in range(200):
        redis_client.lpush("normal.dead", entry(n).to_json())
    dlq = get_dlq_monitor()
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(dlq.requeue_dead_letter_queue("normal")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    published = queued_ids(redis_client, "normal", 5)
    assert sorted(published) == sorted(f"task-{n}" for n in range(200))
    assert sum(len(r) for r in results) == 200
    assert redis_client.llen("normal.dead") == 0


def test_purge_counts_and_trim_drops_only_old_entries(redis_client: redis.Redis) -> None:
    for n, age in enumerate([40, 35, 10, 0]):
        redis_client.lpush("low.dead", entry(n, queue="low", age_days=age).to_json())
    dlq = get_dlq_monitor()
    removed = dlq.trim_dead_letter_queue(
        "low.dead", older_than=datetime.now(UTC) - timedelta(days=30)
    )
    assert removed == 2
    assert [e["task_id"] for e in dlq.inspect_dead_letter_queue("low.dead")] == [
        "task-3",
        "task-2",
    ]
    assert dlq.purge_dead_letter_queue("low.dead") == 2
    assert dlq.purge_dead_letter_queue("low.dead") == 0
