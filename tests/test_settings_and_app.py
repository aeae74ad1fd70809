"""The Celery configuration the guide promises, and settings validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from consultantos.config import Settings
from consultantos.errors import InvalidArguments
from consultantos.jobs.celery_app import BEAT_SCHEDULE, app, create_app
from consultantos.jobs.retry import backoff_delay


def test_delivery_guarantees_and_serialization() -> None:
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.timezone == "UTC" and conf.enable_utc
    assert conf.worker_send_task_events and conf.task_send_sent_event
    assert conf.worker_max_tasks_per_child == 500
    assert conf.result_backend.startswith("redis://") and conf.result_expires > 0
    # A task sent with an ETA one hour ahead, as in the guide, is not redelivered early.
    assert conf.broker_transport_options["visibility_timeout"] > 3600


def test_rate_limits_from_guide_and_overridable() -> None:
    annotations = app.conf.task_annotations
    name = "consultantos.jobs.tasks.{}".format
    assert annotations[name("check_monitor_task")]["rate_limit"] == "10/m"
    assert annotations[name("process_alert_task")]["rate_limit"] == "30/m"
    assert annotations[name("send_alert_webhook")]["rate_limit"] == "30/m"
    assert annotations[name("run_analysis_task")]["rate_limit"] == "5/m"
    custom = create_app(Settings(rate_limit_check_monitor="20/m"))
    assert custom.conf.task_annotations[name("check_monitor_task")]["rate_limit"] == "20/m"


def test_beat_runs_scheduled_checks_every_minute() -> None:
    entry = BEAT_SCHEDULE["check-scheduled-monitors"]
    assert entry["task"] == "consultantos.jobs.tasks.check_scheduled_monitors_task"
    assert entry["schedule"] == 60.0


def test_eta_beyond_visibility_timeout_is_refused() -> None:
    from consultantos.jobs.tasks import check_monitor_task

    with pytest.raises(InvalidArguments, match="VISIBILITY_TIMEOUT"):
        check_monitor_task.apply_async(args=["mon_x"], countdown=5 * 3600)
    with pytest.raises(InvalidArguments, match="VISIBILITY_TIMEOUT"):
        app.send_task(
            "consultantos.jobs.tasks.check_monitor_task",
            args=["mon_x"],
            eta=datetime.now(UTC) + timedelta(hours=5),
        )


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    settings = Settings(retry_backoff=[60, 300, 900], retry_jitter=0.2)
    delays = [backoff_delay(n, settings=settings) for n in range(4)]
    for delay, base in zip(delays, [60, 300, 900, 900], strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert backoff_delay(0, settings=settings, retry_after=120) >= 120
    assert backoff_delay(0, settings=settings, retry_after=10**9) == settings.max_eta_seconds


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"retry_backoff": "a,b"}, "RETRY_BACKOFF"),
        ({"visibility_timeout": 600}, "VISIBILITY_TIMEOUT"),
        ({"log_level": "loud"}, "log_level"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_settings_fail_loudly(env: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**env)  # type: ignore[arg-type]
