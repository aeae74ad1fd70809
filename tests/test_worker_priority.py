"""Priority and routing with a real worker: the guide's numbers mean what the guide says."""

from __future__ import annotations

import random
from pathlib import Path

import redis

from consultantos.jobs.celery_app import app
from tests.helpers.worker import celery_worker, wait_for
from tests.worker_app import record

BACKLOG = {
    "critical": [10, 9, 10],
    "high": [8, 7, 8],
    "normal": [5, 6, 4, 5],
    "low": [2, 3, 1],
}


def test_backlog_runs_by_queue_rank_then_priority(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    sends = [(queue, priority) for queue, prios in BACKLOG.items() for priority in prios]
    random.Random(7).shuffle(sends)
    for n, (queue, priority) in enumerate(sends):
        record.apply_async(args=[f"{queue}:{priority}:{n}"], queue=queue, priority=priority)

    with celery_worker(tmp_path, concurrency=1):
        wait_for(lambda: redis_client.llen("test:order") == len(sends), timeout=60)
    ran = redis_client.lrange("test:order", 0, -1)

    ranks = {"critical": 0, "high": 1, "normal": 2, "low": 3}
    expected = sorted(
        (f"{q}:{p}:{n}" for n, (q, p) in enumerate(sends)),
        # queue rank first, then higher priority first, then first sent first
        key=lambda label: (
            ranks[label.split(":")[0]],
            -int(label.split(":")[1]),
            int(label.split(":")[2]),
        ),
    )
    assert ran == expected


def test_guide_routes_and_default_priorities() -> None:
    routes = app.conf.task_routes
    name = "consultantos.jobs.tasks.{}".format
    assert routes[name("check_monitor_user_triggered")] == {"queue": "critical", "priority": 10}
    assert routes[name("process_alert_task")] == {"queue": "high", "priority": 8}
    assert routes[name("send_alert_webhook")] == {"queue": "high", "priority": 8}
    for task in ("check_monitor_task", "check_scheduled_monitors_task", "run_analysis_task"):
        assert routes[name(task)] == {"queue": "normal", "priority": 5}
    for task in ("aggregate_snapshots_task", "cleanup_old_data_task", "train_anomaly_model_task"):
        assert routes[name(task)]["queue"] == "low"
        assert 1 <= routes[name(task)]["priority"] <= 3


def test_routed_task_carries_its_queue_and_priority(redis_client: redis.Redis) -> None:
    """A task sent without options lands in its routed queue at its routed priority."""
    from consultantos.jobs.tasks import check_monitor_task, check_monitor_user_triggered

    check_monitor_task.delay("mon_x")
    check_monitor_user_triggered.delay("mon_x", "user-1")
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        assert channel._size("normal") == 1
        assert channel._size("critical") == 1
        # stored at level 10 - priority: critical (10) at level 0, normal (5) at level 5
        assert redis_client.llen("critical") == 1
        assert redis_client.llen(channel._q_for_pri("normal", 5)) == 1
