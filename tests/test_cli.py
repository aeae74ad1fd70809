"""The `consultantos` command against the private Redis and every database backend."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner, Result

from consultantos.cli import app
from consultantos.config import get_settings
from consultantos.embedded_redis import free_port
from consultantos.jobs.dead_letter import DeadLetterEntry
from tests.helpers.worker import celery_worker

runner = CliRunner()

MONITOR = ["--user", "user-1", "--company", "Acme", "--type", "html"]
MONITOR += ["--url", "http://127.0.0.1:9/pricing", "--selector", ".price"]


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def add_monitor(*extra: str) -> dict:
    result = cli("monitors", "add", *MONITOR, *extra, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def entry(task_id: str, *, minutes_ago: int = 0, queue: str = "normal") -> DeadLetterEntry:
    return DeadLetterEntry(
        task_id=task_id,
        task_name="consultantos.jobs.tasks.check_monitor_task",
        args=[f"mon_{task_id}"],
        kwargs={},
        exception="SourceRejected: HTTP 404 from http://127.0.0.1:9/pricing",
        traceback="Traceback (most recent call last): ...",
        failed_at=(datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        retries=0,
        queue=queue,
        priority=5,
        reason="permanent",
        details={"status_code": 404},
    )


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["up"],
        ["redis"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["monitors"],
        ["monitors", "add"],
        ["monitors", "ls"],
        ["monitors", "check"],
        ["dlq"],
        ["dlq", "ls"],
        ["dlq", "show"],
        ["dlq", "requeue"],
        ["dlq", "purge"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: consultantos" in result.output


def test_monitors_add_and_ls(database: str) -> None:
    result = cli("monitors", "add", *MONITOR, "--interval", "600", "--industry", "Retail")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created monitor mon_") and "(Acme html)" in result.stdout
    other = add_monitor("--user", "user-2", "--company", "Globex", "--name", "Globex prices")
    assert other["user_id"] == "user-2" and other["name"] == "Globex prices"

    listing = cli("monitors", "ls")
    assert listing.exit_code == 0, listing.output
    header, *rows = listing.stdout.splitlines()
    assert header.split()[:6] == ["ID", "USER", "COMPANY", "TYPE", "STATUS", "EVERY"]
    assert "NEXT CHECK" in header and header.endswith("URL")
    assert len(rows) == 2 and "600s" in rows[0] and other["id"] in rows[1]

    as_json = json.loads(cli("monitors", "ls", "--json").stdout)
    assert [m["company"] for m in as_json] == ["Acme", "Globex"]
    first = as_json[0]
    assert first["industry"] == "Retail" and first["check_interval_seconds"] == 600
    assert first["source_type"] == "html" and first["status"] == "active"
    assert first["url"] == "http://127.0.0.1:9/pricing" and first["selector"] == ".price"

    only = json.loads(cli("monitors", "ls", "--user", "user-2", "--json").stdout)
    assert [m["id"] for m in only] == [other["id"]]
    assert json.loads(cli("monitors", "ls", "--company", "Nobody", "--json").stdout) == []
    assert cli("monitors", "ls", "--company", "Nobody").stdout.strip() == "no monitors"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--url": "not a url"}, "--url:"),
        ({"--url": "ftp://example.com/feed"}, "--url:"),
        ({"--interval": "5"}, "--interval:"),
        ({"--threshold": "-1"}, "--threshold:"),
        ({"--selector": "a[["}, "invalid CSS selector"),
        ({"--type": "feed"}, "feeds take no selector"),
        ({"--company": ""}, "--company:"),
    ],
)
def test_monitors_add_bad_input_is_a_clear_usage_error(
    database: str, change: dict[str, str], message: str
) -> None:
    args = list(MONITOR)
    for option, value in change.items():
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    result = cli("monitors", "add", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.startswith("error: ")
    no_traceback(result)
    assert json.loads(cli("monitors", "ls", "--json").stdout) == []


def test_monitors_add_unknown_type_is_refused_by_the_parser(database: str) -> None:
    args = list(MONITOR)
    args[args.index("--type") + 1] = "pdf"
    result = cli("monitors", "add", *args)
    assert result.exit_code == 2 and "pdf" in result.output
    no_traceback(result)


def test_monitors_check_enqueues_on_critical(database: str, redis_client: redis.Redis) -> None:
    monitor = add_monitor()
    result = cli("monitors", "check", monitor["id"])
    assert result.exit_code == 0, result.output
    assert f"queued check of {monitor['id']} for user user-1: task " in result.stdout
    # Priority 10 is stored in the list named exactly like the queue (served first).
    assert redis_client.llen("critical") == 1
    message = json.loads(redis_client.lindex("critical", 0))
    assert message["headers"]["task"] == "consultantos.jobs.tasks.check_monitor_user_triggered"
    assert message["properties"]["priority"] == 10
    assert message["headers"]["argsrepr"] == repr([monitor["id"], "user-1"])


def test_monitors_check_refuses_unknown_monitor_and_other_user(
    database: str, redis_client: redis.Redis
) -> None:
    missing = cli("monitors", "check", "mon_missing")
    assert missing.exit_code == 1 and "mon_missing" in missing.stderr
    no_traceback(missing)
    monitor = add_monitor()
    other = cli("monitors", "check", monitor["id"], "--user", "user-2")
    assert other.exit_code == 1 and "does not belong to user 'user-2'" in other.stderr
    assert redis_client.llen("critical") == 0


def test_monitors_check_wait_reports_a_timeout_without_worker(
    database: str, redis_client: redis.Redis
) -> None:
    monitor = add_monitor()
    result = cli("monitors", "check", monitor["id"], "--wait", "--timeout", "1")
    assert result.exit_code == 1
    assert "no result within 1s" in result.stderr and "is a worker running?" in result.stderr
    no_traceback(result)


class PricingPage(BaseHTTPRequestHandler):
    """/pricing answers a page with a price; anything else is 404."""

    def do_GET(self) -> None:
        if self.path != "/pricing":
            self.send_error(404)
            return
        body = b'<html><body><span class="price">$19.99</span></body></html>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PricingPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.worker
def test_monitors_check_wait_prints_the_worker_result(
    database: str, redis_client: redis.Redis, site: str, tmp_path: Path
) -> None:
    ok = add_monitor("--url", f"{site}/pricing")
    gone = add_monitor("--url", f"{site}/gone", "--company", "Gone")
    with celery_worker(tmp_path, queues="critical"):
        result = cli("monitors", "check", ok["id"], "--wait", "--timeout", "60")
        assert result.exit_code == 0, result.output
        printed = json.loads(result.stdout.split("result:\n", 1)[1])
        assert printed["monitor_id"] == ok["id"] and printed["status"] == "checked"
        assert printed["ok"] is True

        failed = cli("monitors", "check", gone["id"], "--wait", "--timeout", "60")
        assert failed.exit_code == 1
        assert "check failed (FAILURE): SourceRejected: " in failed.stderr
        assert "404" in failed.stderr and "consultantos dlq show critical" in failed.stderr
        no_traceback(failed)
    assert redis_client.llen("critical.dead") == 1


def seed_dead_letters(client: redis.Redis) -> None:
    for task_id, minutes_ago in (("t-old", 30), ("t-new", 1)):
        client.lpush("normal.dead", entry(task_id, minutes_ago=minutes_ago).to_json())


def pending_in(client: redis.Redis, queue: str) -> int:
    """Messages waiting in a work queue, over all its priority lists."""
    keys = [queue, *(k for k in client.scan_iter(f"{queue}\x06\x16*"))]
    return sum(client.llen(key) for key in keys)


def test_dlq_ls_and_show(settings_env: pytest.MonkeyPatch, redis_client: redis.Redis) -> None:
    seed_dead_letters(redis_client)
    listing = cli("dlq", "ls")
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line.split()[1:] for line in listing.stdout.splitlines()[1:5]}
    assert set(rows) == {"critical.dead", "high.dead", "normal.dead", "low.dead"}
    assert rows["normal.dead"][0] == "2" and rows["low.dead"] == ["0", "-"]
    assert "2 dead-lettered task(s) in total" in listing.stdout
    as_json = {q["queue"]: q for q in json.loads(cli("dlq", "ls", "--json").stdout)}
    assert as_json["normal.dead"]["entries"] == 2 and as_json["critical.dead"]["entries"] == 0

    shown = cli("dlq", "show", "normal", "--limit", "1")
    assert shown.exit_code == 0, shown.output
    assert "normal.dead: 2 entries; showing 1-1, newest first" in shown.stdout
    assert "t-new" in shown.stdout and "t-old" not in shown.stdout
    for text in ("check_monitor_task", "permanent", "SourceRejected: HTTP 404", '["mon_t-new"]'):
        assert text in shown.stdout
    full = json.loads(cli("dlq", "show", "normal.dead", "--json").stdout)
    assert [e["task_id"] for e in full] == ["t-new", "t-old"]
    assert full[0]["traceback"].startswith("Traceback") and full[0]["details"]["status_code"] == 404


def test_dlq_requeue_one_then_all(
    settings_env: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    seed_dead_letters(redis_client)
    one = cli("dlq", "requeue", "normal", "--task-id", "t-old")
    assert one.exit_code == 0, one.output
    assert one.stdout.strip() == (
        "requeued t-old (consultantos.jobs.tasks.check_monitor_task) to normal"
    )
    assert redis_client.llen("normal.dead") == 1 and pending_in(redis_client, "normal") == 1

    missing = cli("dlq", "requeue", "normal", "--task-id", "t-old")
    assert missing.exit_code == 1 and "t-old" in missing.stderr

    rest = cli("dlq", "requeue", "normal")
    assert rest.exit_code == 0, rest.output
    assert "requeued t-new" in rest.stdout and "1 task(s) requeued from normal.dead" in rest.stdout
    assert redis_client.llen("normal.dead") == 0 and pending_in(redis_client, "normal") == 2


def test_dlq_purge_needs_confirmation(
    settings_env: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    seed_dead_letters(redis_client)
    refused = cli("dlq", "purge", "normal")
    assert refused.exit_code == 1
    assert "refusing to purge normal.dead" in refused.stderr and "--yes" in refused.stderr
    assert redis_client.llen("normal.dead") == 2

    purged = cli("dlq", "purge", "normal", "--yes")
    assert purged.exit_code == 0, purged.output
    assert purged.stdout.strip() == "purged 2 entries from normal.dead"
    assert redis_client.llen("normal.dead") == 0


def test_dlq_unknown_or_malformed_queue(
    settings_env: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    unknown = cli("dlq", "show", "urgent")
    assert unknown.exit_code == 1 and "no dead-letter queue 'urgent'" in unknown.stderr
    malformed = cli("dlq", "show", "bad name!")
    assert malformed.exit_code == 2 and "not a queue name" in malformed.stderr
    no_traceback(unknown)
    no_traceback(malformed)


def test_redis_down_is_one_clear_line(settings_env: pytest.MonkeyPatch) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings_env.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    result = cli("dlq", "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach Redis at {url}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_database_down_is_one_clear_line(settings_env: pytest.MonkeyPatch) -> None:
    url = f"postgresql://consultantos:secret@127.0.0.1:{free_port()}/nowhere"
    settings_env.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    result = cli("monitors", "ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: database error (postgresql://consultantos:***@")
    assert "secret" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_db_upgrade_and_current_on_a_fresh_sqlite_file(
    settings_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "fresh" / "consultantos.db"
    path.parent.mkdir()
    settings_env.setenv("DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()

    before = cli("db", "current")
    assert before.exit_code == 0, before.output
    assert (
        "no revision (empty database)" in before.stdout
        and "consultantos db upgrade" in before.stdout
    )

    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"sqlite:///{path}: upgraded empty database -> " in upgraded.stdout

    after = cli("db", "current")
    assert after.stdout.strip().endswith("(head)")
    again = cli("db", "upgrade")
    assert "already at" in again.stdout

    import sqlite3

    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master")}
    assert {"monitors", "snapshots", "alerts", "alembic_version"} <= tables
