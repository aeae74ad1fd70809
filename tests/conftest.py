"""Shared fixtures: a private Redis, SQLite and PostgreSQL databases, settings per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import delete

from consultantos import db
from consultantos.config import get_settings
from consultantos.db.migrate import upgrade
from consultantos.db.models import Base
from tests.helpers.services import postgres_available, private_postgres, private_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the private Redis database, emptied before and after each test."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_available() else ["sqlite"]


@pytest.fixture(scope="session", params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each available backend, for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "consultantos.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    with private_postgres() as url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        upgrade(url)
        yield url


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> pytest.MonkeyPatch:
    """Point settings at the private Redis and a temporary data dir; cleared after the test."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def database(settings_env: pytest.MonkeyPatch, database_url: str) -> Iterator[str]:
    """The configured database for this test: migrated, and emptied after the test."""
    settings_env.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    db.dispose_engines()
    yield database_url
    with db.session_scope() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    db.dispose_engines()
