"""Health and outages: a dependency that cannot be reached is a 503 with the reason, fast."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consultantos.api.app import create_app
from consultantos.api.deps import get_db_engine, get_redis_client, redis_client_for
from consultantos.api.routes.health import HEALTH_TIMEOUT
from consultantos.db import create_db_engine


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api(database: str, redis_client: redis.Redis) -> FastAPI:
    return create_app()


@pytest.fixture
def dead_redis() -> redis.Redis:
    """The API's own kind of client, pointed at a real port where no Redis listens."""
    return redis_client_for(f"redis://127.0.0.1:{closed_port()}/0")


def test_healthy(api: FastAPI) -> None:
    with TestClient(api) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "redis": "ok", "database": "ok", "detail": None}


def test_redis_down_is_503_with_the_reason(api: FastAPI, dead_redis: redis.Redis) -> None:
    api.dependency_overrides[get_redis_client] = lambda: dead_redis
    with TestClient(api) as client:
        response = client.get("/health")
        body = response.json()
        assert response.status_code == 503
        assert body["status"] == "unavailable" and body["database"] == "ok"
        assert body["redis"].startswith("ConnectionError") and "redis: " in body["detail"]
        # Routes that need Redis answer 503 too, with a JSON detail, not a 500.
        sizes = client.get("/dead-letter")
        assert sizes.status_code == 503 and "Redis is unavailable" in sizes.json()["detail"]


def test_database_down_is_503_with_the_reason(api: FastAPI) -> None:
    engine = create_db_engine(f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none")
    api.dependency_overrides[get_db_engine] = lambda: engine
    try:
        with TestClient(api) as client:
            response = client.get("/health")
    finally:
        engine.dispose()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable" and body["redis"] == "ok"
    assert body["database"].startswith("OperationalError") and "database: " in body["detail"]


def test_unmigrated_database_is_503_naming_the_fix(api: FastAPI, tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    api.dependency_overrides[get_db_engine] = lambda: engine
    try:
        with TestClient(api) as client:
            response = client.get("/health")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert "consultantos db upgrade" in response.json()["database"]


def test_a_redis_that_never_answers_cannot_hang_the_check(api: FastAPI) -> None:
    with socket.socket() as silent:
        # Connections complete in the kernel's backlog; nothing ever reads or answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = redis_client_for(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        api.dependency_overrides[get_redis_client] = lambda: mute
        with TestClient(api) as client:
            response = client.get("/health")
        mute.close()
    assert response.status_code == 503
    assert response.json()["redis"] == f"timed out after {HEALTH_TIMEOUT:g} s"
