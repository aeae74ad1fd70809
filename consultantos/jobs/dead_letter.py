"""Dead-letter queues on Redis: record, inspect, requeue and purge failed tasks.

RabbitMQ's `x-dead-letter-*` queue arguments do nothing on Redis, so failed tasks are written
here by `RetryTask.on_failure`. Each `<queue>.dead` is a Redis list under exactly that name
(newest first) of JSON entries holding what is needed to understand and replay the task. No
worker consumes these lists (consultantos.jobs.worker strips them from `-Q`).

Requeue publishes the task first and removes the entry second, under a per-entry claim: an entry
is never gone from its dead-letter queue without having been enqueued again. A crash between the
two steps leaves the entry in place (and the task enqueued): the tasks are idempotent.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis

from consultantos.errors import ConsultantOSError, InvalidArguments, NotFound
from consultantos.jobs.queues import QUEUES, clamp_priority, dead_letter_queue

if TYPE_CHECKING:
    from celery import Celery, Task

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
CLAIM_SECONDS = 60


class RequeueConflict(ConsultantOSError):
    """Another requeue of the same entry is under way."""


@dataclass(frozen=True)
class DeadLetterEntry:
    """A task that failed for good, as kept in `<queue>.dead`."""

    task_id: str
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    exception: str
    traceback: str
    failed_at: str
    retries: int
    queue: str
    priority: int
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> DeadLetterEntry:
        data = json.loads(raw)
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


def record_failure(
    *,
    task: Task,
    exc: BaseException,
    args: Any,
    kwargs: Any,
    traceback: str,
    reason: str,
    client: redis.Redis | None = None,
) -> DeadLetterEntry:
    """Append a failed task to its queue's dead-letter queue."""
    from consultantos.jobs.redis_client import get_redis

    request = task.request
    delivery = request.delivery_info or {}
    route = task.app.conf.task_routes.get(task.name, {})
    queue = delivery.get("routing_key") or route.get("queue") or task.app.conf.task_default_queue
    priority = delivery.get("priority")
    entry = DeadLetterEntry(
        task_id=request.id,
        task_name=task.name,
        args=list(args or []),
        kwargs=dict(kwargs or {}),
        exception=f"{type(exc).__name__}: {exc}",
        traceback=traceback,
        failed_at=datetime.now(UTC).isoformat(),
        retries=request.retries or 0,
        queue=queue,
        priority=clamp_priority(priority if priority is not None else route.get("priority")),
        reason=reason,
        details=_error_details(exc),
    )
    (client or get_redis()).lpush(dead_letter_queue(queue), entry.to_json())
    return entry


def _error_details(exc: BaseException) -> dict[str, Any]:
    """What an operator needs beyond the message: HTTP status, response excerpt, Retry-After."""
    details = {}
    for name in ("status_code", "excerpt", "retry_after"):
        value = getattr(exc, name, None)
        if value not in (None, ""):
            details[name] = value
    return details


class DeadLetterQueues:
    """The guide's dead-letter calls (`get_dlq_monitor()` returns one of these)."""

    def __init__(self, *, client: redis.Redis, app: Celery) -> None:
        self.client = client
        self.app = app

    def queue_names(self) -> list[str]:
        """The dead-letter queue of every configured work queue."""
        names = [dead_letter_queue(q) for q in QUEUES]
        for queue in self.app.conf.task_queues or []:
            if dead_letter_queue(queue.name) not in names:
                names.append(dead_letter_queue(queue.name))
        return names

    def resolve(self, name: str) -> str:
        """`critical` or `critical.dead` -> `critical.dead`; anything else is refused."""
        if not isinstance(name, str) or not _QUEUE_NAME.match(name):
            raise InvalidArguments(f"not a queue name: {name!r}")
        dead = dead_letter_queue(name)
        if dead not in self.queue_names():
            known = ", ".join(self.queue_names())
            raise NotFound(f"no dead-letter queue {name!r}; known: {known}")
        return dead

    def get_all_dead_letter_queues(self) -> dict[str, int]:
        """{dead-letter queue: number of entries} for every queue."""
        names = self.queue_names()
        with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
            return dict(zip(names, pipe.execute(), strict=True))

    def inspect_dead_letter_queue(
        self, name: str, limit: int = 10, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Newest entries first, without removing anything."""
        if limit < 1 or offset < 0:
            raise InvalidArguments("limit must be >= 1 and offset >= 0")
        raw = self.client.lrange(self.resolve(name), offset, offset + limit - 1)
        return [_as_dict(DeadLetterEntry.from_json(item), name) for item in raw]

    def get_dead_letter_task(self, name: str, task_id: str) -> dict[str, Any]:
        dead = self.resolve(name)
        return _as_dict(DeadLetterEntry.from_json(self._find(dead, task_id)), dead)

    def requeue_dead_letter_task(self, name: str, task_id: str) -> str:
        """Send one entry back to its original queue with its priority; returns its task id."""
        dead = self.resolve(name)
        self._requeue(dead, self._find(dead, task_id))
        return task_id

    def requeue_dead_letter_queue(self, name: str) -> list[str]:
        """Send every entry back; returns the task ids requeued (oldest first)."""
        dead = self.resolve(name)
        requeued = []
        for raw in reversed(self.client.lrange(dead, 0, -1)):
            try:
                requeued.append(self._requeue(dead, raw))
            except (RequeueConflict, NotFound):
                continue  # requeued or purged by someone else meanwhile
        return requeued

    def _requeue(self, dead: str, raw: str) -> str:
        """Publish first, remove second, under a claim so two requeues never both publish."""
        entry = DeadLetterEntry.from_json(raw)
        claim = f"consultantos:dlq-requeue:{dead}:{entry.task_id}"
        if not self.client.set(claim, "1", nx=True, ex=CLAIM_SECONDS):
            raise RequeueConflict(f"task {entry.task_id} is already being requeued")
        try:
            if self.client.lpos(dead, raw) is None:  # requeued or purged since we read it
                raise NotFound(f"task {entry.task_id!r} is no longer in {dead}")
            self._publish(entry)
            self.client.lrem(dead, 1, raw)
        finally:
            self.client.delete(claim)
        return entry.task_id

    def purge_dead_letter_queue(self, name: str) -> int:
        """Delete every entry; returns how many there were."""
        dead = self.resolve(name)
        with self.client.pipeline() as pipe:
            pipe.llen(dead)
            pipe.delete(dead)
            count, _ = pipe.execute()
        return int(count)

    def trim_dead_letter_queue(self, name: str, *, older_than: datetime) -> int:
        """Drop entries that failed before `older_than` (the oldest are at the tail)."""
        dead = self.resolve(name)
        removed = 0
        while True:
            tail = self.client.lindex(dead, -1)
            if (
                tail is None
                or datetime.fromisoformat(DeadLetterEntry.from_json(tail).failed_at) >= older_than
            ):
                return removed
            removed += int(self.client.lrem(dead, -1, tail))

    def _find(self, dead: str, task_id: str) -> str:
        for raw in self.client.lrange(dead, 0, -1):
            if json.loads(raw).get("task_id") == task_id:
                return raw
        raise NotFound(f"task {task_id!r} is not in {dead}")

    def _publish(self, entry: DeadLetterEntry) -> None:
        """Send the task again under its own id, its old failed result forgotten first, so
        `AsyncResult(task_id)` follows the new run."""
        self.app.AsyncResult(entry.task_id).forget()
        self.app.send_task(
            entry.task_name,
            args=entry.args,
            kwargs=entry.kwargs,
            task_id=entry.task_id,
            queue=entry.queue,
            priority=entry.priority,
        )


def _as_dict(entry: DeadLetterEntry, dead_queue: str) -> dict[str, Any]:
    data = asdict(entry)
    data["dead_letter_queue"] = dead_letter_queue(dead_queue)
    return data
