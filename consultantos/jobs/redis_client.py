"""A redis-py client of the broker's Redis, for what Celery does not do for us (DLQs, counters)."""

from __future__ import annotations

import threading

import redis

from consultantos.config import get_settings

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def get_redis(url: str | None = None) -> redis.Redis:
    """One client per URL and process (redis-py's pool reconnects after a fork by itself)."""
    url = url or get_settings().redis_url
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=10, health_check_interval=30
            )
        return client
