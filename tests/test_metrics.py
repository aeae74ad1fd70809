"""The Prometheus exporter: metric logic from synthetic events, then end to end with a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from consultantos.embedded_redis import free_port
from consultantos.jobs.dead_letter import DeadLetterQueues
from consultantos.metrics import DeadLetterCollector, TaskMetrics
from consultantos.metrics.exporter import Exporter
from tests.helpers.worker import celery_worker, wait_for, worker_env
from tests.worker_app import app, flaky, record, reject


def sent(uuid: str, name: str = "tests.record", queue: str = "high") -> dict[str, Any]:
    return {"type": "task-sent", "uuid": uuid, "name": name, "queue": queue}


def event(kind: str, uuid: str, **fields: Any) -> dict[str, Any]:
    return {"type": f"task-{kind}", "uuid": uuid, "hostname": "w1@host", **fields}


def feed(metrics: TaskMetrics, *events: dict[str, Any]) -> None:
    for item in events:
        metrics.on_event(item)


def value(metrics: TaskMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


# --- metric logic, from synthetic events ---------------------------------------------------


def test_outcomes_are_counted_by_task_name_and_status() -> None:
    m = TaskMetrics()
    feed(m, sent("a"), event("started", "a"), event("succeeded", "a", runtime=0.4))
    feed(m, sent("b", "tests.flaky"), event("started", "b"), event("retried", "b"))
    feed(m, sent("b", "tests.flaky"), event("started", "b"), event("failed", "b"))
    assert value(m, "celery_task_total", task_name="tests.record", status="success") == 1
    assert value(m, "celery_task_total", task_name="tests.flaky", status="retry") == 1
    assert value(m, "celery_task_total", task_name="tests.flaky", status="failure") == 1
    assert value(m, "celery_task_retries_total", task_name="tests.flaky") == 1


def test_duration_histogram_observes_the_worker_runtime() -> None:
    m = TaskMetrics()
    feed(m, sent("a"), event("succeeded", "a", runtime=0.5))
    feed(m, sent("b"), event("succeeded", "b", runtime=2.0))
    feed(m, sent("c"), event("succeeded", "c", runtime=-1.0))  # clock skew: not observed
    assert value(m, "celery_task_duration_seconds_count", task_name="tests.record") == 2
    assert value(m, "celery_task_duration_seconds_sum", task_name="tests.record") == 2.5
    bucket = {"task_name": "tests.record", "le": "1.0"}
    assert m.registry.get_sample_value("celery_task_duration_seconds_bucket", bucket) == 1


def test_active_tasks_go_up_and_down_per_queue() -> None:
    m = TaskMetrics()
    feed(m, sent("a", queue="high"), sent("b", queue="high"), sent("c", queue="low"))
    feed(m, event("started", "a"), event("started", "b"), event("started", "c"))
    feed(m, event("started", "a"))  # a duplicate start does not count twice
    assert value(m, "celery_active_tasks", queue_name="high") == 2
    assert value(m, "celery_active_tasks", queue_name="low") == 1
    feed(m, event("succeeded", "a", runtime=0.1), event("revoked", "c"))
    feed(m, event("rejected", "c"))  # already gone: never below zero
    assert value(m, "celery_active_tasks", queue_name="high") == 1
    assert value(m, "celery_active_tasks", queue_name="low") == 0
    m.on_event({"type": "worker-offline", "hostname": "w1@host"})
    assert value(m, "celery_active_tasks", queue_name="high") == 0


def test_unknown_tasks_and_bad_events_do_not_crash() -> None:
    m = TaskMetrics()
    feed(m, event("started", "x"), event("failed", "x"), event("succeeded", "y", runtime="?"))
    feed(m, {"type": "task-failed"}, {"type": "worker-heartbeat"}, {})
    m.on_event({"type": object(), "uuid": "z"})  # a broken event is logged, not raised
    assert value(m, "celery_task_total", task_name="unknown", status="failure") == 1
    assert value(m, "celery_task_total", task_name="unknown", status="success") == 1
    assert value(m, "celery_active_tasks", queue_name="unknown") == 0


def test_remembered_task_ids_are_bounded() -> None:
    m = TaskMetrics(limit=3)
    feed(m, *(sent(str(i)) for i in range(10)))
    assert list(m.names) == ["7", "8", "9"]
    assert len(m.queues) == 3


def test_dead_letter_sizes_are_read_at_scrape_time(settings_env: Any, redis_client: redis.Redis):
    m = TaskMetrics()
    m.registry.register(DeadLetterCollector())
    assert value(m, "celery_dead_letter_queue_size", queue_name="normal.dead") == 0
    redis_client.rpush("normal.dead", json.dumps({"task_id": "t1"}))
    assert value(m, "celery_dead_letter_queue_size", queue_name="normal.dead") == 1
    assert value(m, "celery_dead_letter_queue_size", queue_name="critical.dead") == 0


# --- end to end: a real worker, the exporter's HTTP server ---------------------------------


@contextmanager
def running(exporter: Exporter) -> Iterator[str]:
    port = exporter.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        exporter.stop()
        assert not exporter.receiver.is_alive()


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{base}/metrics", timeout=5, trust_env=False)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.mark.worker
def test_exporter_end_to_end(settings_env: Any, redis_client: redis.Redis, tmp_path) -> None:
    exporter = Exporter(app)
    with running(exporter) as base, celery_worker(tmp_path):
        assert exporter.receiver.connected.wait(10), "event receiver did not connect"
        ok = record.apply_async(args=["one"], queue="high")
        retried = flaky.apply_async(args=["test:metrics:flaky", 1], queue="normal")
        failed = reject.apply_async(args=["bad"], queue="critical")
        assert ok.get(timeout=20) == "one"
        assert retried.get(timeout=20) == 2

        def settled() -> bool:
            samples = scrape(base)
            return (
                sample(samples, "celery_task_total", task_name="tests.flaky", status="success") == 1
                and sample(samples, "celery_task_total", task_name="tests.reject", status="failure")
                == 1
            )

        wait_for(settled, timeout=20, interval=0.2, message="events did not arrive")
        samples = scrape(base)
        assert failed.failed()
        assert sample(samples, "celery_task_total", task_name="tests.record", status="success") == 1
        assert sample(samples, "celery_task_total", task_name="tests.flaky", status="retry") == 1
        assert sample(samples, "celery_task_retries_total", task_name="tests.flaky") == 1
        assert sample(samples, "celery_task_duration_seconds_count", task_name="tests.record") == 1
        assert sample(samples, "celery_dead_letter_queue_size", queue_name="critical.dead") == 1
        assert sample(samples, "celery_dead_letter_queue_size", queue_name="normal.dead") == 0
        for queue in ("high", "normal", "critical"):
            assert sample(samples, "celery_active_tasks", queue_name=queue) == 0
        health = httpx.get(f"{base}/health", timeout=5, trust_env=False)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "problems": []}


def test_health_fails_when_redis_is_unreachable() -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    client = redis.Redis.from_url(down, socket_connect_timeout=1)
    broker = Celery("down", broker=down, set_as_current=False)  # never the current app
    try:
        exporter = Exporter(
            broker, sizes=DeadLetterQueues(client=client, app=app).get_all_dead_letter_queues
        )
        with running(exporter) as base:
            health = httpx.get(f"{base}/health", timeout=10, trust_env=False)
            assert health.status_code == 503
            assert any(p.startswith("redis:") for p in health.json()["problems"])
            samples = scrape(base)  # the event metrics are still served, without DLQ sizes
            assert not any(name == "celery_dead_letter_queue_size" for name, _ in samples)
    finally:
        client.close()
        broker.close()


def test_metrics_command_serves_and_stops_on_sigterm(tmp_path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "consultantos.cli", "metrics", "--port", str(port)],
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def healthy() -> bool:
            with suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{port}/health"
                return httpx.get(url, timeout=2, trust_env=False).status_code == 200
            return False

        wait_for(healthy, timeout=20, message="consultantos metrics did not become healthy")
        os.kill(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, output
        assert b"metrics: stopped" in output
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
