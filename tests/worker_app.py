"""The real Celery app plus a few test tasks that exercise the worker mechanics.

Worker subprocesses in tests run `celery -A tests.worker_app worker`: same configuration,
transport, retry base class and dead-letter path as production, and these tasks besides.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from consultantos.errors import InvalidArguments, SourceUnavailable
from consultantos.jobs.celery_app import app
from consultantos.jobs.redis_client import get_redis
from consultantos.jobs.retry import RetryTask

__all__ = ["app"]


@app.task(base=RetryTask, bind=True, name="tests.record")
def record(self: RetryTask, label: str) -> str:
    """Append `label` to the list `test:order` (the order tasks ran in)."""
    get_redis().rpush("test:order", label)
    return label


@app.task(base=RetryTask, bind=True, name="tests.flaky")
def flaky(self: RetryTask, key: str, failures: int) -> int:
    """Fail transiently `failures` times, then succeed."""
    attempt = int(get_redis().incr(key))
    if attempt <= failures:
        raise SourceUnavailable(f"attempt {attempt} failed (test)", status_code=503)
    return attempt


@app.task(base=RetryTask, bind=True, name="tests.reject")
def reject(self: RetryTask, value: Any) -> None:
    """Fail permanently, as bad input does."""
    raise InvalidArguments(f"cannot use {value!r} (test)")


@app.task(base=RetryTask, bind=True, name="tests.die")
def die(self: RetryTask, key: str, times: int) -> int:
    """Kill its own worker process the first `times` deliveries, like a segfault would."""
    attempt = int(get_redis().incr(key))
    if attempt <= times:
        os.kill(os.getpid(), signal.SIGKILL)
    return attempt


@app.task(base=RetryTask, bind=True, name="tests.slow")
def slow(self: RetryTask, key: str, seconds: float) -> str:
    """Mark start, sleep, mark end: for redelivery and revoke tests."""
    client = get_redis()
    client.rpush(key, f"start:{self.request.id}")
    time.sleep(seconds)
    client.rpush(key, f"done:{self.request.id}")
    return "done"
