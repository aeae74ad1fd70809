"""Claiming due monitors on every database backend, alone and from concurrent runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from consultantos import db
from consultantos.config import get_settings
from consultantos.db.models import Monitor, MonitorStatus
from consultantos.errors import DependencyUnavailable, InvalidArguments
from consultantos.monitoring.monitors import create_monitor, get_monitor
from consultantos.monitoring.schedule import claim_due_monitors
from consultantos.monitoring.schemas import MonitorCreate
from tests.helpers.http_server import free_port

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def add_monitors(
    count: int,
    *,
    due_in: float = -60,
    interval: int = 600,
    status: MonitorStatus = MonitorStatus.ACTIVE,
) -> list[str]:
    """`count` monitors whose next check is `due_in` seconds from NOW (one second apart)."""
    with db.session_scope() as session:
        ids = []
        for index in range(count):
            spec = MonitorCreate(
                user_id="user-1",
                company=f"Company {index}",
                source_type="html",
                url="http://127.0.0.1:9/",
                check_interval_seconds=interval,
                status=status,
            )
            monitor = create_monitor(
                session=session, spec=spec, now=NOW + timedelta(seconds=due_in + index)
            )
            ids.append(monitor.id)
        return ids


def next_check(monitor_id: str) -> datetime:
    with db.session_scope() as session:
        return get_monitor(session=session, monitor_id=monitor_id).next_check_at


def test_only_active_due_monitors_are_claimed_and_moved(database: str) -> None:
    [due] = add_monitors(1)
    [later] = add_monitors(1, due_in=60)
    [paused] = add_monitors(1, status=MonitorStatus.PAUSED)
    with db.session_scope() as session:
        before = session.get(Monitor, due)
        assert before is not None
        updated_at = before.updated_at

    assert claim_due_monitors(now=NOW, jitter=0) == [due]
    assert next_check(due) == NOW + timedelta(seconds=600)
    assert next_check(later) == NOW + timedelta(seconds=60)
    assert next_check(paused) == NOW - timedelta(seconds=60)
    assert claim_due_monitors(now=NOW) == []  # claimed once, not again
    assert claim_due_monitors(now=NOW + timedelta(seconds=60)) == [later]
    with db.session_scope() as session:
        after = session.get(Monitor, due)
        assert after is not None and after.updated_at == updated_at


def test_oldest_due_first_up_to_the_limit(database: str) -> None:
    ids = add_monitors(5)
    assert claim_due_monitors(now=NOW, limit=2) == ids[:2]
    assert claim_due_monitors(now=NOW, limit=10) == ids[2:]


def test_jitter_stays_within_bounds(database: str) -> None:
    ids = add_monitors(20, interval=1000)
    assert sorted(claim_due_monitors(now=NOW, jitter=0.5)) == sorted(ids)
    offsets = [(next_check(monitor_id) - NOW).total_seconds() for monitor_id in ids]
    assert all(1000 <= offset <= 1500 for offset in offsets)
    assert len(set(offsets)) > 1


def test_defaults_come_from_settings(database: str, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("SCHEDULE_BATCH_SIZE", "3")
    settings_env.setenv("SCHEDULE_JITTER", "0")
    get_settings.cache_clear()
    ids = add_monitors(4, interval=100)
    assert claim_due_monitors(now=NOW) == ids[:3]
    assert next_check(ids[0]) == NOW + timedelta(seconds=100)


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"jitter": -0.1}, {"jitter": 2.0}])
def test_bad_arguments(database: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidArguments):
        claim_due_monitors(now=NOW, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidArguments, match="timezone"):
        claim_due_monitors(now=datetime(2025, 1, 1))


def test_concurrent_runs_never_claim_the_same_monitor(database: str) -> None:
    ids = add_monitors(50)
    runs = 4
    barrier = threading.Barrier(runs)

    def run() -> list[str]:
        barrier.wait(timeout=10)
        return claim_due_monitors(now=NOW, limit=20)

    with ThreadPoolExecutor(max_workers=runs) as pool:
        claimed = [future.result(timeout=60) for future in [pool.submit(run) for _ in range(runs)]]
    together = [monitor_id for batch in claimed for monitor_id in batch]
    assert len(together) == len(set(together)), "a monitor was claimed twice"
    assert sorted(together) == sorted(ids)


@pytest.fixture
def unreachable_database(settings_env: pytest.MonkeyPatch) -> Iterator[None]:
    settings_env.setenv(
        "DATABASE_URL", f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    )
    get_settings.cache_clear()
    db.dispose_engines()
    yield
    db.dispose_engines()


def test_unreachable_database_is_a_dependency_error(unreachable_database: None) -> None:
    with pytest.raises(DependencyUnavailable, match="claiming monitors"):
        claim_due_monitors(now=NOW)
