"""Competitive analysis reports on SQLite and PostgreSQL: the data, the rendered page with its
sections and charts, the same figures from rollups as from snapshots, and refused requests."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from consultantos import db
from consultantos.analysis.reports import run_analysis
from consultantos.db.analysis_models import AnalysisReport, AnalysisStatus
from consultantos.db.models import AlertKind
from consultantos.errors import InvalidArguments, NotFound
from consultantos.maintenance.aggregate import aggregate_snapshots
from tests.helpers.history import (
    DAY,
    HOUR,
    add_alert,
    add_monitor,
    hourly_history,
    insert_snapshots,
    snapshot,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
START, END = date(2025, 3, 3), date(2025, 3, 10)
REQUEST = {"company": "Acme", "start": "2025-03-03", "end": "2025-03-10"}
DIFF = "-<b>Pro</b> $99\n+<script>alert(1)</script> Pro $129"


def build_history() -> dict[str, str]:
    ids = {
        "pricing": add_monitor(name="Acme pricing", url="https://acme.example/pricing"),
        "blog": add_monitor(name="Acme blog", source_type="feed", url="https://acme.example/rss"),
        "globex": add_monitor(company="Globex", name="Globex pricing"),
        "umbrella": add_monitor(company="Umbrella", industry="retail", name="Umbrella shop"),
        "stranger": add_monitor(company="Acme", user_id="user-2", name="someone else's"),
    }
    begin = datetime(2025, 3, 1, tzinfo=UTC)
    hours = int((NOW - begin) / HOUR)
    pricing = hourly_history(ids["pricing"], end=NOW, hours=hours)
    for n, row in enumerate(pricing):
        row["content_hash"] = (
            "v2" if row["checked_at"] >= datetime(2025, 3, 6, 9, tzinfo=UTC) else "v1"
        )
        if n % 50 == 7:  # now and then the page is down
            row.update(ok=False, content_hash=None, metrics={}, response_time_ms=None)
    insert_snapshots(pricing)
    insert_snapshots(
        snapshot(ids["blog"], begin + n * 6 * HOUR, metrics={"item_count": 10.0 + n // 8},
                 content_hash=f"feed{n // 8}")
        for n in range(hours // 6)
    )  # fmt: skip
    for key in ("globex", "umbrella", "stranger"):
        insert_snapshots(hourly_history(ids[key], end=NOW, hours=hours, seed=len(key)))
    add_alert(ids["pricing"], AlertKind.CONTENT_CHANGED, datetime(2025, 3, 6, 9, tzinfo=UTC),
              title="Acme pricing changed", details={"diff": DIFF, "lines_added": 1})  # fmt: skip
    add_alert(ids["pricing"], AlertKind.ANOMALY, datetime(2025, 3, 8, 6, tzinfo=UTC),
              title="Acme pricing: value is 180.00, above its expected range",
              details={"metric": "value", "value": 180.0, "expected_low": 104.0,
                       "expected_high": 116.0, "score": 70.1})  # fmt: skip
    add_alert(ids["globex"], AlertKind.CONTENT_CHANGED, datetime(2025, 3, 4, tzinfo=UTC))
    add_alert(ids["pricing"], AlertKind.CONTENT_CHANGED, datetime(2025, 2, 20, tzinfo=UTC))
    return ids


def report(analysis_id: str) -> AnalysisReport:
    with db.session_scope() as session:
        return session.get(AnalysisReport, analysis_id)


def test_the_report_covers_changes_trends_anomalies_alerts_and_peers(database: str) -> None:
    ids = build_history()
    summary = run_analysis(request=REQUEST, user_id="user-1", analysis_id="ana-1", now=NOW)
    assert summary == {
        "analysis_id": "ana-1", "status": "done", "company": "Acme",
        "period_start": "2025-03-03", "period_end": "2025-03-10",
        "report_url": "/analyses/ana-1/report", "report_html_url": "/analyses/ana-1/report.html",
    }  # fmt: skip
    data = report("ana-1").data
    assert data["industry"] == "saas" and len(data["days"]) == 8
    pricing, blog = (
        next(m for m in data["monitors"] if m["id"] == ids[k]) for k in ("pricing", "blog")
    )
    in_period = [h for h in range(int((NOW - datetime(2025, 3, 1, tzinfo=UTC)) / HOUR))
                 if h >= 48]  # fmt: skip
    assert pricing["checks"] == len(in_period)
    assert pricing["failures"] == sum(1 for h in in_period if h % 50 == 7)
    assert pricing["changes"] == 1  # v1 -> v2 on March 6
    assert pricing["change_log"][0]["diff"] == DIFF  # the February change is outside
    assert len(pricing["change_log"]) == 1
    assert [m["name"] for m in pricing["metrics"]] == ["element_count", "value"]
    value = pricing["metrics"][1]
    assert len(value["mean"]) == 8 and value["max"][0] >= value["mean"][0] >= value["min"][0]
    assert all(90 <= mean <= 110 for mean in value["mean"])
    assert blog["metrics"] and blog["metrics"][0]["name"] == "item_count"
    assert data["summary"]["monitors"] == 2 and data["summary"]["anomalies"] == 1
    assert data["summary"]["alert_counts"] == {"anomaly": 1, "content_changed": 1}
    [anomaly] = data["anomalies"]
    assert (anomaly["metric"], anomaly["value"], anomaly["score"]) == ("value", 180.0, 70.1)
    peers = {p["company"]: p for p in data["peers"]}
    assert set(peers) == {"Acme", "Globex"}  # Umbrella is retail; user-2's monitors are theirs
    assert peers["Acme"]["subject"] and peers["Globex"]["changes"] == 0
    assert peers["Globex"]["alerts"] == 1 and peers["Globex"]["checks"] == len(in_period)

    html = report("ana-1").html
    for section in ("summary", "changes", "trends", "anomalies", "alerts", "peers"):
        assert f'<section id="{section}">' in html
    charts = re.findall(r'<svg class="chart chart-(\w+)"', html)
    # summary: checks per day, changes and alerts; trends: response time and each metric of
    # each monitor (pricing: 2 metrics, blog: 1); alerts by kind; peers: changes and alerts
    assert charts == ["column", "line"] + ["line"] * 5 + ["bar", "bar", "bar"]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r'(src|href)="', html)  # nothing fetched: one self-contained file
    means = re.findall(r'<polyline class="series" data-series="mean"[^>]*points="([^"]+)"', html)
    assert means and all(len(points.split()) == 8 for points in means)  # a point per day
    assert '<tr class="subject"><td>Acme</td>' in html and "<td>Globex</td>" in html
    assert "180.00" in html and "104.00 to 116.00" in html


def without_stamps(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("analysis_id", "generated_at")}


def test_rollups_and_snapshots_give_the_same_report(database: str) -> None:
    build_history()
    run_analysis(request=REQUEST, user_id="user-1", analysis_id="from-snapshots", now=NOW)
    for n in range(7):
        aggregate_snapshots(day=START + timedelta(days=n), now=NOW)
    run_analysis(request=REQUEST, user_id="user-1", analysis_id="from-rollups", now=NOW)
    assert without_stamps(report("from-rollups").data) == without_stamps(
        report("from-snapshots").data
    )


def test_a_redelivered_analysis_returns_the_report_it_already_built(database: str) -> None:
    build_history()
    first = run_analysis(request=REQUEST, analysis_id="twice", now=NOW)
    finished = report("twice").finished_at
    assert run_analysis(request=REQUEST, analysis_id="twice", now=NOW + DAY) == first
    assert report("twice").finished_at == finished


@pytest.mark.parametrize(
    ("request_dict", "user_id", "error", "message"),
    [
        ({**REQUEST, "company": "Nobody"}, None, NotFound, "no monitors watch a company"),
        (REQUEST, "user-3", NotFound, "no monitors of user 'user-3'"),
        ({**REQUEST, "end": "2025-03-02"}, None, InvalidArguments, "empty period"),
        ({**REQUEST, "end": "2025-03-11"}, None, InvalidArguments, "future"),
        ({**REQUEST, "start": "2023-01-01"}, None, InvalidArguments, "longer than"),
        ({"company": "Acme"}, None, InvalidArguments, "start: Field required"),
        ({**REQUEST, "colour": "red"}, None, InvalidArguments, "colour"),
        ({**REQUEST, "start": "last week"}, None, InvalidArguments, "start"),
        (["Acme"], None, InvalidArguments, "JSON object"),
        (REQUEST, 42, InvalidArguments, "user_id"),
    ],
)
def test_bad_requests_are_permanent_errors_and_fail_their_record(
    database: str, request_dict: Any, user_id: Any, error: type[Exception], message: str
) -> None:
    add_monitor(company="Acme")
    with db.session_scope() as session:
        session.add(AnalysisReport(id="bad", company="Acme", period_start=START,
                                   period_end=END))  # fmt: skip
    with pytest.raises(error, match=message):
        run_analysis(request=request_dict, user_id=user_id, analysis_id="bad", now=NOW)
    record = report("bad")
    assert record.status == AnalysisStatus.FAILED and message.split(":")[0] in record.error
    with db.session_scope() as session:
        assert session.scalars(select(AnalysisReport.id)).all() == ["bad"]
