"""Task status and revoke over HTTP, read from and sent through the real Celery backend/broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from celery.app.task import Context
from fastapi.testclient import TestClient

from consultantos.api.app import create_app
from consultantos.errors import SourceRejected
from consultantos.jobs.celery_app import app as celery_app

TASK = "consultantos.jobs.tasks.check_monitor_task"


@pytest.fixture
def client(redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def request_for(task_id: str) -> Context:
    """What a worker would know about the task when it stores the result (result_extended)."""
    return Context(
        id=task_id,
        task=TASK,
        args=["mon_1"],
        kwargs={},
        retries=2,
        hostname="worker@host",
        delivery_info={"routing_key": "normal"},
    )


def test_unknown_task_is_pending(client: TestClient) -> None:
    task_id = str(uuid.uuid4())
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    assert response.json() == {
        "task_id": task_id,
        "state": "PENDING",
        "name": None,
        "queue": None,
        "retries": None,
        "date_done": None,
        "result": None,
        "error": None,
        "error_type": None,
        "traceback": None,
    }


def test_success_shows_the_result(client: TestClient) -> None:
    task_id = str(uuid.uuid4())
    result = {"monitor_id": "mon_1", "changed": True, "alerts": 2}
    celery_app.backend.mark_as_done(task_id, result, request=request_for(task_id))
    body = client.get(f"/tasks/{task_id}").json()
    assert body["state"] == "SUCCESS" and body["result"] == result
    assert body["name"] == TASK and body["queue"] == "normal" and body["retries"] == 2
    assert body["date_done"] is not None and body["error"] is None


def test_failure_shows_the_error_and_traceback(client: TestClient) -> None:
    task_id = str(uuid.uuid4())
    exc = SourceRejected("https://acme.example/pricing answered 404", status_code=404)
    celery_app.backend.mark_as_failure(
        task_id,
        exc,
        traceback="Traceback (most recent call last): ...",
        request=request_for(task_id),
    )
    body = client.get(f"/tasks/{task_id}").json()
    assert body["state"] == "FAILURE" and body["name"] == TASK
    assert body["error_type"] == "SourceRejected"
    assert body["error"] == "SourceRejected: https://acme.example/pricing answered 404"
    assert body["traceback"].startswith("Traceback") and body["result"] is None


def test_revoke_is_accepted(client: TestClient) -> None:
    task_id = str(uuid.uuid4())
    response = client.post(f"/tasks/{task_id}/revoke")
    assert response.status_code == 202
    assert response.json() == {"task_id": task_id, "revoked": True, "terminate": False}
    # A revoke is a broadcast to workers; with none running the stored state does not change.
    assert client.get(f"/tasks/{task_id}").json()["state"] == "PENDING"

    by_query = client.post(f"/tasks/{task_id}/revoke", params={"terminate": "true"})
    assert by_query.status_code == 202 and by_query.json()["terminate"] is True
    by_body = client.post(f"/tasks/{task_id}/revoke", json={"terminate": True})
    assert by_body.status_code == 202 and by_body.json()["terminate"] is True


def test_revoke_refuses_contradictions_and_bad_ids(client: TestClient) -> None:
    contradiction = client.post(
        "/tasks/abc/revoke", params={"terminate": "false"}, json={"terminate": True}
    )
    assert contradiction.status_code == 422 and "terminate" in contradiction.json()["detail"]
    for bad in ("not an id", "x" * 200, "-leading-dash"):
        assert client.post(f"/tasks/{bad}/revoke").status_code == 422, bad
        response = client.get(f"/tasks/{bad}")
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["path", "task_id"]
