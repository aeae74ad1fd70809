"""Dead-letter queues over HTTP, on the real Redis lists `<queue>.dead` and the real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos.api.app import create_app
from consultantos.jobs.dead_letter import DeadLetterEntry

TASK = "consultantos.jobs.tasks.check_monitor_task"


@pytest.fixture
def client(redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def entry(task_id: str, *, priority: int = 5, queue: str = "normal") -> DeadLetterEntry:
    return DeadLetterEntry(
        task_id=task_id,
        task_name=TASK,
        args=[f"mon_{task_id}"],
        kwargs={},
        exception="SourceRejected: answered 404",
        traceback="Traceback (most recent call last): ...",
        failed_at="2024-05-01T12:00:00+00:00",
        retries=0,
        queue=queue,
        priority=priority,
        reason="permanent",
        details={"status_code": 404},
    )


def broker_key(queue: str, priority: int) -> str:
    """Where the transport stores a message of this priority: level 10 - priority."""
    level = 10 - priority
    return queue if level == 0 else f"{queue}\x06\x16{level}"


@pytest.fixture
def seeded(redis_client: redis.Redis) -> list[str]:
    """Three failed tasks in normal.dead, pushed as record_failure does (newest first)."""
    ids = ["task-a", "task-b", "task-c"]
    for task_id, priority in zip(ids, (5, 10, 3), strict=True):
        redis_client.lpush("normal.dead", entry(task_id, priority=priority).to_json())
    return ids


def test_sizes(client: TestClient, seeded: list[str]) -> None:
    response = client.get("/dead-letter")
    assert response.status_code == 200
    assert response.json() == {
        "queues": {"critical.dead": 0, "high.dead": 0, "normal.dead": 3, "low.dead": 0}
    }


def test_inspect_reads_without_removing(client: TestClient, seeded: list[str]) -> None:
    first = client.get("/dead-letter/normal", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert page["queue"] == "normal.dead" and page["total"] == 3
    assert [e["task_id"] for e in page["entries"]] == ["task-c", "task-b"]
    assert page["entries"][0]["exception"] == "SourceRejected: answered 404"
    assert page["entries"][0]["details"] == {"status_code": 404}
    assert client.get("/dead-letter/normal.dead", params={"limit": 2}).json() == page
    rest = client.get("/dead-letter/normal", params={"offset": 2}).json()
    assert [e["task_id"] for e in rest["entries"]] == ["task-a"]


def test_get_one_entry(client: TestClient, seeded: list[str]) -> None:
    got = client.get("/dead-letter/normal.dead/task-b")
    assert got.status_code == 200
    assert got.json()["args"] == ["mon_task-b"] and got.json()["priority"] == 10
    missing = client.get("/dead-letter/normal/task-zzz")
    assert missing.status_code == 404 and "task-zzz" in missing.json()["detail"]
    assert client.get("/dead-letter/nowhere").status_code == 404


def test_requeue_one(client: TestClient, redis_client: redis.Redis, seeded: list[str]) -> None:
    response = client.post("/dead-letter/normal/task-c/requeue")
    assert response.status_code == 202
    assert response.json() == {"requeued": ["task-c"], "count": 1}
    remaining = [json.loads(raw)["task_id"] for raw in redis_client.lrange("normal.dead", 0, -1)]
    assert remaining == ["task-b", "task-a"]
    # Back on its queue, under its own id, at its own priority (3).
    assert redis_client.llen(broker_key("normal", 3)) == 1
    message = json.loads(redis_client.lindex(broker_key("normal", 3), 0))
    assert message["headers"]["id"] == "task-c" and message["headers"]["task"] == TASK
    # Gone from the dead-letter queue: a second requeue has nothing to send.
    assert client.post("/dead-letter/normal/task-c/requeue").status_code == 404


def test_requeue_under_way_is_a_conflict(
    client: TestClient, redis_client: redis.Redis, seeded: list[str]
) -> None:
    redis_client.set("consultantos:dlq-requeue:normal.dead:task-a", "1", ex=60)
    response = client.post("/dead-letter/normal.dead/task-a/requeue")
    assert response.status_code == 409 and "task-a" in response.json()["detail"]
    assert redis_client.llen("normal.dead") == 3


def test_requeue_all(client: TestClient, redis_client: redis.Redis, seeded: list[str]) -> None:
    response = client.post("/dead-letter/normal/requeue")
    assert response.status_code == 202
    assert response.json() == {"requeued": ["task-a", "task-b", "task-c"], "count": 3}
    assert redis_client.llen("normal.dead") == 0
    for priority in (5, 10, 3):
        assert redis_client.llen(broker_key("normal", priority)) == 1
    assert client.post("/dead-letter/normal/requeue").json() == {"requeued": [], "count": 0}


def test_purge_needs_confirmation(
    client: TestClient, redis_client: redis.Redis, seeded: list[str]
) -> None:
    refused = client.delete("/dead-letter/normal")
    assert refused.status_code == 400 and "confirm=true" in refused.json()["detail"]
    assert client.delete("/dead-letter/normal", params={"confirm": "false"}).status_code == 400
    assert redis_client.llen("normal.dead") == 3
    purged = client.delete("/dead-letter/normal.dead", params={"confirm": "true"})
    assert purged.status_code == 200 and purged.json() == {"purged": 3}
    assert redis_client.llen("normal.dead") == 0
    assert client.delete("/dead-letter/nowhere", params={"confirm": "true"}).status_code == 404
