"""The guide's task metrics, in their own registry, as a pure function of the event stream.

Celery's events do not all carry what a label needs: only task-sent has the queue and only
task-sent/task-received have the task name, so both are remembered by task id (bounded, oldest
dropped) and looked up when the task starts, succeeds, fails or retries.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
MAX_REMEMBERED = 10_000
# Tasks here range from milliseconds (sends) to minutes (reports, model training).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))


class BoundedDict(OrderedDict[str, str]):
    """A dict that forgets its oldest entries beyond `limit`: ids of tasks whose end we never
    see (a lost worker, an exporter started mid-way) must not grow memory for ever."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class TaskMetrics:
    """celery_task_total, celery_task_duration_seconds, celery_task_retries_total and
    celery_active_tasks, updated by `on_event`."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, limit: int = MAX_REMEMBERED
    ) -> None:
        # Our own registry: the process's default one carries Python/process metrics that
        # would be mistaken for the worker's.
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.tasks = Counter(
            "celery_task_total",
            "Tasks finished, by outcome (success, failure, retry).",
            ["task_name", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "celery_task_duration_seconds",
            "Run time of successful tasks, as measured by the worker.",
            ["task_name"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "celery_task_retries_total",
            "Retries scheduled.",
            ["task_name"],
            registry=self.registry,
        )
        self.active = Gauge(
            "celery_active_tasks",
            "Tasks running on a worker now, by the queue they were sent to.",
            ["queue_name"],
            registry=self.registry,
        )
        self.names = BoundedDict(limit)
        self.queues = BoundedDict(limit)
        self.running = BoundedDict(limit)  # task id -> queue, while started and not finished
        self.running_on = BoundedDict(limit)  # task id -> worker hostname, for worker-offline

    def on_event(self, event: dict[str, Any]) -> None:
        """Handle one Celery event; never raises (a bad event is logged and skipped)."""
        try:
            self._handle(event)
        except Exception:
            log.exception("metrics: cannot handle event %r", event.get("type"))

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind == "worker-offline":
            self._worker_gone(str(event.get("hostname", "")))
            return
        uuid = event.get("uuid")
        if not kind.startswith("task-") or not uuid:
            return
        if kind in ("task-sent", "task-received"):
            if event.get("name"):
                self.names[uuid] = str(event["name"])
            queue = event.get("queue") or event.get("routing_key")
            if queue:
                self.queues[uuid] = str(queue)
            return
        if kind == "task-started":
            if uuid not in self.running:
                queue = self.queues.get(uuid, UNKNOWN)
                self.running[uuid] = queue
                self.running_on[uuid] = str(event.get("hostname", ""))
                self.active.labels(queue_name=queue).inc()
            return
        name = self.names.get(uuid, UNKNOWN)
        if kind == "task-succeeded":
            self.tasks.labels(task_name=name, status="success").inc()
            runtime = event.get("runtime")
            if isinstance(runtime, int | float) and runtime >= 0:
                self.duration.labels(task_name=name).observe(runtime)
        elif kind == "task-failed":
            self.tasks.labels(task_name=name, status="failure").inc()
        elif kind == "task-retried":
            self.tasks.labels(task_name=name, status="retry").inc()
            self.retries.labels(task_name=name).inc()
        elif kind not in ("task-revoked", "task-rejected"):
            return
        self._finished(uuid)

    def _finished(self, uuid: str) -> None:
        """The task left its worker: no longer active (only if we saw it start). Its name and
        queue stay remembered: a retry is sent again with the same id before task-retried."""
        queue = self.running.pop(uuid, None)
        self.running_on.pop(uuid, None)
        if queue is not None:
            self.active.labels(queue_name=queue).dec()

    def _worker_gone(self, hostname: str) -> None:
        """A worker that went offline runs nothing any more (a redelivery starts again)."""
        for uuid in [u for u, host in self.running_on.items() if host == hostname]:
            self._finished(uuid)
