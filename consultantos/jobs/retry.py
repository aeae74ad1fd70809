"""Retry policy: which failures are retried, how long to wait, and when a task is dead-lettered.

`RetryTask` is the base class of every task. In a worker it

* counts deliveries of each attempt, so a task whose worker process dies under it (redelivered
  forever with acks late and reject-on-worker-lost) is dead-lettered after MAX_DELIVERIES;
* retries transient failures with exponential backoff and jitter (RETRY_BACKOFF, RETRY_JITTER,
  MAX_RETRIES), waiting at least as long as a Retry-After asked for;
* sends permanent failures, and transient ones that ran out of retries, to `<queue>.dead`.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import httpx
import redis
from billiard.einfo import ExceptionInfo
from celery import Task
from celery.exceptions import Ignore, Reject, Retry, SoftTimeLimitExceeded

from consultantos.config import Settings, get_settings
from consultantos.db.errors import LOST_CONNECTION
from consultantos.errors import PermanentError, PoisonMessage, TransientError
from consultantos.jobs import dead_letter
from consultantos.jobs.redis_client import get_redis

log = logging.getLogger(__name__)

_TRANSIENT_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    SoftTimeLimitExceeded,
    redis.ConnectionError,
    redis.TimeoutError,
    *LOST_CONNECTION,
    httpx.TransportError,
)


def is_transient(exc: BaseException) -> bool:
    """True when retrying later may succeed. Anything unrecognised is permanent: a bug or bad
    input does not get better by waiting, and the dead-letter queue keeps it for a requeue."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status >= 500 or status == 429
    return isinstance(exc, _TRANSIENT_LIBRARY_ERRORS)


def backoff_delay(
    retries: int,
    *,
    settings: Settings | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry number `retries + 1`: RETRY_BACKOFF[retries] with jitter, at least
    `retry_after`, never further ahead than the broker can hold a task."""
    settings = settings or get_settings()
    steps = settings.retry_backoff
    base = steps[min(retries, len(steps) - 1)]
    factor = (rng or random).uniform(1 - settings.retry_jitter, 1 + settings.retry_jitter)
    delay = base * factor
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.max_eta_seconds)


def _delivery_key(task_id: str, retries: int) -> str:
    return f"consultantos:deliveries:{task_id}:{retries}"


class RetryTask(Task):  # type: ignore[misc]
    """Base task: transient errors are retried with backoff, the rest is dead-lettered."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.called_directly:
            return super().__call__(*args, **kwargs)
        self._count_delivery()
        try:
            return self.run(*args, **kwargs)
        except (Retry, Ignore, Reject):
            raise
        except Exception as exc:
            settings = get_settings()
            retries = self.request.retries or 0
            if is_transient(exc) and retries < settings.max_retries:
                delay = backoff_delay(
                    retries, settings=settings, retry_after=getattr(exc, "retry_after", None)
                )
                log.warning(
                    "%s[%s] failed transiently (%s); retry %d/%d in %.0f s",
                    self.name,
                    self.request.id,
                    exc,
                    retries + 1,
                    settings.max_retries,
                    delay,
                )
                raise self.retry(
                    exc=exc, countdown=delay, max_retries=settings.max_retries
                ) from exc
            raise

    def _count_delivery(self) -> None:
        """Dead-letter an attempt that keeps being redelivered because its worker dies."""
        settings = get_settings()
        key = _delivery_key(self.request.id, self.request.retries or 0)
        client = get_redis()
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, settings.visibility_timeout * (settings.max_deliveries + 1))
            deliveries = int(pipe.execute()[0])
        if deliveries > settings.max_deliveries:
            raise PoisonMessage(
                f"delivered {deliveries} times without finishing: its worker process died "
                f"every time (MAX_DELIVERIES={settings.max_deliveries})"
            )

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: Any,
        kwargs: Any,
        einfo: ExceptionInfo,
    ) -> None:
        """Called when the task failed for good: keep it in `<queue>.dead` with the reason."""
        retries = self.request.retries or 0
        if isinstance(exc, PoisonMessage):
            reason = "poison message"
        elif is_transient(exc):
            reason = f"gave up after {retries} retries"
        else:
            reason = "permanent error"
        try:
            dead_letter.record_failure(
                task=self,
                exc=exc,
                args=args,
                kwargs=kwargs,
                traceback=str(einfo.traceback) if einfo else "",
                reason=reason,
            )
        except Exception:  # a broken DLQ write must not hide the task's own failure
            log.exception("could not dead-letter %s[%s]", self.name, task_id)

    def after_return(self, status: str, *args: Any, **kwargs: Any) -> None:
        """Called after the attempt ended (success, failure or retry): forget its deliveries."""
        if self.request.called_directly or not self.request.id:
            return
        try:
            get_redis().delete(_delivery_key(self.request.id, self.request.retries or 0))
        except redis.RedisError:
            log.warning("could not clear the delivery count of %s", self.request.id)
