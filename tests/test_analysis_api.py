"""The analyses API: request (202 and a queued task), poll, fetch the report as JSON and HTML;
bad requests get a 4xx at once. The task itself runs here as a worker would run it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from consultantos.analysis.reports import run_analysis
from consultantos.api.app import create_app
from consultantos.jobs.celery_app import app as celery_app
from tests.helpers.history import add_monitor, hourly_history, insert_snapshots


@pytest.fixture
def client(database: str, redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def period(days_back: int = 3) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"start": (today - timedelta(days=days_back)).isoformat(), "end": today.isoformat()}


def queued_in(queue: str) -> int:
    with celery_app.connection_for_write() as conn:
        return int(conn.default_channel._size(queue))


def sent_message(client: redis.Redis) -> dict[str, Any]:
    with celery_app.connection_for_write() as conn:
        key = conn.default_channel._q_for_pri("normal", 5)
    return json.loads(client.rpop(key))


def test_request_poll_and_fetch_a_report(client: TestClient, redis_client: redis.Redis) -> None:
    monitor_id = add_monitor(company="Acme")
    insert_snapshots(hourly_history(monitor_id, end=datetime.now(UTC), hours=72))
    body = {"company": "Acme", **period(), "user_id": "user-1"}

    queued = client.post("/analyses", json=body)
    assert queued.status_code == 202, queued.text
    out = queued.json()
    analysis_id = out["analysis_id"]
    assert out["task_id"] == analysis_id and out["queue"] == "normal"
    assert out["status_url"] == f"/analyses/{analysis_id}"
    assert out["report_html_url"] == f"/analyses/{analysis_id}/report.html"
    assert queued_in("normal") == 1

    status = client.get(f"/analyses/{analysis_id}").json()
    assert (status["status"], status["task_state"], status["report_url"]) == (
        "queued", "PENDING", None,
    )  # fmt: skip
    assert client.get(f"/analyses/{analysis_id}/report").status_code == 409
    not_ready = client.get(f"/analyses/{analysis_id}/report.html")
    assert not_ready.status_code == 409 and "queued" in not_ready.json()["detail"]

    # what a worker does with the message it was sent
    message = sent_message(redis_client)
    assert message["headers"]["task"] == "consultantos.jobs.tasks.run_analysis_task"
    assert message["headers"]["id"] == analysis_id
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert args == [{"company": "Acme", **period()}] and kwargs == {"user_id": "user-1"}
    run_analysis(request=args[0], user_id=kwargs["user_id"], analysis_id=analysis_id)

    status = client.get(f"/analyses/{analysis_id}").json()
    assert status["status"] == "done" and status["finished_at"] and status["error"] is None
    assert status["report_url"] == f"/analyses/{analysis_id}/report"
    data = client.get(status["report_url"]).json()
    assert data["company"] == "Acme" and data["summary"]["checks"] > 0
    page = client.get(status["report_html_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Competitive analysis: Acme</title>" in page.text and "<svg" in page.text


@pytest.mark.parametrize(
    ("change", "code", "detail"),
    [
        ({"company": "Nobody"}, 404, "Nobody"),
        ({"user_id": "user-9"}, 404, "user-9"),
        ({"end": "2001-01-01"}, 422, "empty period"),
        ({"end": "2999-01-01"}, 422, "future"),
        ({"start": "2000-01-01"}, 422, "longer than"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_queued(
    client: TestClient, change: dict[str, str], code: int, detail: str
) -> None:
    add_monitor(company="Acme")
    response = client.post("/analyses", json={"company": "Acme", **period(), **change})
    assert response.status_code == code, response.text
    assert detail in response.json()["detail"]
    assert queued_in("normal") == 0


def test_unknown_analyses_are_404(client: TestClient) -> None:
    for path in ("/analyses/nope", "/analyses/nope/report", "/analyses/nope/report.html"):
        response = client.get(path)
        assert response.status_code == 404 and "nope" in response.json()["detail"]
