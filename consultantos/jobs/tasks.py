"""The guide's tasks. Each is thin: it checks its arguments, calls one domain function and
returns a small JSON-able dict. Routing, priority and rate limits live in celery_app.py; retries
and dead-lettering in retry.py."""

from __future__ import annotations

from typing import Any

from consultantos import db
from consultantos.alerts.pending import record_pending_delivery
from consultantos.errors import InvalidArguments, NotFound
from consultantos.jobs.celery_app import app
from consultantos.jobs.enqueue import enqueue_many
from consultantos.jobs.retry import RetryTask
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
    """Deliver one alert to its monitor's channels (high queue, 30/min per worker)."""
    if not isinstance(alert_dict, dict) or not isinstance(alert_dict.get("id"), str):
        raise InvalidArguments(f"alert_dict must be a dict with a string 'id', got {alert_dict!r}")
    return record_pending_delivery(alert_id=alert_dict["id"])
