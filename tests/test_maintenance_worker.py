"""The maintenance and analysis tasks through a real worker, on SQLite and PostgreSQL, the way
an operator triggers them: the guide's `aggregate_snapshots_task.apply_async()`, cleanup and
training by hand, a spike on a watched page, an analysis requested through the API, and a bad
analysis request dead-lettered with its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos.api.app import create_app
from consultantos.db.models import AlertKind
from consultantos.jobs.task_monitor import get_dlq_monitor
from consultantos.jobs.tasks import (
    check_monitor_task,
    cleanup_old_data_task,
    run_analysis_task,
    train_anomaly_model_task,
)
from tests.helpers.history import DAY, add_monitor, hourly_history, insert_snapshots, snapshot
from tests.helpers.http_server import LocalServer, Reply
from tests.helpers.worker import celery_worker, wait_for, worker_env
from tests.test_anomaly_training import anomalies
from tests.test_maintenance_cleanup import dead_letter

pytestmark = pytest.mark.worker


def test_maintenance_tasks_by_hand_then_a_spike_then_an_analysis(
    database: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with LocalServer() as source:
        watched = add_monitor(url=source.url("/pricing"), selector=".price", name="pricing")
        add_monitor(company="Globex", name="Globex pricing")
        insert_snapshots(hourly_history(watched, end=now, hours=28 * 24))
        insert_snapshots(snapshot(watched, now - (120 + n) * DAY) for n in range(10))
        dead_letter(redis_client, "low", "long-dead", now - 40 * DAY)

        # two analyses in a row: lift the 5/min rate limit, or the second waits 12 s
        env = worker_env(RATE_LIMIT_ANALYSIS="600/m")
        with celery_worker(tmp_path, concurrency=2, env=env):
            # The guide's "Trigger Scheduled Task Manually", as written.
            from consultantos.jobs.tasks import aggregate_snapshots_task

            # Run now instead of waiting for schedule
            result = aggregate_snapshots_task.apply_async()

            rolled = result.get(timeout=60)
            assert len(rolled["days"]) == 7 and rolled["rollups_written"] == 7
            assert aggregate_snapshots_task.apply_async().get(timeout=60)["rollups_unchanged"] == 7

            cleaned = cleanup_old_data_task.apply_async().get(timeout=60)
            assert (cleaned["snapshots"], cleaned["dead_letters"]) == (10, 1)
            assert cleaned["items_deleted"] == 11 and cleaned["retention_days"] == 90
            assert cleaned["cutoff_date"].startswith((now - 90 * DAY).date().isoformat())

            trained = train_anomaly_model_task.apply_async().get(timeout=60)
            assert (trained["trained"], trained["metrics"]) == (1, 1)

            source.route("/pricing", Reply(body="<p class=price>$480.00</p>"))
            checked = check_monitor_task.delay(watched).get(timeout=60)
            [spike] = anomalies(watched)
            assert spike.id in checked["alert_ids"] and spike.kind == AlertKind.ANOMALY
            assert spike.details["value"] == 480 and spike.details["score"] > 50

            with TestClient(create_app()) as client:
                today = now.date()
                asked = client.post(
                    "/analyses",
                    json={"company": "Acme", "start": str(today - timedelta(days=6)),
                          "end": str(today)},
                )  # fmt: skip
                assert asked.status_code == 202, asked.text
                status_url = asked.json()["status_url"]
                done = wait_for(
                    lambda: (out := client.get(status_url).json())["status"] == "done" and out,
                    timeout=60,
                )
                page = client.get(done["report_html_url"]).text
                assert page.count('<svg class="chart') >= 6 and "Globex" in page
                assert "480.00" in page  # the spike, in the anomalies table

            bad = run_analysis_task.apply_async(
                args=[{"company": "Nobody", "start": str(today), "end": str(today)}]
            )
            wait_for(lambda: get_dlq_monitor().inspect_dead_letter_queue("normal.dead"), 60)

    [entry] = get_dlq_monitor().inspect_dead_letter_queue("normal.dead")
    assert entry["task_id"] == bad.id and entry["retries"] == 0
    assert entry["exception"].startswith("NotFound: no monitors watch a company named 'Nobody'")
    assert entry["reason"] == "permanent error"
