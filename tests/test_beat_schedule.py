"""Celery Beat's real scheduler (the persistent one `celery beat -s FILE` runs) driven through
ten simulated days: each maintenance entry fires at the guide's time (UTC) and only then, and
the guide's "Disable Scheduled Task" procedure (comment out the entry in celery_app.py, restart
Beat) removes it while the other entries go on."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from celery.beat import PersistentScheduler, ScheduleEntry

from consultantos.jobs import celery_app as celery_app_module

START = datetime(2025, 2, 28, 0, 0, tzinfo=UTC)  # a Friday
TASKS = "consultantos.jobs.tasks"
MAINTENANCE = {
    "aggregate-daily-snapshots": (f"{TASKS}.aggregate_snapshots_task", "low", 2),
    "cleanup-old-data": (f"{TASKS}.cleanup_old_data_task", "low", 1),
    "train-anomaly-models": (f"{TASKS}.train_anomaly_model_task", "low", 3),
}


class Clock:
    """The time Beat sees."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingScheduler(PersistentScheduler):
    """Beat's persistent scheduler, recording what it would send instead of publishing."""

    clock: Clock
    sent: list[tuple[str, datetime, dict[str, Any]]]

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **_: Any
    ) -> None:
        entry = self.reserve(entry) if advance else entry
        self.sent.append((entry.name, self.clock(), dict(entry.options)))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(START)
    monkeypatch.setattr(celery_app_module.app, "now", fake)
    return fake


def run_beat(app: Celery, schedule_file: Path, clock: Clock, until: datetime) -> list[tuple]:
    """Start Beat on `schedule_file`, let the fake clock run to `until`, stop Beat."""
    scheduler = RecordingScheduler(app, schedule_filename=str(schedule_file))
    scheduler.clock, scheduler.sent = clock, []
    try:
        while clock.now < until:
            # Beat sleeps for what tick() returns; real time also moves while it works (it
            # wakes 10 ms early and then asks again), so the clock never stands still.
            delay = max(scheduler.tick(), 0.01)
            clock.now = min(clock.now + timedelta(seconds=delay), until)
    finally:
        scheduler.close()
    return scheduler.sent


def fires(sent: list[tuple], name: str) -> list[datetime]:
    return [at for entry, at, _ in sent if entry == name]


def test_each_entry_fires_at_the_guides_time_and_only_then(
    clock: Clock, tmp_path: Path, redis_client: redis.Redis
) -> None:
    sent = run_beat(celery_app_module.app, tmp_path / "beat", clock, START + timedelta(days=10))

    days = [START + timedelta(days=n) for n in range(10)]

    # Beat may wake a few milliseconds early or late (its own drift correction)
    def on_time(times: list[datetime], expected: list[datetime]) -> bool:
        return len(times) == len(expected) and all(
            abs((at - want).total_seconds()) < 1 for at, want in zip(times, expected, strict=True)
        )

    assert on_time(fires(sent, "aggregate-daily-snapshots"), [d.replace(hour=2) for d in days])
    assert on_time(fires(sent, "cleanup-old-data"), [d.replace(hour=3) for d in days])
    sundays = [datetime(2025, 3, 2, 4, tzinfo=UTC), datetime(2025, 3, 9, 4, tzinfo=UTC)]
    assert all(at.weekday() == 6 for at in sundays)
    assert on_time(fires(sent, "train-anomaly-models"), sundays)
    checks = fires(sent, "check-scheduled-monitors")
    assert len(checks) == pytest.approx(10 * 24 * 60, abs=2)  # every minute
    for name, (task, queue, priority) in MAINTENANCE.items():
        entry = celery_app_module.BEAT_SCHEDULE[name]
        assert entry["task"] == task
        options = next(options for entry_name, _, options in sent if entry_name == name)
        assert (options["queue"], options["priority"]) == (queue, priority)
    assert set(celery_app_module.BEAT_SCHEDULE) == {"check-scheduled-monitors", *MAINTENANCE}


def commented_out(source: str, name: str) -> str:
    """The guide's procedure: comment out the entry, from its key to its closing brace."""
    lines = source.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith(f'"{name}": {{'))
    indent = re.match(r"\s*", lines[first]).group()
    last = next(i for i in range(first, len(lines)) if lines[i].startswith(f"{indent}}},"))
    for i in range(first, last + 1):
        lines[i] = f"{indent}# {lines[i][len(indent) :]}"
    return "".join(lines)


def import_as(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore_current_app() -> Iterator[None]:
    yield
    celery_app_module.app.set_current()  # importing another app module made that one current


def test_a_commented_out_entry_is_gone_after_a_beat_restart(
    clock: Clock,
    tmp_path: Path,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    restore_current_app: None,
) -> None:
    schedule_file = tmp_path / "celerybeat-schedule"
    first_day = START + timedelta(days=1)
    sent = run_beat(celery_app_module.app, schedule_file, clock, first_day)
    assert len(fires(sent, "aggregate-daily-snapshots")) == 1

    source = Path(celery_app_module.__file__).read_text()
    edited = commented_out(source, "aggregate-daily-snapshots")
    assert '    # "aggregate-daily-snapshots": {\n' in edited
    assert '    #     "schedule": crontab(hour=2, minute=0),\n' in edited
    (tmp_path / "edited_celery_app.py").write_text(edited)
    restarted = import_as(tmp_path / "edited_celery_app.py", "edited_celery_app")
    monkeypatch.setattr(restarted.app, "now", clock)
    assert "aggregate-daily-snapshots" not in restarted.BEAT_SCHEDULE

    sent = run_beat(restarted.app, schedule_file, clock, first_day + timedelta(days=2))
    assert fires(sent, "aggregate-daily-snapshots") == []
    assert len(fires(sent, "cleanup-old-data")) == 2  # the rest of the schedule goes on

    # Uncommented again (the original module), the entry is back after the next restart.
    sent = run_beat(celery_app_module.app, schedule_file, clock, first_day + timedelta(days=3))
    assert len(fires(sent, "aggregate-daily-snapshots")) == 1
