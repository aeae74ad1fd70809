"""Fetching a source over real HTTP: answers, error mapping, timeouts, size cap, redirects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from consultantos.config import Settings
from consultantos.errors import (
    InvalidArguments,
    SourceContentError,
    SourceRejected,
    SourceUnavailable,
)
from consultantos.monitoring.fetch import fetch, parse_retry_after
from tests.helpers.http_server import LocalServer, Reply, free_port, redirect


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def quick(**overrides: object) -> Settings:
    """Settings with short timeouts, so failure tests stay fast."""
    fields: dict[str, object] = {"fetch_connect_timeout": 1.0, "fetch_read_timeout": 1.0}
    fields.update(overrides)
    return Settings.model_validate(fields)


def test_ok_answer_with_body_headers_and_user_agent(server: LocalServer) -> None:
    server.route("/page", Reply(body="<p>héllo</p>", headers={"X-Thing": "1"}))
    result = fetch(server.url("/page"), settings=quick(fetch_user_agent="TestBot/1"))
    assert result.status_code == 200
    assert result.body == "<p>héllo</p>".encode()
    assert result.content_type == "text/html" and result.charset == "utf-8"
    assert result.headers["x-thing"] == "1"
    assert result.url == result.final_url == server.url("/page")
    assert result.elapsed_ms > 0
    assert server.requests[-1].headers["user-agent"] == "TestBot/1"


def test_404_is_rejected_with_a_readable_excerpt(server: LocalServer) -> None:
    page = "<html><head><style>p{}</style></head><body><h1>Not here</h1> gone " + "x" * 500
    server.route("/gone", Reply(status=404, body=page))
    with pytest.raises(SourceRejected) as caught:
        fetch(server.url("/gone"), settings=quick())
    assert caught.value.status_code == 404
    assert caught.value.excerpt.startswith("Not here gone x")
    assert len(caught.value.excerpt) <= 300
    assert server.url("/gone") in str(caught.value) and "404" in str(caught.value)


def test_500_is_unavailable(server: LocalServer) -> None:
    server.route("/broken", Reply(status=500, body="boom", content_type="text/plain"))
    with pytest.raises(SourceUnavailable) as caught:
        fetch(server.url("/broken"), settings=quick())
    assert caught.value.status_code == 500 and caught.value.retry_after is None
    assert "boom" in str(caught.value)


def test_429_with_retry_after_seconds_and_date(server: LocalServer) -> None:
    server.route("/busy", Reply(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(SourceUnavailable) as caught:
        fetch(server.url("/busy"), settings=quick())
    assert caught.value.status_code == 429 and caught.value.retry_after == 120

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    server.route("/busy", Reply(status=503, headers={"Retry-After": later}))
    with pytest.raises(SourceUnavailable) as caught:
        fetch(server.url("/busy"), settings=quick())
    assert caught.value.retry_after is not None and 80 <= caught.value.retry_after <= 90


def test_retry_after_parsing() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 00:01:00 GMT", now=now) == 60
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_read_timeout_is_unavailable_and_fast(server: LocalServer) -> None:
    server.route("/slow", Reply(body="late", delay=5))
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="did not answer in time"):
        fetch(server.url("/slow"), settings=quick(fetch_read_timeout=0.2))
    assert time.perf_counter() - started < 2


def test_a_trickling_body_runs_out_of_time(server: LocalServer) -> None:
    """Each chunk comes within the read timeout, but the whole answer takes too long."""
    server.route("/trickle", Reply(body="x" * 200, chunk_size=10, chunk_delay=0.15))
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable, match="too slowly"):
        fetch(
            server.url("/trickle"),
            settings=quick(fetch_connect_timeout=0.3, fetch_read_timeout=0.5),
        )
    assert time.perf_counter() - started < 2  # the whole body would take 2.85 s


def test_connection_refused_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(SourceUnavailable, match="cannot connect") as caught:
        fetch(url, settings=quick())
    assert url in str(caught.value) and caught.value.status_code is None


def test_dns_failure_is_unavailable() -> None:
    with pytest.raises(SourceUnavailable, match=r"no-such-host\.invalid"):
        fetch("http://no-such-host.invalid/", settings=quick())


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-length"])
def test_body_over_the_cap_is_refused(server: LocalServer, declared: bool) -> None:
    server.route("/huge", Reply(size=200_000, content_length=declared))
    with pytest.raises(SourceContentError, match="exceeds 50000 bytes"):
        fetch(server.url("/huge"), settings=quick(fetch_max_bytes=50_000))


def test_body_at_the_cap_is_accepted(server: LocalServer) -> None:
    server.route("/exact", Reply(size=50_000, content_length=False))
    assert len(fetch(server.url("/exact"), settings=quick(fetch_max_bytes=50_000)).body) == 50_000


def test_redirects_are_followed(server: LocalServer) -> None:
    server.route("/old", redirect("/older", status=301))
    server.route("/older", redirect(server.url("/new")))
    server.route("/new", Reply(body="moved here"))
    result = fetch(server.url("/old"), settings=quick())
    assert result.body == b"moved here"
    assert result.url == server.url("/old") and result.final_url == server.url("/new")


def test_redirect_loop_and_too_many_redirects_are_refused(server: LocalServer) -> None:
    server.route("/a", redirect("/b"))
    server.route("/b", redirect("/a"))
    with pytest.raises(SourceContentError, match="redirect loop"):
        fetch(server.url("/a"), settings=quick(fetch_max_redirects=3))
    assert server.hits("/a") + server.hits("/b") == 4

    for hop in range(3):
        server.route(f"/hop{hop}", redirect(f"/hop{hop + 1}"))
    server.route("/hop3", Reply(body="end"))
    with pytest.raises(SourceContentError, match="more than 2 times"):
        fetch(server.url("/hop0"), settings=quick(fetch_max_redirects=2))
    assert fetch(server.url("/hop0"), settings=quick(fetch_max_redirects=3)).body == b"end"


def test_redirect_to_another_scheme_is_refused(server: LocalServer) -> None:
    server.route("/ftp", redirect("ftp://127.0.0.1/file"))
    with pytest.raises(SourceContentError, match="not an http"):
        fetch(server.url("/ftp"), settings=quick())


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "not a url", ""])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(InvalidArguments):
        fetch(url, settings=quick())
