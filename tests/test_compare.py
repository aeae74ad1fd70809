"""Comparing observations: what counts as a change, the diff, thresholds, down and up."""

from __future__ import annotations

from dataclasses import replace

from consultantos.db.models import AlertKind, SourceType
from consultantos.monitoring.compare import (
    DIFF_MAX_CHARS,
    DIFF_MAX_LINES,
    Observation,
    Subject,
    compare,
    content_hash,
    diff_excerpt,
    normalize_lines,
)

ACME = Subject(
    monitor_id="mon_1",
    company="Acme",
    name="pricing page",
    url="https://acme.example/pricing",
    source_type=SourceType.HTML,
    change_threshold_pct=5.0,
)


def seen(text: str, snapshot_id: int | None = None, **metrics: float) -> Observation:
    return Observation(
        ok=True,
        snapshot_id=snapshot_id,
        content_hash=content_hash(text),
        content_text=text,
        metrics={"http_status": 200.0, "response_time_ms": 10.0, **metrics},
        http_status=200,
    )


def failed(snapshot_id: int | None = None, status: int | None = 503) -> Observation:
    return Observation(ok=False, snapshot_id=snapshot_id, error="HTTP 503", http_status=status)


def run(
    current: Observation,
    previous: Observation | None,
    baseline: Observation | None = None,
    subject: Subject = ACME,
) -> list:
    if baseline is None and previous is not None and previous.ok:
        baseline = previous
    return compare(subject=subject, current=current, previous=previous, baseline=baseline)


def test_whitespace_and_order_are_not_changes() -> None:
    before = seen("Basic  $99\nPro $199\n\n", snapshot_id=1)
    assert run(seen("  Pro   $199 \n\n Basic $99"), before) == []
    assert content_hash("a\nb") == content_hash("b\n  a \n\n")
    assert content_hash("a\nb") != content_hash("a\nb\nb")  # same lines, other multiset
    assert normalize_lines(" a \t b \n\n c ") == ["a b", "c"]


def test_reordered_values_are_not_a_metric_change() -> None:
    before = seen("$10\n$50", snapshot_id=1, **{"value[0]": 10.0, "value[1]": 50.0})
    assert run(seen("$50\n$10", **{"value[0]": 50.0, "value[1]": 10.0}), before) == []


def test_first_observation_makes_no_change() -> None:
    assert run(seen("Basic $99", value=99), None) == []


def test_content_change_gives_a_readable_diff() -> None:
    before = seen("Plans\nBasic $99\nPro $199\nFooter", snapshot_id=7)
    [change] = run(seen("Plans\nBasic $99\nPro $249\nFooter"), before)
    assert change.kind == AlertKind.CONTENT_CHANGED
    assert change.title == "Acme pricing page changed"
    reordered = "Footer\nPlans\nPro $249\nBasic $99"  # same content hash: order does not count
    assert change.dedupe_key == f"content:7:{content_hash(reordered)}"
    assert "-Pro $199\n+Pro $249" in change.details["diff"]
    assert change.details["lines_added"] == 1 and change.details["lines_removed"] == 1
    assert change.details["company"] == "Acme" and change.details["url"] == ACME.url
    assert change.details["monitor"] == "pricing page"


def test_diff_is_capped_with_a_note() -> None:
    old = [f"line {i}" for i in range(500)]
    new = [f"line {i} changed" for i in range(500)]
    excerpt = diff_excerpt(old, new)
    lines = excerpt.splitlines()
    assert len(lines) <= DIFF_MAX_LINES + 1 and len(excerpt) <= DIFF_MAX_CHARS + 40
    assert lines[-1].startswith("… ") and lines[-1].endswith(" more lines")


def test_feed_change_lists_new_items() -> None:
    feed = replace(ACME, name="Acme blog", source_type=SourceType.FEED)
    before = seen("Old post — https://a/1", snapshot_id=3)
    [change] = run(seen("New post — https://a/2\nOld post — https://a/1"), before, subject=feed)
    assert change.title == "Acme blog: 1 new item"
    assert change.details["new_items"] == ["New post — https://a/2"]


def test_metric_beyond_threshold() -> None:
    before = seen("Basic $99.00", snapshot_id=4, value=99.0)
    changes = run(seen("Basic $111.38", value=111.38), before)
    assert [c.kind for c in changes] == [AlertKind.CONTENT_CHANGED, AlertKind.METRIC_CHANGED]
    metric = changes[1]
    assert metric.title == "Acme pricing page: value rose 12.5% (99.00 → 111.38)"
    assert metric.dedupe_key == "metric:value:4:111.38"
    assert metric.details["old"] == 99.0 and metric.details["new"] == 111.38
    assert round(metric.details["pct"], 1) == 12.5


def test_metric_within_threshold_and_fetch_metrics_are_ignored() -> None:
    before = seen("100", snapshot_id=4, value=100.0, element_count=1)
    now = Observation(
        ok=True,
        content_hash=content_hash("104\n105"),
        content_text="104\n105",
        metrics={
            "value": 104.0,
            "element_count": 2.0,
            "http_status": 201.0,
            "response_time_ms": 900.0,
        },
    )
    assert [change.kind for change in run(now, before)] == [AlertKind.CONTENT_CHANGED]
    [_, fell] = run(seen("90", value=90.0), before)
    assert fell.title == "Acme pricing page: value fell 10.0% (100.00 → 90.00)"


def test_metric_from_zero_always_counts() -> None:
    before = seen("0", snapshot_id=5, **{"plans.[0].price": 0.0})
    [_, change] = run(seen("5", **{"plans.[0].price": 5.0}), before)
    assert change.details["pct"] is None
    assert change.title == "Acme pricing page: plans.[0].price rose from 0.00 to 5.00"


def test_down_then_up() -> None:
    ok = seen("x", snapshot_id=1)
    [down] = run(failed(), ok)
    assert down.kind == AlertKind.SOURCE_DOWN and down.dedupe_key == "down:1"
    assert down.title == "Acme pricing page is down (HTTP 503)"
    assert down.details["error"] == "HTTP 503"
    assert run(failed(), failed(snapshot_id=2), baseline=ok) == []  # still down: no new alert
    [up] = run(seen("x"), failed(snapshot_id=3), baseline=ok)
    assert up.kind == AlertKind.SOURCE_UP and up.dedupe_key == "up:3"
    assert up.title == "Acme pricing page is back up"


def test_first_check_failing_is_down() -> None:
    [down] = run(failed(status=None), None)
    assert down.dedupe_key == "down:first" and down.title == "Acme pricing page is down"


def test_change_during_an_outage_is_reported_on_recovery() -> None:
    ok = seen("old", snapshot_id=1)
    changes = run(seen("new"), failed(snapshot_id=2), baseline=ok)
    assert [c.kind for c in changes] == [AlertKind.SOURCE_UP, AlertKind.CONTENT_CHANGED]
    assert changes[1].dedupe_key.startswith("content:1:")


def test_dedupe_keys_same_for_a_race_new_for_a_repeat() -> None:
    a1 = seen("A", snapshot_id=1)
    first = run(seen("B"), a1)[0].dedupe_key
    racing = run(seen("B"), a1)[0].dedupe_key
    later = run(seen("B"), seen("A", snapshot_id=3))[0].dedupe_key
    assert first == racing and later != first


def test_long_metric_names_keep_keys_short() -> None:
    name = "data." + ".".join(f"level{i}" for i in range(60))
    before = seen("1", snapshot_id=1, **{name: 1.0})
    [_, change] = run(seen("2", **{name: 2.0}), before)
    assert len(change.dedupe_key) <= 200 and change.dedupe_key.startswith("metric:data.")
