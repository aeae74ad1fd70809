"""Checking a monitor end to end: a real HTTP source, a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from consultantos import db
from consultantos.config import Settings, get_settings
from consultantos.db.models import Alert, AlertKind, AlertStatus, Monitor, MonitorStatus, Snapshot
from consultantos.errors import (
    DependencyUnavailable,
    InvalidArguments,
    NotFound,
    SourceContentError,
    SourceRejected,
)
from consultantos.monitoring.check import CheckOutcome, check_monitor
from consultantos.monitoring.compare import content_hash
from consultantos.monitoring.fetch import FetchResult, fetch
from consultantos.monitoring.lease import lease_timeout_seconds
from consultantos.monitoring.monitors import create_monitor
from consultantos.monitoring.schemas import MonitorCreate
from tests.helpers.http_server import LocalServer, Reply, free_port

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def page(price: str, extra: str = "") -> Reply:
    return Reply(body=f"<h1>Acme pricing</h1><p class=price>{price}</p>{extra}")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def checks(database: str, settings_env: pytest.MonkeyPatch) -> Iterator[None]:
    """A database, and fetch timeouts short enough for failure tests."""
    settings_env.setenv("FETCH_CONNECT_TIMEOUT", "1")
    settings_env.setenv("FETCH_READ_TIMEOUT", "1")
    get_settings.cache_clear()
    yield


def add_monitor(
    url: str,
    *,
    selector: str | None = ".price",
    source_type: str = "html",
    status: MonitorStatus = MonitorStatus.ACTIVE,
) -> str:
    spec = MonitorCreate(
        user_id="user-1",
        company="Acme",
        name="pricing page",
        source_type=source_type,
        url=url,
        selector=selector,
        check_interval_seconds=3600,
        change_threshold_pct=5,
        status=status,
    )
    with db.session_scope() as session:
        return create_monitor(session=session, spec=spec, now=T0).id


def alerts_of(outcome: CheckOutcome) -> list[Alert]:
    with db.session_scope() as session:
        by_id = {
            a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(outcome.alert_ids)))
        }
        return [by_id[alert_id] for alert_id in outcome.alert_ids]


def count(model: type[Snapshot] | type[Alert], monitor_id: str) -> int:
    with db.session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.monitor_id == monitor_id)
            )
            or 0
        )


def lease_of(monitor_id: str) -> tuple[str | None, datetime | None]:
    with db.session_scope() as session:
        monitor = session.get(Monitor, monitor_id)
        assert monitor is not None
        return monitor.last_check_id, monitor.last_check_started_at


def test_life_of_a_monitor(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))

    first = check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    assert (first.status, first.ok, first.alert_ids, first.reason) == ("checked", True, [], None)
    with db.session_scope() as session:
        snapshot = session.get(Snapshot, first.snapshot_id)
        assert snapshot is not None and snapshot.ok and snapshot.http_status == 200
        assert snapshot.content_text == "$99.00" and snapshot.content_hash
        assert snapshot.metrics["value"] == 99.0 and snapshot.metrics["http_status"] == 200
        assert snapshot.metrics["response_time_ms"] == snapshot.response_time_ms > 0
        assert snapshot.checked_at == T0
    assert lease_of(monitor_id) == ("c1", None)  # released, the id kept as a record

    server.route("/pricing", page("$101.00"))  # +2%: below the 5% threshold
    second = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + HOUR)
    [changed] = alerts_of(second)
    assert changed.kind == AlertKind.CONTENT_CHANGED and changed.status == AlertStatus.PENDING
    assert changed.title == "Acme pricing page changed"
    assert changed.snapshot_id == second.snapshot_id
    assert "-$99.00\n+$101.00" in changed.details["diff"]
    assert changed.details["company"] == "Acme" and changed.details["monitor"] == "pricing page"
    assert changed.details["url"] == server.url("/pricing")

    server.route("/pricing", page("$120.00"))  # +18.8%
    third = check_monitor(monitor_id=monitor_id, check_id="c3", now=T0 + 2 * HOUR)
    kinds = [alert.kind for alert in alerts_of(third)]
    assert kinds == [AlertKind.CONTENT_CHANGED, AlertKind.METRIC_CHANGED]
    metric = alerts_of(third)[1]
    assert metric.title == "Acme pricing page: value rose 18.8% (101.00 → 120.00)"
    assert (metric.details["old"], metric.details["new"]) == (101.0, 120.0)

    server.stop()
    down = check_monitor(monitor_id=monitor_id, check_id="c4", now=T0 + 3 * HOUR)
    assert down.status == "checked" and down.ok is False
    [went_down] = alerts_of(down)
    assert went_down.kind == AlertKind.SOURCE_DOWN
    assert "cannot connect" in went_down.details["error"]
    still_down = check_monitor(monitor_id=monitor_id, check_id="c5", now=T0 + 4 * HOUR)
    assert still_down.ok is False and still_down.alert_ids == []

    server.start()
    back = check_monitor(monitor_id=monitor_id, check_id="c6", now=T0 + 5 * HOUR)
    assert back.ok is True
    assert [alert.kind for alert in alerts_of(back)] == [AlertKind.SOURCE_UP]  # same content
    assert count(Snapshot, monitor_id) == 6 and count(Alert, monitor_id) == 5
    json.dumps(back.as_dict())


def test_json_and_feed_monitors(checks: None, server: LocalServer) -> None:
    plans = {"plans": [{"name": "Basic", "price": 10}, {"name": "Pro", "price": 50}]}
    server.route("/api", Reply(body=json.dumps(plans), content_type="application/json"))
    api = add_monitor(server.url("/api"), source_type="json", selector="$.plans[*].price")
    assert check_monitor(monitor_id=api, check_id="j1", now=T0).alert_ids == []
    plans["plans"][1]["price"] = 45
    server.route("/api", Reply(body=json.dumps(plans), content_type="application/json"))
    changed, metric = alerts_of(check_monitor(monitor_id=api, check_id="j2", now=T0 + HOUR))
    assert changed.details["diff"].splitlines()[-2:] == ["-50", "+45"]
    assert metric.title == "Acme pricing page: plans.[1].price fell 10.0% (50.00 → 45.00)"

    def rss(*titles: str) -> Reply:
        items = "".join(
            f"<item><title>{t}</title><link>https://acme.example/{t}</link></item>" for t in titles
        )
        body = f'<rss version="2.0"><channel><title>Acme news</title>{items}</channel></rss>'
        return Reply(body=body, content_type="application/rss+xml")

    server.route("/feed", rss("one"))
    feed = add_monitor(server.url("/feed"), source_type="feed", selector=None)
    check_monitor(monitor_id=feed, check_id="f1", now=T0)
    server.route("/feed", rss("two", "one"))
    [news] = alerts_of(check_monitor(monitor_id=feed, check_id="f2", now=T0 + HOUR))
    assert news.title == "Acme pricing page: 1 new item"
    assert news.details["new_items"] == ["two — https://acme.example/two"]


def test_server_error_is_an_observation(checks: None, server: LocalServer) -> None:
    server.route("/pricing", Reply(status=503, body="maintenance"))
    monitor_id = add_monitor(server.url("/pricing"))
    outcome = check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    assert outcome.status == "checked" and outcome.ok is False
    with db.session_scope() as session:
        snapshot = session.get(Snapshot, outcome.snapshot_id)
        assert snapshot is not None and snapshot.http_status == 503
        assert snapshot.error is not None and "maintenance" in snapshot.error
    [alert] = alerts_of(outcome)
    assert alert.kind == AlertKind.SOURCE_DOWN and alert.title.endswith("is down (HTTP 503)")
    assert lease_of(monitor_id)[1] is None


def test_redelivered_check_does_nothing_twice(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    server.route("/pricing", page("$150.00"))
    first = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + HOUR)
    again = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + 2 * HOUR)
    assert len(first.alert_ids) == 2
    assert (again.status, again.snapshot_id, again.alert_ids) == (
        "checked",
        first.snapshot_id,
        first.alert_ids,
    )
    assert again.reason == "already checked"
    assert server.hits("/pricing") == 2 and count(Snapshot, monitor_id) == 2


def test_duplicate_window_and_force(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    soon = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + timedelta(seconds=90))
    assert (soon.status, soon.reason) == ("skipped", "duplicate: checked 90 s ago")
    assert soon.snapshot_id is None and soon.ok is None
    assert lease_of(monitor_id) == ("c1", None)  # the skipped check gave the lease back
    forced = check_monitor(
        monitor_id=monitor_id, check_id="c3", now=T0 + timedelta(seconds=91), force=True
    )
    assert forced.status == "checked"
    half = timedelta(seconds=1800)  # duplicate_check_window 0.5 x 3600 s
    later = check_monitor(
        monitor_id=monitor_id, check_id="c4", now=T0 + half + timedelta(seconds=91)
    )
    assert later.status == "checked"
    assert server.hits("/pricing") == 3


def test_paused_monitor_is_skipped_unless_forced(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"), status=MonitorStatus.PAUSED)
    skipped = check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    assert (skipped.status, skipped.reason) == ("skipped", "paused")
    assert check_monitor(monitor_id=monitor_id, check_id="c2", now=T0, force=True).ok is True


def test_concurrent_checks_make_one_snapshot(checks: None, server: LocalServer) -> None:
    server.route("/pricing", Reply(body="<p class=price>$99</p>", delay=0.3))
    monitor_id = add_monitor(server.url("/pricing"))
    runs = 6
    barrier = threading.Barrier(runs)

    def run(index: int, force: bool) -> CheckOutcome:
        barrier.wait(timeout=10)
        return check_monitor(monitor_id=monitor_id, check_id=f"{force}-{index}", force=force)

    with ThreadPoolExecutor(max_workers=runs) as pool:
        outcomes = list(pool.map(run, range(runs), [False] * runs))
    assert [o.status for o in outcomes].count("checked") == 1
    skipped = [o.reason or "" for o in outcomes if o.status == "skipped"]
    assert all(r == "another check is in progress" or r.startswith("duplicate: ") for r in skipped)
    assert count(Snapshot, monitor_id) == 1

    with ThreadPoolExecutor(max_workers=runs) as pool:
        forced = list(pool.map(run, range(runs), [True] * runs))
    checked = [o for o in forced if o.status == "checked"]
    assert checked  # force skips the duplicate window, not another check's lease
    assert {o.reason for o in forced if o.status == "skipped"} <= {"another check is in progress"}
    assert count(Snapshot, monitor_id) == 1 + len(checked)
    assert lease_of(monitor_id)[1] is None


def test_a_live_lease_blocks_until_it_expires(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    with db.session_scope() as session:
        session.execute(
            update(Monitor)
            .where(Monitor.id == monitor_id)
            .values(last_check_id="dead-worker", last_check_started_at=T0)
        )
    blocked = check_monitor(monitor_id=monitor_id, check_id="c1", now=T0 + timedelta(seconds=5))
    assert (blocked.status, blocked.reason) == ("skipped", "another check is in progress")
    assert lease_of(monitor_id) == ("dead-worker", T0)
    expired = T0 + timedelta(seconds=lease_timeout_seconds(get_settings()) + 1)
    assert check_monitor(monitor_id=monitor_id, check_id="c1", now=expired).status == "checked"


def test_a_twin_that_stored_first_wins(checks: None, server: LocalServer) -> None:
    """A redelivered copy of a check finishing while the original still fetches."""
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    twin: list[CheckOutcome] = []

    def fetch_while_twin_runs(url: str, *, settings: Settings | None = None) -> FetchResult:
        if not twin:
            twin.append(check_monitor(monitor_id=monitor_id, check_id="c1", now=T0))
        return fetch(url, settings=settings)

    outcome = check_monitor(
        monitor_id=monitor_id, check_id="c1", now=T0, fetcher=fetch_while_twin_runs
    )
    assert outcome.snapshot_id == twin[0].snapshot_id and outcome.reason == "already checked"
    assert count(Snapshot, monitor_id) == 1


def test_an_overtaken_check_does_not_repeat_the_alert(checks: None, server: LocalServer) -> None:
    """A check so slow that its lease expired and a later check overtook it."""
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    server.route("/pricing", page("$98.00"))
    overtaker: list[CheckOutcome] = []
    stale = T0 + HOUR + timedelta(seconds=lease_timeout_seconds(get_settings()) + 1)

    def slow_fetch(url: str, *, settings: Settings | None = None) -> FetchResult:
        result = fetch(url, settings=settings)
        if not overtaker:
            overtaker.append(check_monitor(monitor_id=monitor_id, check_id="c3", now=stale))
        return result

    slow = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + HOUR, fetcher=slow_fetch)
    assert overtaker[0].status == "checked" and len(overtaker[0].alert_ids) == 1
    assert slow.status == "checked" and slow.alert_ids == []
    assert count(Snapshot, monitor_id) == 3 and count(Alert, monitor_id) == 1
    assert lease_of(monitor_id) == ("c3", None)


def test_an_alert_stored_by_another_check_is_not_repeated(
    checks: None, server: LocalServer
) -> None:
    server.route("/pricing", page("$99.00"))
    monitor_id = add_monitor(server.url("/pricing"))
    first = check_monitor(monitor_id=monitor_id, check_id="c1", now=T0)
    server.route("/pricing", page("$98.00"))
    with db.session_scope() as session:  # as a racing check of the same transition would
        session.add(
            Alert(
                monitor_id=monitor_id,
                kind=AlertKind.CONTENT_CHANGED,
                dedupe_key=f"content:{first.snapshot_id}:{content_hash('$98.00')}",
                title="Acme pricing page changed",
            )
        )
    second = check_monitor(monitor_id=monitor_id, check_id="c2", now=T0 + HOUR)
    assert second.status == "checked" and second.alert_ids == []
    assert count(Snapshot, monitor_id) == 2 and count(Alert, monitor_id) == 1


def test_permanent_problems_raise_and_store_nothing(checks: None, server: LocalServer) -> None:
    server.route("/pricing", page("$99.00"))
    server.route("/gone", Reply(status=404, body="Not found"))
    missing_selector = add_monitor(server.url("/pricing"), selector=".nothing")
    gone = add_monitor(server.url("/gone"))
    with pytest.raises(SourceContentError, match=r"'\.nothing' matched nothing"):
        check_monitor(monitor_id=missing_selector, check_id="c1", now=T0)
    with pytest.raises(SourceRejected, match="404"):
        check_monitor(monitor_id=gone, check_id="c2", now=T0)
    for monitor_id in (missing_selector, gone):
        assert count(Snapshot, monitor_id) == 0 and count(Alert, monitor_id) == 0
        assert lease_of(monitor_id)[1] is None  # released: the next check is not blocked
    with pytest.raises(SourceRejected):
        check_monitor(monitor_id=gone, check_id="c3", now=T0)


def test_bad_ids(checks: None) -> None:
    with pytest.raises(NotFound, match="mon_missing"):
        check_monitor(monitor_id="mon_missing", check_id="c1")
    with pytest.raises(InvalidArguments):
        check_monitor(monitor_id="", check_id="c1")
    with pytest.raises(InvalidArguments):
        check_monitor(monitor_id=42, check_id="c1")  # type: ignore[arg-type]
    with pytest.raises(InvalidArguments, match="check id"):
        check_monitor(monitor_id="mon_missing", check_id="")
    monitor_id = add_monitor("http://127.0.0.1:9/")
    other = add_monitor("http://127.0.0.1:9/")
    with db.session_scope() as session:
        session.add(Snapshot(monitor_id=other, check_id="used", ok=False, checked_at=T0))
    with pytest.raises(InvalidArguments, match="already used"):
        check_monitor(monitor_id=monitor_id, check_id="used")


def test_unreachable_database(settings_env: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    settings_env.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.dispose_engines()
    try:
        with pytest.raises(DependencyUnavailable, match="mon_1"):
            check_monitor(monitor_id="mon_1", check_id="c1")
    finally:
        db.dispose_engines()
