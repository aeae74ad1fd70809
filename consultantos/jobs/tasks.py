"""The guide's tasks. Each is thin: it checks its arguments, calls one domain function and
returns a small JSON-able dict. Routing, priority and rate limits live in celery_app.py; retries
and dead-lettering in retry.py."""

from __future__ import annotations

from typing import Any

from consultantos import db
from consultantos.alerts.outbox import QueuedMessage
from consultantos.alerts.planning import plan_alert_delivery
from consultantos.alerts.sending import send_message
from consultantos.analysis.reports import run_analysis
from consultantos.db.models import ChannelKind, utcnow
from consultantos.errors import InvalidArguments, NotFound
from consultantos.jobs.celery_app import app
from consultantos.jobs.delivery import DeliveryTask, message_id_of
from consultantos.jobs.enqueue import enqueue_many
from consultantos.jobs.retry import RetryTask
from consultantos.jobs.task_monitor import get_dlq_monitor
from consultantos.maintenance.aggregate import aggregate_snapshots
from consultantos.maintenance.cleanup import cleanup_old_data
from consultantos.monitoring.anomaly_store import train_anomaly_models
from consultantos.monitoring.check import check_monitor
from consultantos.monitoring.monitors import get_monitor
from consultantos.monitoring.schedule import claim_due_monitors


def _queue_alerts(alert_ids: list[str]) -> None:
    if alert_ids:
        enqueue_many(process_alert_task, ([{"id": alert_id}] for alert_id in alert_ids))


@app.task(base=RetryTask, bind=True)
def check_monitor_task(self: RetryTask, monitor_id: str) -> dict[str, Any]:
    """Check one monitor (scheduled; normal queue, 10/min per worker)."""
    outcome = check_monitor(monitor_id=monitor_id, check_id=self.request.id)
    _queue_alerts(outcome.alert_ids)
    return outcome.as_dict()


@app.task(base=RetryTask, bind=True)
def check_monitor_user_triggered(self: RetryTask, monitor_id: str, user_id: str) -> dict[str, Any]:
    """Check one monitor now because its owner asked (critical queue, no rate limit)."""
    with db.session_scope() as session:
        owner = get_monitor(session=session, monitor_id=monitor_id).user_id
    if owner != user_id:
        raise NotFound(f"monitor {monitor_id!r} does not belong to user {user_id!r}")
    outcome = check_monitor(monitor_id=monitor_id, check_id=self.request.id, force=True)
    _queue_alerts(outcome.alert_ids)
    return outcome.as_dict()


@app.task(base=RetryTask, bind=True)
def check_scheduled_monitors_task(self: RetryTask) -> dict[str, Any]:
    """Claim every due active monitor and queue its check (Beat, every minute)."""
    queued = 0
    while True:
        monitor_ids = claim_due_monitors()
        if not monitor_ids:
            break
        enqueue_many(check_monitor_task, ([monitor_id] for monitor_id in monitor_ids))
        queued += len(monitor_ids)
    return {"queued": queued}


@app.task(base=RetryTask, bind=True)
def process_alert_task(self: RetryTask, alert_dict: dict[str, Any]) -> dict[str, Any]:
    """Deliver one alert to its monitor's channels (high queue, 30/min per worker): plan one
    message per channel (grouped within the cooldown), then queue one send task per message,
    so each channel is retried on its own and a failing one neither blocks nor repeats others."""
    if not isinstance(alert_dict, dict) or not isinstance(alert_dict.get("id"), str):
        raise InvalidArguments(f"alert_dict must be a dict with a string 'id', got {alert_dict!r}")
    plan = plan_alert_delivery(alert_id=alert_dict["id"])
    queue_sends(plan.to_send)
    return plan.as_dict()


def _send(task: DeliveryTask, kind: ChannelKind, target: str, alert_data: Any) -> dict[str, Any]:
    outcome = send_message(
        message_id=message_id_of(alert_data),
        channel_kind=kind,
        target=target,
        task_id=task.request.id,
    )
    return outcome.as_dict()


@app.task(base=DeliveryTask, bind=True)
def send_alert_webhook(
    self: DeliveryTask, webhook_url: str, alert_data: dict[str, Any]
) -> dict[str, Any]:
    """POST one alert message, signed (Standard Webhooks), to a webhook (high queue, 30/min)."""
    return _send(self, ChannelKind.WEBHOOK, webhook_url, alert_data)


@app.task(base=DeliveryTask, bind=True)
def send_alert_email(
    self: DeliveryTask, address: str, alert_data: dict[str, Any]
) -> dict[str, Any]:
    """Email one alert message to one address over SMTP (high queue, 30/min)."""
    return _send(self, ChannelKind.EMAIL, address, alert_data)


@app.task(base=DeliveryTask, bind=True)
def send_alert_slack(
    self: DeliveryTask, slack_url: str, alert_data: dict[str, Any]
) -> dict[str, Any]:
    """Post one alert message to a Slack incoming webhook (high queue, 30/min)."""
    return _send(self, ChannelKind.SLACK, slack_url, alert_data)


SEND_TASKS = {
    ChannelKind.EMAIL: send_alert_email,
    ChannelKind.SLACK: send_alert_slack,
    ChannelKind.WEBHOOK: send_alert_webhook,
}


def queue_sends(messages: list[QueuedMessage]) -> list[str]:
    """Queue the send task of each message, delayed until it is due; returns the task ids."""
    now = utcnow()
    task_ids = []
    for message in messages:
        alert_data = {
            "message_id": message.message_id,
            "alert_id": message.alert_id,
            "monitor_id": message.monitor_id,
        }
        countdown = message.countdown(now)
        result = SEND_TASKS[message.channel_kind].apply_async(
            args=[message.target, alert_data], countdown=countdown or None
        )
        task_ids.append(result.id)
    return task_ids


@app.task(base=RetryTask, bind=True)
def run_analysis_task(
    self: RetryTask, request_dict: dict[str, Any], user_id: str | None = None
) -> dict[str, Any]:
    """Build the competitive analysis report of one company over a period (normal queue,
    5/min per worker): {"company": ..., "start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, both days
    inclusive; `user_id` limits it to that user's monitors. The analysis id is the task id."""
    return run_analysis(request=request_dict, user_id=user_id, analysis_id=self.request.id)


@app.task(base=RetryTask, bind=True)
def aggregate_snapshots_task(self: RetryTask, day: str | None = None) -> dict[str, Any]:
    """Roll up snapshots per monitor and UTC day (Beat: daily at 02:00 UTC; low, priority 2).
    Without `day` (YYYY-MM-DD) it does the AGGREGATION_CATCHUP_DAYS days before today."""
    return aggregate_snapshots(day=day)


@app.task(base=RetryTask, bind=True)
def cleanup_old_data_task(self: RetryTask, retention_days: int | None = None) -> dict[str, Any]:
    """Delete snapshots, alerts and deliveries older than `retention_days` (default
    RETENTION_DAYS, 90) and old dead-letter entries (Beat: daily at 03:00 UTC; low, priority 1)."""
    return cleanup_old_data(retention_days=retention_days, dead_letters=get_dlq_monitor())


@app.task(base=RetryTask, bind=True)
def train_anomaly_model_task(self: RetryTask) -> dict[str, Any]:
    """Train a new anomaly model version for every active monitor with enough history (Beat:
    Sundays at 04:00 UTC; low, priority 3)."""
    return train_anomaly_models(run_id=self.request.id)
