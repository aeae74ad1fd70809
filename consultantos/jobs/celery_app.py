"""The Celery app: queues, routes, priorities, rate limits, retries and the Beat schedule.

This is where the operations guide tells operators to edit things (rate limits in
`task_annotations`, entries of `beat_schedule`), so all of it is plain data below.
Priorities are the guide's: 0-10, higher is more urgent (see consultantos.jobs.broker).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

from consultantos.config import Settings, get_settings
from consultantos.errors import InvalidArguments
from consultantos.jobs import (
    broker,
    worker,  # noqa: F401  (connects the worker start-up hooks)
)
from consultantos.jobs.broker import PRIORITY_STEPS
from consultantos.jobs.queues import QUEUES

TASKS = "consultantos.jobs.tasks"

TASK_ROUTES: dict[str, dict[str, Any]] = {
    # critical (10): user-triggered checks, no rate limit
    f"{TASKS}.check_monitor_user_triggered": {"queue": "critical", "priority": 10},
    # high (8): alert delivery
    f"{TASKS}.process_alert_task": {"queue": "high", "priority": 8},
    f"{TASKS}.send_alert_webhook": {"queue": "high", "priority": 8},
    f"{TASKS}.send_alert_email": {"queue": "high", "priority": 8},
    f"{TASKS}.send_alert_slack": {"queue": "high", "priority": 8},
    # normal (5): scheduled checks and analysis
    f"{TASKS}.check_monitor_task": {"queue": "normal", "priority": 5},
    f"{TASKS}.check_scheduled_monitors_task": {"queue": "normal", "priority": 5},
    f"{TASKS}.run_analysis_task": {"queue": "normal", "priority": 5},
    # low (1-3): background maintenance
    f"{TASKS}.aggregate_snapshots_task": {"queue": "low", "priority": 2},
    f"{TASKS}.cleanup_old_data_task": {"queue": "low", "priority": 1},
    f"{TASKS}.train_anomaly_model_task": {"queue": "low", "priority": 3},
}


def task_annotations(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per-worker rate limits from the guide, each overridable by a setting."""
    return {
        f"{TASKS}.check_monitor_task": {"rate_limit": settings.rate_limit_check_monitor},
        f"{TASKS}.process_alert_task": {"rate_limit": settings.rate_limit_alerts},
        f"{TASKS}.send_alert_webhook": {"rate_limit": settings.rate_limit_alerts},
        f"{TASKS}.send_alert_email": {"rate_limit": settings.rate_limit_alerts},
        f"{TASKS}.send_alert_slack": {"rate_limit": settings.rate_limit_alerts},
        f"{TASKS}.run_analysis_task": {"rate_limit": settings.rate_limit_analysis},
    }


BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "check-scheduled-monitors": {
        "task": f"{TASKS}.check_scheduled_monitors_task",
        "schedule": 60.0,
        # A run still queued when the next one is due is pointless: let it expire.
        "options": {"queue": "normal", "priority": 5, "expires": 55},
    },
    # Maintenance, on the low queue, at the guide's times (UTC). A run that waited in the queue
    # until the next one is due expires: aggregation catches up on missed days by itself, and
    # cleanup and training start over from the data anyway.
    "aggregate-daily-snapshots": {
        "task": "consultantos.jobs.tasks.aggregate_snapshots_task",
        "schedule": crontab(hour=2, minute=0),
        "options": {"queue": "low", "priority": 2, "expires": 23 * 3600},
    },
    "cleanup-old-data": {
        "task": "consultantos.jobs.tasks.cleanup_old_data_task",
        "schedule": crontab(hour=3, minute=0),
        "options": {"queue": "low", "priority": 1, "expires": 23 * 3600},
    },
    "train-anomaly-models": {
        "task": "consultantos.jobs.tasks.train_anomaly_model_task",
        "schedule": crontab(hour=4, minute=0, day_of_week="sunday"),
        "options": {"queue": "low", "priority": 3, "expires": 6 * 86400},
    },
}


class ConsultantOSCelery(Celery):
    """Celery that refuses to schedule a task further ahead than the broker can hold it.

    On Redis an unacknowledged task is redelivered after the visibility timeout, and a worker
    holds an ETA task unacknowledged until it is due: a later ETA would run twice.
    """

    def send_task(self, name: str, *args: Any, **options: Any) -> Any:
        _refuse_far_eta(name, options.get("countdown"), options.get("eta"))
        return super().send_task(name, *args, **options)


def _refuse_far_eta(name: str, countdown: float | None, eta: datetime | str | None) -> None:
    limit = get_settings().max_eta_seconds
    delay: float | None = None
    if countdown is not None:
        delay = float(countdown)
    elif isinstance(eta, datetime):
        when = eta if eta.tzinfo else eta.replace(tzinfo=UTC)  # the guide's utcnow() is naive UTC
        delay = (when - datetime.now(UTC)).total_seconds()
    if delay is not None and delay > limit:
        raise InvalidArguments(
            f"{name} scheduled {timedelta(seconds=round(delay))} ahead; tasks may be scheduled at "
            f"most {timedelta(seconds=limit)} ahead (90% of VISIBILITY_TIMEOUT), or Redis would "
            "deliver them twice. Raise VISIBILITY_TIMEOUT or use a Beat schedule."
        )


def create_app(settings: Settings | None = None) -> Celery:
    """Build the app from settings; `app` below is the one every process uses."""
    settings = settings or get_settings()
    broker.register()
    celery_app = ConsultantOSCelery("consultantos", include=[TASKS], set_as_current=False)
    celery_app.conf.update(
        broker_url=settings.redis_url,
        result_backend=settings.result_backend,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "priority_steps": PRIORITY_STEPS,
            "queue_order_strategy": "priority",
            # Look for tasks abandoned by a dead worker every 10 s (kombu's default: 100 s).
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        # Fail fast instead of hanging when Redis is away; Celery retries the broker itself.
        redis_socket_connect_timeout=5,
        redis_socket_timeout=30,
        redis_retry_on_timeout=True,
        # Queues and routing
        task_queues=[Queue(name, routing_key=name) for name in QUEUES],
        task_default_queue="normal",
        task_default_routing_key="normal",
        # No task_default_priority: it would override the priorities of TASK_ROUTES. A message
        # without one is stored at the default priority by the transport.
        task_routes=TASK_ROUTES,
        task_annotations=task_annotations(settings),
        # Delivery guarantees
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_time_limit=900,
        task_soft_time_limit=840,
        # Serialization and time
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # Results, for AsyncResult status / get / revoke and the API
        result_expires=settings.result_expires,
        result_extended=True,
        task_track_started=True,
        # Events for Flower and the metrics exporter
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_max_tasks_per_child=500,
        worker_concurrency=settings.concurrency,
        beat_schedule=BEAT_SCHEDULE,
    )
    return celery_app


app = create_app()
# The one app every process uses is also Celery's current and default app, so the guide's
# `AsyncResult("task_id")` without app= finds its result backend; other apps built by
# create_app (tests, tools) never take that place.
app.set_current()
app.set_default()
