"""Shared fixtures: a private Redis, SQLite and PostgreSQL databases, settings per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
from sqlalchemy import delete

import consultantos.db.analysis_models  # noqa: F401  (its tables are emptied after each test)
from consultantos import db
from consultantos.config import get_settings
from consultantos.db.migrate import upgrade
from consultantos.db.models import Base
from tests.helpers.services import (
    CLAIM_KEY,
    postgres_available,
    private_postgres,
    private_redis,
)

_session = ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module imports the Celery app, point REDIS_URL and DATA_DIR at private
    places, so nothing a test does can reach data it did not create."""
    scratch = Path(tempfile.mkdtemp(prefix="consultantos-tests-"))
    _session.callback(shutil.rmtree, scratch, ignore_errors=True)
    os.environ["REDIS_URL"] = _session.enter_context(private_redis(scratch / "redis"))
    os.environ["DATA_DIR"] = str(scratch / "data")
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    _session.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ["REDIS_URL"]


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the private Redis database, emptied before and after each test."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    _empty_but_claimed(client)
    yield client
    _empty_but_claimed(client)
    client.close()


def _empty_but_claimed(client: redis.Redis) -> None:
    """Flush our database and keep the claim on it in one transaction, so a concurrent test
    session never sees it empty and takes it."""
    with client.pipeline(transaction=True) as pipe:
        pipe.flushdb()
        pipe.set(CLAIM_KEY, os.getpid())
        pipe.execute()


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_available() else ["sqlite"]


@pytest.fixture(scope="session", params=_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
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
def settings_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str
) -> pytest.MonkeyPatch:
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


@pytest.fixture(autouse=True)
def _our_app_stays_current() -> Iterator[None]:
    """A test that builds another Celery app must not leave it as the current app: the guide's
    `AsyncResult("task_id")` (no app=) in later tests would find no result backend."""
    yield
    from consultantos.jobs.celery_app import app

    app.set_current()
