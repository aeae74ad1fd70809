"""Planning and sending alert messages without a worker: one delivery per alert and channel,
grouping within the cooldown, claims that make sending idempotent, failures recorded, re-sends.
Real HTTP receivers and both databases; no worker (tests/test_alerts_worker.py has those)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from consultantos import db
from consultantos.alerts.channel_config import set_channels
from consultantos.alerts.channel_specs import ChannelList
from consultantos.alerts.planning import plan_alert_delivery, plan_resend
from consultantos.alerts.sending import give_up, send_message
from consultantos.config import Settings, get_settings
from consultantos.db.models import (
    Alert,
    AlertDelivery,
    AlertKind,
    AlertMessage,
    AlertStatus,
    MessageStatus,
)
from consultantos.errors import NotFound, SourceRejected, SourceUnavailable
from consultantos.monitoring.check import check_monitor
from tests.helpers import alert_data as data
from tests.helpers.http_server import LocalServer, Reply
from tests.helpers.receivers import posts, webhook_deliveries

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    with LocalServer() as server:
        server.route("/hook", Reply(body="thanks", content_type="text/plain"))
        server.route("/slack", Reply(body="ok", content_type="text/plain"))
        yield server


@pytest.fixture
def delivery(database: str, settings_env: pytest.MonkeyPatch) -> Iterator[None]:
    settings_env.setenv("ALERT_COOLDOWN_SECONDS", "300")
    settings_env.setenv("ALERT_SEND_TIMEOUT", "1")
    get_settings.cache_clear()
    yield


def webhook_monitor(server: LocalServer, *more: dict) -> tuple[str, list[str]]:
    monitor_id = data.add_monitor()
    hook = {"kind": "webhook", "url": server.url("/hook"), "secret": data.SECRET}
    return monitor_id, data.set_monitor_channels(monitor_id, [hook, *more])


def send(message_id: str, task_id: str = "task-1") -> dict:
    stored = data.message(message_id)
    return send_message(
        message_id=message_id,
        channel_kind=stored.channel_kind,
        target=stored.target,
        task_id=task_id,
    ).as_dict()


def counts() -> tuple[int, int]:
    with db.session_scope() as session:
        return (
            int(session.scalar(select(func.count()).select_from(AlertMessage)) or 0),
            int(session.scalar(select(func.count()).select_from(AlertDelivery)) or 0),
        )


def test_one_message_per_channel_and_planning_again_adds_nothing(
    delivery: None, receiver: LocalServer
) -> None:
    slack = {"kind": "slack", "url": receiver.url("/slack")}
    email = {"kind": "email", "address": "analyst@acme.example"}
    monitor_id, _ = webhook_monitor(receiver, slack, email)
    alert_id = data.add_alert(monitor_id)

    plan = plan_alert_delivery(alert_id=alert_id, now=T0)
    assert plan.channels == 3 and len(plan.to_send) == 3 and plan.joined == 0
    assert {m.channel_kind for m in plan.to_send} == {"webhook", "slack", "email"}
    assert all(m.countdown(T0) == 0 for m in plan.to_send)

    # A redelivered process_alert_task: same messages queued again (their sends claim once).
    again = plan_alert_delivery(alert_id=alert_id, now=T0)
    assert [m.message_id for m in again.to_send] == [m.message_id for m in plan.to_send]
    assert counts() == (3, 3)

    # Once a message is sent, planning again queues nothing for that channel.
    hook = next(m for m in plan.to_send if m.channel_kind == "webhook")
    assert send(hook.message_id)["status"] == "delivered"
    assert len(plan_alert_delivery(alert_id=alert_id, now=T0).to_send) == 2


def test_alerts_within_the_cooldown_go_out_together(delivery: None, receiver: LocalServer) -> None:
    monitor_id, _ = webhook_monitor(receiver)
    first = data.add_alert(monitor_id, title="first change")
    [sent_now] = plan_alert_delivery(alert_id=first, now=T0).to_send
    assert send(sent_now.message_id)["status"] == "delivered"

    second = data.add_alert(monitor_id, title="second change")
    third = data.add_alert(monitor_id, title="third change")
    [digest] = plan_alert_delivery(alert_id=second, now=T0 + timedelta(seconds=10)).to_send
    assert digest.not_before == T0 + timedelta(seconds=300)
    assert digest.countdown(T0 + timedelta(seconds=10)) == 290
    joined = plan_alert_delivery(alert_id=third, now=T0 + timedelta(seconds=20))
    assert joined.to_send == [] and joined.joined == 1

    # Another kind is another group: sent at once.
    outage = data.add_alert(monitor_id, kind=AlertKind.SOURCE_DOWN, title="down", details={})
    [alone] = plan_alert_delivery(alert_id=outage, now=T0 + timedelta(seconds=30)).to_send
    assert alone.not_before == T0 + timedelta(seconds=30)

    assert send(digest.message_id)["alert_ids"] == [second, third]
    got = webhook_deliveries(receiver, "/hook", data.SECRET)
    titles = [[a["title"] for a in d.payload["data"]["alerts"]] for d in got]
    assert titles == [["first change"], ["second change", "third change"]]
    assert {data.alert(a).status for a in (first, second, third)} == {AlertStatus.DELIVERED}

    # After the digest, the next window starts where the digest's ended.
    fourth = data.add_alert(monitor_id, title="fourth change")
    [later] = plan_alert_delivery(alert_id=fourth, now=T0 + timedelta(seconds=301)).to_send
    assert later.not_before == T0 + timedelta(seconds=600)


def test_a_zero_cooldown_sends_each_alert_at_once(
    delivery: None, receiver: LocalServer, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("ALERT_COOLDOWN_SECONDS", "0")
    get_settings.cache_clear()
    monitor_id, _ = webhook_monitor(receiver)
    for _ in range(2):
        [message] = plan_alert_delivery(alert_id=data.add_alert(monitor_id), now=T0).to_send
        assert message.not_before == T0
        send(message.message_id)
    assert len(webhook_deliveries(receiver, "/hook", data.SECRET)) == 2


def test_a_message_is_sent_by_one_task_only(delivery: None, receiver: LocalServer) -> None:
    monitor_id, _ = webhook_monitor(receiver)
    alert_id = data.add_alert(monitor_id)
    [message] = plan_alert_delivery(alert_id=alert_id).to_send

    assert send(message.message_id, "task-a")["status"] == "delivered"
    assert send(message.message_id, "task-b") == {
        "message_id": message.message_id, "status": "skipped", "reason": "already delivered",
        "status_code": None, "alert_ids": [],
    }  # fmt: skip
    assert send(message.message_id, "task-a")["status"] == "skipped"
    assert len(webhook_deliveries(receiver, "/hook", data.SECRET)) == 1
    stored = data.message(message.message_id)
    assert stored.attempts == 1 and stored.status_code == 200 and stored.delivered_at


def test_a_claimed_message_is_resent_only_by_its_owner_with_the_same_id(
    delivery: None, receiver: LocalServer
) -> None:
    monitor_id, _ = webhook_monitor(receiver)
    [message] = plan_alert_delivery(alert_id=data.add_alert(monitor_id)).to_send
    receiver.route("/hook", [Reply(status=503), Reply(body="ok")])
    with pytest.raises(SourceUnavailable):
        send(message.message_id, "task-a")
    assert data.message(message.message_id).status == MessageStatus.RETRYING
    # A duplicate send task leaves it to its owner...
    assert send(message.message_id, "task-b")["reason"] == "sent by task task-a"
    # ...whose retry sends it, under the same webhook-id.
    assert send(message.message_id, "task-a")["status"] == "delivered"
    got = webhook_deliveries(receiver, "/hook", data.SECRET)
    assert [d.webhook_id for d in got] == [message.message_id] * 2
    assert data.message(message.message_id).attempts == 2


def test_a_refusal_fails_the_message_and_the_alert(delivery: None, receiver: LocalServer) -> None:
    slack = {"kind": "slack", "url": receiver.url("/slack")}
    monitor_id, _ = webhook_monitor(receiver, slack)
    alert_id = data.add_alert(monitor_id)
    hook, to_slack = plan_alert_delivery(alert_id=alert_id).to_send
    receiver.route("/hook", Reply(status=410, body="<p>endpoint gone</p>"))

    with pytest.raises(SourceRejected) as refused:
        send(hook.message_id)
    assert refused.value.status_code == 410 and refused.value.excerpt == "endpoint gone"
    stored = data.message(hook.message_id)
    assert stored.status == MessageStatus.FAILED and stored.status_code == 410
    assert stored.response_excerpt == "endpoint gone" and "410" in (stored.error or "")
    assert data.alert(alert_id).status == AlertStatus.FAILED
    # The other channel is neither blocked nor repeated.
    assert send(to_slack.message_id)["status"] == "delivered"
    assert len(posts(receiver, "/slack")) == 1
    assert data.alert(alert_id).status == AlertStatus.FAILED


def test_giving_up_fails_only_the_owners_message(delivery: None, receiver: LocalServer) -> None:
    monitor_id, _ = webhook_monitor(receiver)
    alert_id = data.add_alert(monitor_id)
    [message] = plan_alert_delivery(alert_id=alert_id).to_send
    receiver.route("/hook", Reply(status=500))
    with pytest.raises(SourceUnavailable):
        send(message.message_id, "task-a")
    give_up(message_id=message.message_id, task_id="task-b", exc=RuntimeError("not mine"))
    assert data.message(message.message_id).status == MessageStatus.RETRYING
    give_up(message_id=message.message_id, task_id="task-a", exc=SourceUnavailable("gave up"))
    assert data.message(message.message_id).status == MessageStatus.FAILED
    assert data.alert(alert_id).status == AlertStatus.FAILED


def test_resend(delivery: None, receiver: LocalServer) -> None:
    slack = {"kind": "slack", "url": receiver.url("/slack")}
    monitor_id, (_, slack_id) = webhook_monitor(receiver, slack)
    alert_id = data.add_alert(monitor_id)
    first = plan_alert_delivery(alert_id=alert_id).to_send
    assert plan_resend(alert_id=alert_id).to_send == first  # still open: queued again
    for message in first:
        send(message.message_id)
    assert data.alert(alert_id).status == AlertStatus.DELIVERED

    again = plan_resend(alert_id=alert_id, channel_id=slack_id)
    assert [m.channel_kind for m in again.to_send] == ["slack"]
    assert again.to_send[0].message_id not in {m.message_id for m in first}
    assert data.alert(alert_id).status == AlertStatus.PENDING
    send(again.to_send[0].message_id)
    assert len(posts(receiver, "/slack")) == 2 and data.alert(alert_id).status == "delivered"

    with pytest.raises(NotFound):
        plan_resend(alert_id=alert_id, channel_id="chn_unknown")
    with pytest.raises(NotFound):
        plan_resend(alert_id="alr_unknown")


def test_user_defaults_and_muted_monitors(delivery: None, receiver: LocalServer) -> None:
    with db.session_scope() as session:
        set_channels(
            session=session,
            user_id="user-1",
            monitor_id=None,
            spec=ChannelList.model_validate(
                {"channels": [{"kind": "slack", "url": receiver.url("/slack")}]}
            ),
        )
    inherits = data.add_monitor()
    [message] = plan_alert_delivery(alert_id=data.add_alert(inherits)).to_send
    assert message.target == receiver.url("/slack")

    muted = data.add_monitor()
    data.set_monitor_channels(
        muted, [{"kind": "email", "address": "a@acme.example", "enabled": False}]
    )
    plan = plan_alert_delivery(alert_id=data.add_alert(muted))
    assert plan.channels == 0 and plan.to_send == []
    # No channel at all: the alert stays pending (a re-send later reaches new channels).
    lonely = data.add_monitor(user_id="user-2")
    alert_id = data.add_alert(lonely)
    assert plan_alert_delivery(alert_id=alert_id).channels == 0
    assert data.alert(alert_id).status == AlertStatus.PENDING


def test_a_removed_webhook_channel_fails_its_open_message(
    delivery: None, receiver: LocalServer
) -> None:
    monitor_id, _ = webhook_monitor(receiver)
    [message] = plan_alert_delivery(alert_id=data.add_alert(monitor_id)).to_send
    data.set_monitor_channels(monitor_id, [])
    with pytest.raises(NotFound, match="removed"):
        send(message.message_id)
    assert data.message(message.message_id).status == MessageStatus.FAILED
    assert receiver.hits("/hook") == 0


def test_a_flapping_source_alerts_once_per_state_change(
    delivery: None, receiver: LocalServer
) -> None:
    receiver.route(
        "/page",
        [
            Reply(body="<p>up</p>"),
            Reply(status=503),
            Reply(status=503),
            Reply(body="<p>up</p>"),
            Reply(body="<p>up</p>"),
            Reply(status=503),
            Reply(status=503),
        ],
    )
    monitor_id = data.add_monitor(receiver.url("/page"))
    kinds = []
    for n in range(7):
        outcome = check_monitor(
            monitor_id=monitor_id,
            check_id=f"check-{n}",
            force=True,
            now=T0 + timedelta(minutes=n),
        )
        with db.session_scope() as session:
            kinds += [session.get(Alert, a).kind for a in outcome.alert_ids]
    assert kinds == ["source_down", "source_up", "source_down"]


def test_the_group_window_never_outlasts_what_the_broker_holds() -> None:
    short = Settings(visibility_timeout=100, retry_backoff=[1], alert_cooldown_seconds=300)
    assert short.alert_group_window == 90
    assert Settings(alert_cooldown_seconds=300).alert_group_window == 300
