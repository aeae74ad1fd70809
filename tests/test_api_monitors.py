"""Monitors over HTTP: the CRUD round trip, pause/resume, history, and triggering a check."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos import db
from consultantos.api.app import create_app
from consultantos.db.models import Alert, AlertKind, Snapshot

NEW_MONITOR = {
    "user_id": "user-1",
    "company": "Acme",
    "source_type": "html",
    "url": "http://127.0.0.1:9/pricing",
    "selector": ".price",
}


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def create(client: TestClient, **overrides: object) -> dict[str, object]:
    response = client.post("/monitors", json={**NEW_MONITOR, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_crud_round_trip(client: TestClient) -> None:
    created = create(client)
    monitor_id = created["id"]
    assert created["company"] == "Acme" and created["status"] == "active"
    assert created["name"] == "Acme html" and created["url"] == NEW_MONITOR["url"]

    assert client.get(f"/monitors/{monitor_id}").json() == created
    other = create(client, user_id="user-2", company="Globex", selector=None)

    listed = client.get("/monitors", params={"company": "Acme"}).json()
    assert [m["id"] for m in listed] == [monitor_id]
    everyone = client.get("/monitors").json()
    assert {m["id"] for m in everyone} == {monitor_id, other["id"]}
    assert [m["id"] for m in client.get("/monitors", params={"limit": 1, "offset": 1}).json()] == [
        everyone[1]["id"]
    ]
    assert client.get("/monitors", params={"user_id": "user-2"}).json()[0]["id"] == other["id"]

    patched = client.patch(
        f"/monitors/{monitor_id}", json={"change_threshold_pct": 2.5, "selector": "#plans"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["change_threshold_pct"] == 2.5 and patched.json()["selector"] == "#plans"
    # The change was committed: a new request (and session) sees it.
    assert client.get(f"/monitors/{monitor_id}").json()["selector"] == "#plans"


def test_bad_changes_are_refused_and_nothing_is_stored(client: TestClient) -> None:
    monitor_id = create(client)["id"]
    response = client.patch(f"/monitors/{monitor_id}", json={"selector": "a[[", "name": "X"})
    assert response.status_code == 422 and "CSS selector" in response.json()["detail"]
    response = client.patch(f"/monitors/{monitor_id}", json={"status": None})
    assert response.status_code == 422 and "status" in response.json()["detail"]
    assert client.get(f"/monitors/{monitor_id}").json()["name"] == "Acme html"


def test_pause_and_resume(client: TestClient) -> None:
    monitor_id = create(client)["id"]
    paused = client.post(f"/monitors/{monitor_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert [m["id"] for m in client.get("/monitors", params={"status": "paused"}).json()] == [
        monitor_id
    ]
    assert client.get("/monitors", params={"status": "active"}).json() == []
    resumed = client.post(f"/monitors/{monitor_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert client.get(f"/monitors/{monitor_id}").json()["status"] == "active"


def test_snapshots_and_alerts_latest_first(client: TestClient) -> None:
    monitor_id = create(client)["id"]
    start = datetime(2024, 5, 1, tzinfo=UTC)
    with db.session_scope() as session:
        for n in range(3):
            session.add(
                Snapshot(
                    monitor_id=monitor_id,
                    check_id=f"check-{n}",
                    checked_at=start + timedelta(hours=n),
                    ok=True,
                    http_status=200,
                    content_text=f"price {n}" * 1000,
                    metrics={"price": n},
                )
            )
            session.add(
                Alert(
                    monitor_id=monitor_id,
                    kind=AlertKind.METRIC_CHANGED,
                    dedupe_key=f"price-{n}",
                    title=f"price moved to {n}",
                    details={"price": n},
                    created_at=start + timedelta(hours=n),
                )
            )

    snapshots = client.get(f"/monitors/{monitor_id}/snapshots", params={"limit": 2}).json()
    assert [s["check_id"] for s in snapshots] == ["check-2", "check-1"]
    assert "content_text" not in snapshots[0] and snapshots[0]["metrics"] == {"price": 2}
    full = client.get(
        f"/monitors/{monitor_id}/snapshots", params={"include_content": "true", "offset": 2}
    ).json()
    assert [s["check_id"] for s in full] == ["check-0"]
    assert full[0]["content_text"].startswith("price 0")

    alerts = client.get(f"/monitors/{monitor_id}/alerts").json()
    assert [a["title"] for a in alerts] == [
        "price moved to 2",
        "price moved to 1",
        "price moved to 0",
    ]
    assert alerts[0]["kind"] == "metric_changed" and alerts[0]["status"] == "pending"
    assert client.get("/monitors/mon_missing/alerts").status_code == 404
    assert client.get("/monitors/mon_missing/snapshots").status_code == 404


def test_trigger_check_puts_the_task_on_the_critical_queue(
    client: TestClient, redis_client: redis.Redis
) -> None:
    monitor_id = create(client)["id"]
    response = client.post(f"/monitors/{monitor_id}/check", json={"user_id": "user-1"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["queue"] == "critical" and body["status_url"] == f"/tasks/{body['task_id']}"

    # The transport stores priority 10 in the list named exactly "critical".
    assert redis_client.llen("critical") == 1
    message = json.loads(redis_client.lindex("critical", 0))
    assert message["headers"]["id"] == body["task_id"]
    assert message["headers"]["task"] == "consultantos.jobs.tasks.check_monitor_user_triggered"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == [monitor_id, "user-1"] and kwargs == {}
    assert message["properties"]["priority"] == 10

    assert client.get(body["status_url"]).json()["state"] == "PENDING"


def test_trigger_check_refuses_strangers_and_unknown_monitors(
    client: TestClient, redis_client: redis.Redis
) -> None:
    monitor_id = create(client)["id"]
    stranger = client.post(f"/monitors/{monitor_id}/check", json={"user_id": "user-2"})
    assert stranger.status_code == 403 and "user-2" in stranger.json()["detail"]
    unknown = client.post("/monitors/mon_missing/check", json={"user_id": "user-1"})
    assert unknown.status_code == 404 and "mon_missing" in unknown.json()["detail"]
    assert redis_client.llen("critical") == 0
