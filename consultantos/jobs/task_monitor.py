"""The guide's import path for dead-letter inspection: `get_dlq_monitor()`."""

from __future__ import annotations

from consultantos.jobs.dead_letter import DeadLetterQueues
from consultantos.jobs.redis_client import get_redis


def get_dlq_monitor() -> DeadLetterQueues:
    """Dead-letter queues of the configured Redis: sizes, inspect, requeue, purge."""
    from consultantos.jobs.celery_app import app

    return DeadLetterQueues(client=get_redis(), app=app)
