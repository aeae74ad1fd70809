"""Retries, dead-lettering, poison messages and redelivery, with real worker subprocesses."""

from __future__ import annotations

import time
from pathlib import Path

import redis
from celery.result import AsyncResult

from consultantos.jobs.task_monitor import get_dlq_monitor
from tests.helpers.worker import celery_worker, wait_for, worker_env
from tests.worker_app import die, flaky, reject, slow


def dead_entries(queue: str) -> list[dict]:
    return get_dlq_monitor().inspect_dead_letter_queue(queue, limit=100)


def test_transient_failures_are_retried_until_success(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    result = flaky.apply_async(args=["test:flaky", 2], queue="high", priority=8)
    with celery_worker(tmp_path):
        assert result.get(timeout=60) == 3
    assert get_dlq_monitor().get_all_dead_letter_queues()["high.dead"] == 0


def test_exhausted_retries_land_in_dead_letter_queue_and_requeue_works(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    result = flaky.apply_async(args=["test:flaky", 4], queue="normal", priority=6)
    with celery_worker(tmp_path) as worker:
        wait_for(lambda: dead_entries("normal.dead"), timeout=60)
        entry = dead_entries("normal.dead")[0]
        assert entry["task_id"] == result.id
        assert entry["task_name"] == "tests.flaky"
        assert entry["args"] == ["test:flaky", 4] and entry["kwargs"] == {}
        assert entry["retries"] == 3 and entry["reason"] == "gave up after 3 retries"
        assert entry["queue"] == "normal" and entry["priority"] == 6
        assert "SourceUnavailable: attempt 4 failed" in entry["exception"]
        assert "Traceback" in entry["traceback"] and entry["failed_at"]
        assert entry["details"] == {"status_code": 503}
        assert int(redis_client.get("test:flaky")) == 4  # 1 try + 3 retries
        # inspecting is not destructive
        assert dead_entries("normal.dead") == [entry]

        # Requeue: the 5th attempt succeeds; the entry leaves the queue.
        get_dlq_monitor().requeue_dead_letter_task("normal.dead", result.id)
        assert dead_entries("normal.dead") == []
        # Poll the backend: this process already holds the first run's FAILURE message.
        wait_for(lambda: AsyncResult(result.id).state == "SUCCESS", timeout=30)
        assert AsyncResult(result.id).result == 5
        assert worker.proc.poll() is None


def test_permanent_failure_is_dead_lettered_at_once_and_worker_keeps_running(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    bad = reject.apply_async(args=[{"nonsense": True}], queue="critical", priority=10)
    with celery_worker(tmp_path) as worker:
        wait_for(lambda: dead_entries("critical.dead"), timeout=30)
        entry = dead_entries("critical.dead")[0]
        assert entry["task_id"] == bad.id and entry["retries"] == 0
        assert entry["reason"] == "permanent error"
        assert entry["exception"].startswith("InvalidArguments: cannot use")
        assert AsyncResult(bad.id).status == "FAILURE"
        # The worker is still there and still works.
        assert flaky.apply_async(args=["test:ok", 0], queue="critical").get(timeout=30) == 1
        assert worker.proc.poll() is None


def test_task_with_wrong_arguments_is_dead_lettered(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    from consultantos.jobs.celery_app import app

    sent = app.send_task("tests.flaky", args=["only-one-arg"], queue="low", priority=2)
    with celery_worker(tmp_path):
        wait_for(lambda: dead_entries("low.dead"), timeout=30)
    entry = dead_entries("low.dead")[0]
    assert entry["task_id"] == sent.id and entry["reason"] == "permanent error"
    assert entry["exception"].startswith("TypeError")


def test_worker_process_killed_mid_task_is_redelivered(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    result = die.apply_async(args=["test:die", 1], queue="normal")
    with celery_worker(tmp_path):
        assert result.get(timeout=60) == 2
    assert dead_entries("normal.dead") == []


def test_poison_message_is_dead_lettered_after_max_deliveries(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    result = die.apply_async(args=["test:poison", 100], queue="high")
    with celery_worker(tmp_path, env=worker_env(MAX_DELIVERIES="3")) as worker:
        wait_for(lambda: dead_entries("high.dead"), timeout=90)
        assert worker.proc.poll() is None
    entry = dead_entries("high.dead")[0]
    assert entry["task_id"] == result.id and entry["reason"] == "poison message"
    assert int(redis_client.get("test:poison")) == 3


def test_whole_worker_killed_mid_task_is_redelivered_to_another(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = worker_env(VISIBILITY_TIMEOUT="5")
    result = slow.apply_async(args=["test:slow", 2.0], queue="normal")
    with celery_worker(tmp_path, env=env) as first:
        wait_for(lambda: redis_client.llen("test:slow") >= 1, timeout=30)
        first.kill()  # SIGKILL of the worker and its pool: no chance to requeue anything
    with celery_worker(tmp_path, env=env):
        assert result.get(timeout=60) == "done"
    marks = redis_client.lrange("test:slow", 0, -1)
    assert marks.count(f"start:{result.id}") == 2 and marks.count(f"done:{result.id}") == 1


def test_countdown_task_runs_once_within_visibility_timeout(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = worker_env(VISIBILITY_TIMEOUT="6")
    result = slow.apply_async(args=["test:eta", 0], queue="normal", countdown=4)
    with celery_worker(tmp_path, env=env, concurrency=2):
        assert result.get(timeout=30) == "done"
        time.sleep(12)  # two visibility windows: a redelivery would show up here
    assert redis_client.lrange("test:eta", 0, -1) == [f"start:{result.id}", f"done:{result.id}"]


def test_dead_letter_queues_are_never_consumed(redis_client: redis.Redis, tmp_path: Path) -> None:
    reject.apply_async(args=["x"], queue="low")
    with celery_worker(tmp_path, queues="low,low.dead") as worker:
        wait_for(lambda: dead_entries("low.dead"), timeout=30)
        time.sleep(2)
        assert len(dead_entries("low.dead")) == 1
        assert "will not consume dead-letter queues low.dead" in worker.output()
    with celery_worker(tmp_path, queues="low.dead", ready=False) as only_dead:
        assert only_dead.proc.wait(60) != 0
        assert "dead-letter queues (low.dead) are never consumed" in only_dead.output()
    assert len(dead_entries("low.dead")) == 1
