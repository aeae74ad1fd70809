"""Alert delivery through real workers: a changed page reaches SMTP, Slack and a signed webhook
once each; retries until a flaky receiver takes it; a 410 is dead-lettered with its reason; a
worker killed mid-delivery leaves one receipt per channel; alerts within the cooldown are
grouped. Real receivers (aiosmtpd, local HTTP servers) and both databases."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from consultantos import db
from consultantos.alerts.queries import deliveries_of
from consultantos.db.models import AlertKind, AlertMessage, AlertStatus
from consultantos.jobs.task_monitor import get_dlq_monitor
from consultantos.jobs.tasks import check_monitor_user_triggered, process_alert_task
from tests.helpers import alert_data as data
from tests.helpers.http_server import LocalServer, Reply
from tests.helpers.receivers import posts, unique, webhook_deliveries
from tests.helpers.smtp_server import SmtpServer
from tests.helpers.worker import celery_worker, wait_for, worker_env

pytestmark = pytest.mark.worker


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    with LocalServer() as server:
        server.route("/slack", Reply(body="ok", content_type="text/plain"))
        server.route("/hook", Reply(body="received", content_type="text/plain"))
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def env(smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    settings = {
        **smtp.env(),
        "ALERT_COOLDOWN_SECONDS": "0",
        "ALERT_SEND_TIMEOUT": "1",
        "RATE_LIMIT_ALERTS": "6000/m",
        "PUBLIC_BASE_URL": "http://consultantos.example",
    }
    return worker_env(**{**settings, **overrides})


def all_channels(receiver: LocalServer, hook: str = "/hook") -> list[dict[str, Any]]:
    return [
        {"kind": "email", "address": "analyst@acme.example"},
        {"kind": "slack", "url": receiver.url("/slack")},
        {"kind": "webhook", "url": receiver.url(hook), "secret": data.SECRET},
    ]


def settled(client: redis.Redis) -> bool:
    """Nothing queued, nothing running, nothing scheduled for later."""
    queues = [k for k in client.keys("high*") if not k.endswith(".dead")]
    queued = sum(client.llen(k) for k in queues if client.type(k) == "list")
    return queued == 0 and not client.hlen("unacked")


def dead(queue: str) -> list[dict]:
    return get_dlq_monitor().inspect_dead_letter_queue(queue, limit=100)


def page(price: str) -> Reply:
    return Reply(body=f"<html><body><h1>Plans</h1><p class='price'>{price}</p></body></html>")


def test_a_change_on_a_watched_page_reaches_every_channel_once(
    database: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    receiver: LocalServer,
    smtp: SmtpServer,
) -> None:
    receiver.route("/pricing", page("$99.00"))
    monitor_id = data.add_monitor(receiver.url("/pricing"), selector=".price")
    data.set_monitor_channels(monitor_id, all_channels(receiver))

    with celery_worker(tmp_path, env=env(smtp), concurrency=2):
        check_monitor_user_triggered.delay(monitor_id, "user-1").get(timeout=60)
        receiver.route("/pricing", page("$129.00"))
        outcome = check_monitor_user_triggered.delay(monitor_id, "user-1").get(timeout=60)
        alert_ids = outcome["alert_ids"]
        assert len(alert_ids) == 2  # content_changed and metric_changed: two groups
        wait_for(
            lambda: all(data.alert(a).status == AlertStatus.DELIVERED for a in alert_ids),
            timeout=60,
        )
        time.sleep(1)
        wait_for(lambda: settled(redis_client), timeout=30)

    # Each channel got each alert exactly once.
    hooks = webhook_deliveries(receiver, "/hook", data.SECRET)  # every signature verified
    by_hook = Counter(a["id"] for d in hooks for a in d.payload["data"]["alerts"])
    assert by_hook == Counter(alert_ids)
    assert len({d.webhook_id for d in hooks}) == len(hooks) == 2
    slack = posts(receiver, "/slack")
    assert len(slack) == 2 and all(p["blocks"][0]["type"] == "header" for p in slack)
    assert sorted(p["text"] for p in slack) == sorted(data.alert(a).title for a in alert_ids)
    assert len(smtp.messages) == 2
    for mail in smtp.messages:
        assert mail["To"] == "analyst@acme.example"
        text = mail.get_body(("plain",)).get_content()
        assert "Company: Acme" in text and "http://consultantos.example/alerts/alr_" in text
    assert any("+$129.00" in m.get_body(("html",)).get_content() for m in smtp.messages)
    assert dead("high.dead") == []


def test_retries_until_taken_and_a_410_is_dead_lettered_with_its_reason(
    database: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    receiver: LocalServer,
    smtp: SmtpServer,
) -> None:
    receiver.route("/flaky", [Reply(status=500), Reply(status=500), Reply(body="ok")])
    receiver.route("/gone", Reply(status=410, body="<h1>Gone</h1> hook deleted"))
    receiver.route(
        "/slack",
        [
            Reply(status=429, headers={"Retry-After": "1"}),
            Reply(body="too late", delay=3),  # past ALERT_SEND_TIMEOUT: a timeout, retried
            Reply(body="ok"),
        ],
    )
    monitor_id = data.add_monitor()
    channels = [
        {"kind": "webhook", "url": receiver.url("/flaky"), "secret": data.SECRET},
        {"kind": "webhook", "url": receiver.url("/gone"), "secret": data.SECRET},
        {"kind": "slack", "url": receiver.url("/slack")},
    ]
    data.set_monitor_channels(monitor_id, channels)
    alert_id = data.add_alert(monitor_id)

    with celery_worker(tmp_path, env=env(smtp), concurrency=2):
        process_alert_task.delay({"id": alert_id})
        wait_for(lambda: dead("high.dead"), timeout=30)
        wait_for(lambda: receiver.hits("/flaky") == 3 and receiver.hits("/slack") == 3, timeout=60)
        wait_for(lambda: settled(redis_client), timeout=30)

    flaky = webhook_deliveries(receiver, "/flaky", data.SECRET)
    assert len(flaky) == 3 and len(unique(flaky)) == 1  # one message id across the retries
    assert len(posts(receiver, "/slack")) == 3
    [entry] = dead("high.dead")
    assert entry["task_name"] == "consultantos.jobs.tasks.send_alert_webhook"
    assert entry["args"][0] == receiver.url("/gone") and entry["reason"] == "permanent error"
    assert entry["details"] == {"status_code": 410, "excerpt": "Gone hook deleted"}
    assert entry["retries"] == 0 and receiver.hits("/gone") == 1

    # Per channel: the retried ones delivered, the refused one failed.
    deliveries = {message.target: message for message in _deliveries(alert_id)}
    assert deliveries[receiver.url("/flaky")].attempts == 3
    assert deliveries[receiver.url("/flaky")].status == "delivered"
    assert deliveries[receiver.url("/slack")].attempts == 3
    assert deliveries[receiver.url("/gone")].status == "failed"
    assert deliveries[receiver.url("/gone")].status_code == 410
    assert data.alert(alert_id).status == AlertStatus.FAILED


def _deliveries(alert_id: str) -> list[AlertMessage]:
    """The messages now carrying the alert, one per channel."""
    with db.session_scope() as session:
        found = deliveries_of(session=session, alert_ids=[alert_id])
        return [message for _, message in found[alert_id]]


def test_a_worker_killed_mid_delivery_leaves_one_receipt_per_channel(
    database: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    receiver: LocalServer,
    smtp: SmtpServer,
) -> None:
    # The webhook's first request is answered late: the worker dies while it is in flight.
    receiver.route("/hook", [Reply(body="late", delay=3), Reply(body="ok")])
    monitor_id = data.add_monitor()
    data.set_monitor_channels(monitor_id, all_channels(receiver))  # webhook last
    alert_id = data.add_alert(monitor_id)
    worker_settings = env(smtp, VISIBILITY_TIMEOUT="5", ALERT_SEND_TIMEOUT="10")

    process_alert_task.delay({"id": alert_id})
    with celery_worker(tmp_path, env=worker_settings) as first:
        wait_for(lambda: receiver.hits("/hook") == 1, timeout=30)
        first.kill()
    with celery_worker(tmp_path, env=worker_settings):
        wait_for(lambda: data.alert(alert_id).status == AlertStatus.DELIVERED, timeout=60)
        wait_for(lambda: settled(redis_client), timeout=30)

    hooks = webhook_deliveries(receiver, "/hook", data.SECRET)
    # Sent again after the kill, under the same webhook-id: the receiver drops the copy.
    assert len(hooks) == 2 and len(unique(hooks)) == 1
    assert len(posts(receiver, "/slack")) == 1
    assert len(smtp.messages) == 1
    assert dead("high.dead") == []


def test_alerts_within_the_cooldown_are_grouped(
    database: str,
    redis_client: redis.Redis,
    tmp_path: Path,
    receiver: LocalServer,
    smtp: SmtpServer,
) -> None:
    monitor_id = data.add_monitor()
    data.set_monitor_channels(monitor_id, all_channels(receiver))
    first, second, third = (data.add_alert(monitor_id, title=f"change {n}") for n in range(3))
    outage = data.add_alert(monitor_id, kind=AlertKind.SOURCE_DOWN, title="down", details={})

    with celery_worker(tmp_path, env=env(smtp, ALERT_COOLDOWN_SECONDS="3"), concurrency=2):
        process_alert_task.delay({"id": first}).get(timeout=30)
        for alert_id in (second, third, outage):
            process_alert_task.delay({"id": alert_id}).get(timeout=30)
        wait_for(
            lambda: all(
                data.alert(a).status == AlertStatus.DELIVERED
                for a in (first, second, third, outage)
            ),
            timeout=30,
        )
        wait_for(lambda: settled(redis_client), timeout=30)

    hooks = webhook_deliveries(receiver, "/hook", data.SECRET)
    groups = sorted([a["title"] for a in d.payload["data"]["alerts"]] for d in hooks)
    assert groups == [["change 0"], ["change 1", "change 2"], ["down"]]
    assert len(posts(receiver, "/slack")) == 3 and len(smtp.messages) == 3
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert "[ConsultantOS] Acme pricing page: 2 content changes" in subjects
