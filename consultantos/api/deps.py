"""Dependencies of the routes, as `Annotated` aliases (`SessionDep`, `RedisDep`, ...).

Everything that reaches outside the process (database, Redis, the Celery app) comes in through
here, built on first use and never at import, so tests can point one of them elsewhere with
`app.dependency_overrides` and the app module can be imported without any service running.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated

import redis
from celery import Celery
from fastapi import Depends, Path, Query
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consultantos import db
from consultantos.config import Settings, get_settings
from consultantos.jobs.dead_letter import DeadLetterQueues

REDIS_CONNECT_TIMEOUT = 2.0
"""Seconds to connect to Redis: a request fails fast (503) rather than hang on a dead server."""
REDIS_SOCKET_TIMEOUT = 5.0
"""Seconds to wait for one Redis reply."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
"""Ids we generate (`mon_…`, Celery UUIDs) and custom task ids: no spaces, slashes or quotes."""


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session() -> Iterator[Session]:
    """A session per request: committed when the route returns, rolled back when it raises."""
    with db.session_scope() as session:
        yield session


def get_db_engine() -> Engine:
    """The configured database engine (the health check connects to it directly)."""
    return db.get_engine()


@lru_cache(maxsize=8)
def redis_client_for(url: str) -> redis.Redis:
    """A client of `url` with the API's timeouts, shared per URL."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
        # redis-py retries a refused connection 10 times with backoff by default (~4 s); one
        # quick retry still covers a pooled connection that went stale.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
    )


def get_redis_client(settings: SettingsDep) -> redis.Redis:
    """A client of the broker's Redis with short timeouts, one pool per URL and process."""
    return redis_client_for(settings.redis_url)


RedisDep = Annotated[redis.Redis, Depends(get_redis_client)]


def get_celery_app() -> Celery:
    """The process's Celery app; imported on first use so importing the API stays cheap."""
    from consultantos.jobs.celery_app import app

    return app


CeleryDep = Annotated[Celery, Depends(get_celery_app)]


def require_broker(celery_app: CeleryDep) -> None:
    """Fail fast, with a 503, before publishing to a Redis that is down.

    Celery retries a publish for seconds on its own, and with the Redis result backend gives
    up after ~20 s with a bare RuntimeError (a 500); one ping with the API's short timeouts
    turns that into an immediate, explained 503.
    """
    urls = {str(celery_app.conf.broker_url), str(celery_app.conf.result_backend)}
    for url in sorted(urls):
        if url.startswith(("redis://", "rediss://")):
            redis_client_for(url).ping()


def get_dead_letter_queues(client: RedisDep, celery_app: CeleryDep) -> DeadLetterQueues:
    """The guide's dead-letter calls, on the API's Redis client."""
    return DeadLetterQueues(client=client, app=celery_app)


# scope="function": commit before the response is sent, so a 2xx means the change is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
EngineDep = Annotated[Engine, Depends(get_db_engine)]
DeadLetterDep = Annotated[DeadLetterQueues, Depends(get_dead_letter_queues)]
BrokerReady = Depends(require_broker)
"""For `dependencies=[BrokerReady]` on routes that publish to the broker."""

FilterText = Annotated[
    str | None,
    # NUL: PostgreSQL refuses it, SQLite would just match nothing; refuse it the same everywhere.
    Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$"),
]

MonitorId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="A monitor id (mon_…)."),
]
TaskId = Annotated[
    str,
    Path(min_length=1, max_length=155, pattern=ID_PATTERN, description="A Celery task id."),
]
QueueName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="A work queue (`critical`) or its dead-letter queue (`critical.dead`).",
    ),
]
