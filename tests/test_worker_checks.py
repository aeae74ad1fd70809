"""Monitor checks through real workers: scheduled and user-triggered checks, alerts, bad input,
rate limits and redelivery, against local HTTP sources and both databases."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy import func, select

from consultantos import db
from consultantos.db.models import Alert, AlertKind, Monitor, Snapshot
from consultantos.jobs.task_monitor import get_dlq_monitor
from consultantos.jobs.tasks import (
    check_monitor_task,
    check_monitor_user_triggered,
    check_scheduled_monitors_task,
)
from consultantos.monitoring.monitors import create_monitor
from consultantos.monitoring.schemas import MonitorCreate
from tests.helpers.http_server import LocalServer, Reply, free_port
from tests.helpers.worker import celery_worker, wait_for, worker_env


def add_monitor(url: str, **fields: object) -> str:
    spec = {"user_id": "user-1", "company": "Acme", "source_type": "html", "url": url}
    spec.update(fields)
    with db.session_scope() as session:
        return create_monitor(session=session, spec=MonitorCreate.model_validate(spec)).id


def page(price: str, *extra: str) -> str:
    return f"<html><body><h1>Plans</h1><p class='price'>{price}</p>{''.join(extra)}</body></html>"


def alerts_of(monitor_id: str) -> list[Alert]:
    with db.session_scope() as session:
        query = select(Alert).where(Alert.monitor_id == monitor_id).order_by(Alert.created_at)
        return list(session.scalars(query))


def snapshot_count(monitor_id: str) -> int:
    with db.session_scope() as session:
        query = select(func.count()).where(Snapshot.monitor_id == monitor_id)
        return int(session.scalar(query) or 0)


def dead(queue: str) -> list[dict]:
    return get_dlq_monitor().inspect_dead_letter_queue(queue, limit=100)


def test_user_check_detects_change_and_queues_alert_processing(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with LocalServer() as source, celery_worker(tmp_path, concurrency=2) as worker:
        source.route("/pricing", Reply(body=page("$99.00")))
        monitor_id = add_monitor(source.url("/pricing"), selector=".price")

        first = check_monitor_user_triggered.delay(monitor_id, "user-1").get(timeout=60)
        assert first["status"] == "checked" and first["ok"] is True and first["alert_ids"] == []

        source.route("/pricing", Reply(body=page("$129.00")))
        second = check_monitor_user_triggered.delay(monitor_id, "user-1").get(timeout=60)
        assert second["ok"] is True and len(second["alert_ids"]) == 2
        kinds = {alert.kind for alert in alerts_of(monitor_id)}
        assert kinds == {AlertKind.CONTENT_CHANGED, AlertKind.METRIC_CHANGED}
        # process_alert_task ran for each (on the high queue) and left them pending delivery.
        wait_for(lambda: redis_client.llen("high") == 0 and not worker_busy(redis_client))
        assert all(alert.status == "pending" for alert in alerts_of(monitor_id))
        assert get_dlq_monitor().get_all_dead_letter_queues() == {
            "critical.dead": 0, "high.dead": 0, "normal.dead": 0, "low.dead": 0,
        }  # fmt: skip
        assert worker.proc.poll() is None


def worker_busy(client: redis.Redis) -> bool:
    return bool(client.hlen("unacked"))


def test_scheduled_run_claims_due_monitors_and_checks_each_once(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with LocalServer() as source:
        source.route("/a", Reply(body=page("$1")))
        source.route("/b", Reply(body=page("$2")))
        due = [add_monitor(source.url("/a")), add_monitor(source.url("/b"))]
        paused = add_monitor(source.url("/a"), status="paused")

        with celery_worker(tmp_path, concurrency=2):
            assert check_scheduled_monitors_task.delay().get(timeout=60) == {"queued": 2}
            wait_for(lambda: all(snapshot_count(m) == 1 for m in due), timeout=60)
            # Nothing is due any more: a second run queues nothing.
            assert check_scheduled_monitors_task.delay().get(timeout=60) == {"queued": 0}
        assert snapshot_count(paused) == 0
        with db.session_scope() as session:
            next_checks = [session.get(Monitor, m).next_check_at for m in due]
        assert all(when > datetime.now(next_checks[0].tzinfo) for when in next_checks)


def test_bad_input_ends_in_dead_letter_queue_with_reason_and_worker_keeps_running(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with LocalServer() as source:
        source.route(
            "/garbage.json", Reply(body="<html>not json</html>", content_type="application/json")
        )
        source.route(
            "/prices.json",
            Reply(body=json.dumps({"plans": [{"price": 9}]}), content_type="application/json"),
        )
        source.route("/huge", Reply(size=200_000))
        source.route("/gone", Reply(status=410, body="this page is gone"))
        source.route("/page", Reply(body=page("$5")))
        cases = {
            "unknown": "mon_does_not_exist",
            "garbage": add_monitor(source.url("/garbage.json"), source_type="json"),
            "no_match": add_monitor(
                source.url("/prices.json"), source_type="json", selector="$.plans[*].cost"
            ),
            "huge": add_monitor(source.url("/huge")),
            "gone": add_monitor(source.url("/gone")),
            "no_selector_match": add_monitor(source.url("/page"), selector=".nothing-here"),
        }
        unreachable = add_monitor(f"http://127.0.0.1:{free_port()}/down")
        # Lift the 10/min rate limit: this test is about reasons, not pacing.
        env = worker_env(FETCH_MAX_BYTES="100000", RATE_LIMIT_CHECK_MONITOR="600/m")

        with celery_worker(tmp_path, env=env, concurrency=2) as worker:
            sent = {name: check_monitor_task.delay(mid).id for name, mid in cases.items()}
            down = check_monitor_task.delay(unreachable).get(timeout=60)
            wait_for(lambda: len(dead("normal.dead")) == len(cases), timeout=90)
            assert worker.proc.poll() is None

    by_id = {entry["task_id"]: entry for entry in dead("normal.dead")}
    reasons = {name: by_id[task_id]["exception"] for name, task_id in sent.items()}
    assert reasons["unknown"].startswith("NotFound") and "mon_does_not_exist" in reasons["unknown"]
    assert reasons["garbage"].startswith("SourceContentError") and "JSON" in reasons["garbage"]
    assert reasons["no_match"].startswith("SourceContentError") and "cost" in reasons["no_match"]
    assert reasons["huge"].startswith("SourceContentError") and "100000" in reasons["huge"]
    assert reasons["gone"].startswith("SourceRejected") and "410" in reasons["gone"]
    assert by_id[sent["gone"]]["details"]["status_code"] == 410
    assert "gone" in by_id[sent["gone"]]["details"]["excerpt"]
    assert reasons["no_selector_match"].startswith("SourceContentError")
    assert all(entry["retries"] == 0 for entry in by_id.values())
    # An unreachable source is an observation: the check records it as down and alerts.
    assert down["status"] == "checked" and down["ok"] is False
    assert [a.kind for a in alerts_of(unreachable)] == [AlertKind.SOURCE_DOWN]


def test_rate_limit_spaces_scheduled_checks(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = worker_env(RATE_LIMIT_CHECK_MONITOR="30/m")  # one every 2 s
    for n in range(4):
        check_monitor_task.delay(f"mon_missing_{n}")
    with celery_worker(tmp_path, env=env, concurrency=4):
        wait_for(lambda: len(dead("normal.dead")) == 4, timeout=60)
    failed = sorted(datetime.fromisoformat(e["failed_at"]) for e in dead("normal.dead"))
    # Four tasks at 30/min need at least three 2-second gaps (a lower bound, not a timing).
    assert (failed[-1] - failed[0]).total_seconds() >= 5.0


def test_worker_killed_mid_check_redelivers_without_a_second_snapshot(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = worker_env(VISIBILITY_TIMEOUT="5")
    with LocalServer() as source:
        source.route("/slow", [Reply(body=page("$7"), delay=3.0)])
        monitor_id = add_monitor(source.url("/slow"))
        result = check_monitor_task.delay(monitor_id)
        with celery_worker(tmp_path, env=env) as first:
            wait_for(lambda: source.hits("/slow") >= 1, timeout=30)
            first.kill()
        with celery_worker(tmp_path, env=env):
            wait_for(lambda: snapshot_count(monitor_id) == 1, timeout=60)
            time.sleep(2)
        assert snapshot_count(monitor_id) == 1
        assert result.id
