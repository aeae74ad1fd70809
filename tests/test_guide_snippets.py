"""The operations guide's Python snippets, run as written against this project."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import redis

from consultantos.jobs.dead_letter import DeadLetterEntry
from tests.helpers.worker import celery_worker, wait_for
from tests.worker_app import slow


def seed_dead_letters(client: redis.Redis, queue: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        entry = DeadLetterEntry(
            task_id=f"dead-{queue}-{n}",
            task_name="consultantos.jobs.tasks.check_monitor_task",
            args=[f"monitor_{n}"],
            kwargs={},
            exception="NotFound: monitor 'monitor_0' does not exist",
            traceback="Traceback (most recent call last): ...",
            failed_at=f"2026-11-24T03:00:0{n}+00:00",
            retries=0,
            queue=queue,
            priority=5,
            reason="permanent error",
        )
        client.lpush(f"{queue}.dead", entry.to_json())
        ids.append(entry.task_id)
    return ids


def run(snippet: str, namespace: dict | None = None) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(snippet, namespace if namespace is not None else {})
    return out.getvalue()


INSPECT = """
from consultantos.jobs.task_monitor import get_dlq_monitor

dlq_monitor = get_dlq_monitor()

# Get queue sizes
queue_sizes = dlq_monitor.get_all_dead_letter_queues()
print(f"Dead letter queues: {queue_sizes}")

# Inspect failed tasks
failed_tasks = dlq_monitor.inspect_dead_letter_queue("critical.dead", limit=10)
for task in failed_tasks:
    print(f"Task ID: {task['task_id']}")
    print(f"Task Name: {task['task_name']}")
    print(f"Exception: {task['exception']}")
    print(f"Failed At: {task['failed_at']}")
    print("---")
"""

BULK_REQUEUE = """
from consultantos.jobs.celery_app import app

# Get failed tasks from DLQ
failed_tasks = dlq_monitor.inspect_dead_letter_queue("normal.dead", limit=100)

# Requeue each task
for task in failed_tasks:
    # Extract task details and requeue
    task_name = task["task_name"]
    args = task["args"]
    kwargs = task["kwargs"]

    # Send to original queue
    app.send_task(
        task_name,
        args=args,
        kwargs=kwargs,
        queue="normal",
        priority=5,
    )
"""

PURGE = """
from consultantos.jobs.task_monitor import get_dlq_monitor

dlq_monitor = get_dlq_monitor()

# Purge specific queue
purged_count = dlq_monitor.purge_dead_letter_queue("critical.dead")
print(f"Purged {purged_count} messages")
"""

QUEUE_MANUALLY = """
from consultantos.jobs.tasks import (
    check_monitor_task,
    process_alert_task,
    run_analysis_task,
)

# Queue monitor check
result = check_monitor_task.apply_async(
    args=["monitor_123"],
    priority=5,
    queue="normal",
)

# Queue with custom countdown (delay)
result = check_monitor_task.apply_async(
    args=["monitor_123"],
    countdown=300,  # Delay 5 minutes
    priority=5,
    queue="normal",
)

# Queue with ETA (specific time)
from datetime import datetime, timedelta
eta = datetime.utcnow() + timedelta(hours=1)

result = check_monitor_task.apply_async(
    args=["monitor_123"],
    eta=eta,
    priority=5,
    queue="normal",
)
"""


def test_inspect_bulk_requeue_and_purge_snippets(redis_client: redis.Redis) -> None:
    critical = seed_dead_letters(redis_client, "critical", 2)
    seed_dead_letters(redis_client, "normal", 3)
    namespace: dict = {}

    printed = run(INSPECT, namespace)
    assert "Dead letter queues: {'critical.dead': 2, 'high.dead': 0," in printed
    for task_id in critical:
        assert f"Task ID: {task_id}" in printed
    assert "Task Name: consultantos.jobs.tasks.check_monitor_task" in printed
    assert "Exception: NotFound: monitor" in printed and "Failed At: 2026-11-24T03:00" in printed
    assert run(INSPECT, namespace) == printed  # inspecting twice shows the same

    run(BULK_REQUEUE, namespace)
    normal = redis_client.lrange(
        namespace["app"].connection_for_write().default_channel._q_for_pri("normal", 5), 0, -1
    )
    assert len(normal) == 3

    assert run(PURGE) == "Purged 2 messages\n"
    assert redis_client.llen("critical.dead") == 0


def test_queue_a_task_manually_snippet(redis_client: redis.Redis) -> None:
    """All three sends are accepted; the ETA one hour ahead fits the visibility timeout."""
    from consultantos.jobs.celery_app import app

    run(QUEUE_MANUALLY)
    with app.connection_for_write() as conn:
        assert conn.default_channel._size("normal") == 3


def test_task_status_get_and_revoke_snippets(redis_client: redis.Redis, tmp_path: Path) -> None:
    from celery.result import AsyncResult

    with celery_worker(tmp_path, concurrency=2):
        done = slow.apply_async(args=["test:done", 0], queue="normal")
        result = AsyncResult(done.id)
        assert result.get(timeout=60) == "done"
        assert result.status == "SUCCESS" and result.successful()

        running = slow.apply_async(args=["test:running", 30], queue="normal")
        wait_for(lambda: AsyncResult(running.id).status == "STARTED", timeout=30)
        AsyncResult(running.id).revoke(terminate=True)  # terminate a running task
        wait_for(lambda: AsyncResult(running.id).status == "REVOKED", timeout=30)
        assert redis_client.lrange("test:running", 0, -1) == [f"start:{running.id}"]

        later = slow.apply_async(args=["test:later", 0], queue="normal", countdown=3)
        AsyncResult(later.id).revoke(terminate=False)  # cancel before it starts
        wait_for(lambda: AsyncResult(later.id).status == "REVOKED", timeout=30)
        time.sleep(1)
        assert redis_client.llen("test:later") == 0
