"""The app itself: built without touching any service, documented, and honest in outages."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient

from consultantos.api.app import create_app
from consultantos.api.deps import get_celery_app
from consultantos.config import Settings
from consultantos.jobs.celery_app import create_app as create_celery_app


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable_celery() -> Iterator[Celery]:
    """A real Celery app whose broker and result backend are a port where nothing listens."""
    celery_app = create_celery_app(Settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    yield celery_app
    celery_app.close()


def test_building_the_app_needs_no_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{closed_port()}/none")
    with TestClient(create_app()) as client:
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == 29
    for operation in operations:
        assert operation["summary"] and operation["description"], operation["operationId"]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        assert "content" in operation["responses"][success], operation["operationId"]


def test_broker_down_is_503_for_task_routes(unreachable_celery: Celery) -> None:
    api = create_app()
    api.dependency_overrides[get_celery_app] = lambda: unreachable_celery
    with TestClient(api) as client:
        status = client.get("/tasks/some-task-id")
        revoke = client.post("/tasks/some-task-id/revoke")
    assert status.status_code == 503 and "Redis is unavailable" in status.json()["detail"]
    assert revoke.status_code == 503 and "unavailable" in revoke.json()["detail"]


def test_broker_down_is_503_for_routes_that_publish(
    database: str, redis_client: redis.Redis, unreachable_celery: Celery
) -> None:
    api = create_app()
    with TestClient(api) as client:
        monitor = client.post(
            "/monitors",
            json={"user_id": "u", "company": "Acme", "source_type": "feed", "url": "http://x/"},
        ).json()
        api.dependency_overrides[get_celery_app] = lambda: unreachable_celery
        responses = [
            client.post(f"/monitors/{monitor['id']}/check", json={"user_id": "u"}),
            client.post("/dead-letter/normal/requeue"),
            client.post("/dead-letter/normal/some-task/requeue"),
        ]
    for response in responses:
        assert response.status_code == 503, response.text
        assert "Redis is unavailable" in response.json()["detail"]
    assert redis_client.llen("critical") == 0
