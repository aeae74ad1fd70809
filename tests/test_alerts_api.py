"""Alert delivery over HTTP: channels with validation, alerts with per-channel delivery state,
filters, and re-sending (the send tasks land on the broker's high queue)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos.alerts.planning import plan_alert_delivery
from consultantos.alerts.sending import send_message
from consultantos.api.app import create_app
from consultantos.db.models import AlertKind
from consultantos.errors import SourceRejected
from tests.helpers import alert_data as data
from tests.helpers.http_server import LocalServer, Reply

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def put(client: TestClient, path: str, *channels: dict) -> dict:
    response = client.put(path, json={"channels": list(channels)})
    assert response.status_code == 200, response.text
    return response.json()


def test_monitor_channels_round_trip(client: TestClient) -> None:
    monitor_id = data.add_monitor()
    path = f"/monitors/{monitor_id}/channels"
    assert client.get(path).json() == {
        "monitor_id": monitor_id, "user_id": "user-1", "uses_user_defaults": True, "channels": [],
    }  # fmt: skip
    email = {"kind": "email", "address": "Analyst@Acme.example"}
    hook = {"kind": "webhook", "url": "https://hooks.acme.example/in"}
    body = put(client, path, email, hook)
    assert body["uses_user_defaults"] is False
    first_email, first_hook = body["channels"]
    assert first_email["target"] == "Analyst@acme.example" and first_email["secret"] is None
    assert first_hook["secret"].startswith("whsec_") and first_hook["enabled"] is True
    assert client.get(path).json() == body

    # Listed again: same ids, the generated secret kept; a given secret replaces it.
    again = {c["kind"]: c for c in put(client, path, {**hook, "enabled": False}, email)["channels"]}
    assert (again["webhook"]["id"], again["email"]["id"]) == (first_hook["id"], first_email["id"])
    assert again["webhook"]["secret"] == first_hook["secret"]
    assert again["webhook"]["enabled"] is False
    replaced = put(client, path, {**hook, "secret": data.SECRET})["channels"]
    assert replaced[0]["secret"] == data.SECRET and len(replaced) == 1
    assert put(client, path)["uses_user_defaults"] is True


def test_user_default_channels(client: TestClient) -> None:
    body = put(
        client, "/users/user-1/channels", {"kind": "slack", "url": "https://slack.example/x"}
    )
    assert body["user_id"] == "user-1" and body["channels"][0]["monitor_id"] is None
    assert client.get("/users/user-1/channels").json() == body
    assert client.get("/users/someone-else/channels").json()["channels"] == []


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"kind": "email", "address": "not-an-address"}, "address"),
        ({"kind": "email", "address": "ops@localhost"}, "address"),
        ({"kind": "slack", "url": "ftp://slack.example/x"}, "url"),
        ({"kind": "webhook", "url": "not a url"}, "url"),
        ({"kind": "webhook", "url": "https://x.example/", "secret": "whsec_short"}, "secret"),
        ({"kind": "email", "address": "a@b.example", "colour": "red"}, "colour"),
    ],
)
def test_bad_channels_are_422_naming_the_field(
    client: TestClient, channel: dict, field: str
) -> None:
    response = client.put(f"/monitors/{data.add_monitor()}/channels", json={"channels": [channel]})
    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"], response.json()


def delivered_alert(server: LocalServer) -> tuple[str, str]:
    monitor_id = data.add_monitor(company="Acme")
    data.set_monitor_channels(
        monitor_id,
        [
            {"kind": "slack", "url": server.url("/slack")},
            {"kind": "webhook", "url": server.url("/hook"), "secret": data.SECRET},
        ],
    )
    alert_id = data.add_alert(monitor_id, created_at=T0)
    for message in plan_alert_delivery(alert_id=alert_id).to_send:
        with contextlib.suppress(SourceRejected):  # the 410 below: recorded on its message
            send_message(
                message_id=message.message_id,
                channel_kind=message.channel_kind,
                target=message.target,
                task_id="task-1",
            )
    return monitor_id, alert_id


def test_alerts_show_delivery_per_channel_and_filter(client: TestClient) -> None:
    with LocalServer() as server:
        server.route("/slack", Reply(body="ok"))
        server.route("/hook", Reply(status=410, body="gone for good"))
        monitor_id, alert_id = delivered_alert(server)
    other = data.add_monitor(company="Globex")
    later = data.add_alert(other, kind=AlertKind.SOURCE_DOWN, created_at=T0 + timedelta(hours=1))

    body = client.get(f"/alerts/{alert_id}").json()
    assert body["id"] == alert_id and body["status"] == "failed"
    slack, hook = body["deliveries"]
    assert slack["channel_kind"] == "slack" and slack["status"] == "delivered"
    assert slack["status_code"] == 200 and slack["attempts"] == 1 and slack["delivered_at"]
    assert hook["status"] == "failed" and hook["status_code"] == 410
    assert hook["response_excerpt"] == "gone for good" and "410" in hook["error"]

    def ids(**params: object) -> list[str]:
        response = client.get("/alerts", params=params)
        assert response.status_code == 200, response.text
        return [alert["id"] for alert in response.json()]

    assert ids() == [later, alert_id]
    assert ids(monitor_id=monitor_id) == [alert_id]
    assert ids(company="Globex") == [later]
    assert ids(status="failed") == [alert_id] and ids(status="pending") == [later]
    assert ids(since=(T0 + timedelta(minutes=1)).isoformat()) == [later]
    assert ids(limit=1, offset=1) == [alert_id]
    assert client.get("/alerts/alr_missing").status_code == 404


def test_resend_queues_send_tasks(client: TestClient, redis_client: redis.Redis) -> None:
    with LocalServer() as server:
        server.route("/slack", Reply(body="ok"))
        server.route("/hook", Reply(body="ok"))
        _, alert_id = delivered_alert(server)
    before = client.get(f"/alerts/{alert_id}").json()["deliveries"]
    slack_channel = before[0]["channel_id"]

    response = client.post(f"/alerts/{alert_id}/resend", params={"channel_id": slack_channel})
    assert response.status_code == 202, response.text
    body = response.json()
    assert len(body["queued"]) == 1 and body["in_flight"] == []
    after = client.get(f"/alerts/{alert_id}").json()
    assert after["status"] == "pending"
    assert after["deliveries"][0]["message_id"] == body["message_ids"][0]
    assert after["deliveries"][0]["status"] == "open"
    assert after["deliveries"][1] == before[1]
    queued = [key for key in redis_client.keys("high*") if redis_client.type(key) == "list"]
    assert sum(redis_client.llen(key) for key in queued) == 1

    everything = client.post(f"/alerts/{alert_id}/resend").json()
    assert len(everything["queued"]) == 2  # the open one queued again, the other anew
    assert client.post(f"/alerts/{alert_id}/resend?channel_id=chn_nope").status_code == 404
