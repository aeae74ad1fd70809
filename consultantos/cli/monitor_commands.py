"""`consultantos monitors`: create, list and check monitors without the API."""

from __future__ import annotations

from typing import Any

import typer

from consultantos import db
from consultantos.cli._common import cli_errors, echo_json, fail, table
from consultantos.db.models import Monitor, MonitorStatus, SourceType
from consultantos.errors import NotFound
from consultantos.monitoring.monitors import create_monitor, get_monitor, list_monitors
from consultantos.monitoring.schemas import MonitorCreate

monitors_app = typer.Typer(help="Monitors: add, list, check now.", no_args_is_help=True)


def monitor_dict(monitor: Monitor) -> dict[str, Any]:
    """A monitor as JSON-able data (the fields an operator needs, times in ISO 8601 UTC)."""
    return {
        "id": monitor.id,
        "user_id": monitor.user_id,
        "company": monitor.company,
        "industry": monitor.industry,
        "name": monitor.name,
        "source_type": str(monitor.source_type),
        "url": monitor.url,
        "selector": monitor.selector,
        "check_interval_seconds": monitor.check_interval_seconds,
        "change_threshold_pct": monitor.change_threshold_pct,
        "status": str(monitor.status),
        "next_check_at": _iso(monitor.next_check_at),
        "last_check_started_at": _iso(monitor.last_check_started_at),
        "created_at": _iso(monitor.created_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@monitors_app.command("add")
@cli_errors
def add(
    user: str = typer.Option(..., "--user", help="Owner (user id)."),
    company: str = typer.Option(..., "--company", help="Competitor watched."),
    source_type: SourceType = typer.Option(..., "--type", help="What the URL serves."),
    url: str = typer.Option(..., "--url", help="http(s) URL of the page, JSON API or feed."),
    selector: str | None = typer.Option(
        None, help="CSS selector (html) or JSONPath (json); default: the whole document."
    ),
    interval: int = typer.Option(3600, help="Seconds between checks (at least 30)."),
    threshold: float = typer.Option(5.0, help="Percent change of a metric that raises an alert."),
    industry: str | None = typer.Option(None, help="Industry of the company."),
    name: str | None = typer.Option(None, help="Display name; default: '<company> <type>'."),
    as_json: bool = typer.Option(False, "--json", help="Print the new monitor as JSON."),
) -> None:
    """Create a monitor; its first check is due at once (Beat queues it within a minute)."""
    spec = MonitorCreate(
        user_id=user,
        company=company,
        source_type=source_type,
        url=url,
        selector=selector,
        check_interval_seconds=interval,
        change_threshold_pct=threshold,
        industry=industry,
        name=name,
    )
    with db.session_scope() as session:
        data = monitor_dict(create_monitor(session=session, spec=spec))
    if as_json:
        echo_json(data)
    else:
        typer.echo(f"created monitor {data['id']} ({data['name']}) for user {data['user_id']}")


@monitors_app.command("ls")
@cli_errors
def ls(
    user: str | None = typer.Option(None, "--user", help="Only this user's monitors."),
    company: str | None = typer.Option(None, "--company", help="Only this company's monitors."),
    status: MonitorStatus | None = typer.Option(None, "--status", help="Only active or paused."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many, oldest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List monitors, oldest first."""
    with db.session_scope() as session:
        monitors = [
            monitor_dict(m)
            for m in list_monitors(
                session=session, user_id=user, company=company, status=status, limit=limit
            )
        ]
    if as_json:
        echo_json(monitors)
        return
    if not monitors:
        typer.echo("no monitors")
        return
    headers = ("ID", "USER", "COMPANY", "TYPE", "STATUS", "EVERY", "NEXT CHECK", "URL")
    rows = [
        (
            m["id"],
            m["user_id"],
            m["company"],
            m["source_type"],
            m["status"],
            f"{m['check_interval_seconds']}s",
            m["next_check_at"],
            m["url"],
        )
        for m in monitors
    ]
    typer.echo(table(headers, rows))


@monitors_app.command("check")
@cli_errors
def check(
    monitor_id: str = typer.Argument(..., metavar="MONITOR_ID", help="Monitor id (mon_...)."),
    user: str | None = typer.Option(
        None, "--user", help="Check on behalf of this user; default: the monitor's owner."
    ),
    wait: bool = typer.Option(False, "--wait/--no-wait", help="Wait for the result."),
    timeout: float = typer.Option(120.0, min=1, help="Seconds to wait with --wait."),
) -> None:
    """Queue an immediate check (critical queue, ahead of everything else) and optionally wait.

    A worker must be running for the check to happen (`consultantos up`, or
    scripts/start_celery_worker.sh).
    """
    with db.session_scope() as session:
        owner = get_monitor(session=session, monitor_id=monitor_id).user_id
    user = user or owner
    if user != owner:
        raise NotFound(f"monitor {monitor_id!r} does not belong to user {user!r}")

    from consultantos.jobs.tasks import check_monitor_user_triggered

    task_id = check_monitor_user_triggered.apply_async(args=[monitor_id, user]).id
    typer.echo(f"queued check of {monitor_id} for user {user}: task {task_id}")
    if not wait:
        return
    outcome = _wait_for_result(task_id, timeout)
    if outcome is None:
        fail(
            f"no result within {timeout:g}s: the task is queued or still running "
            f"(is a worker running?); task {task_id}"
        )
    state, value = outcome
    if state != "SUCCESS":
        fail(f"check failed ({state}): {value}; details: `consultantos dlq show critical`")
    typer.echo("result:")
    echo_json(value)


def _wait_for_result(task_id: str, timeout: float) -> tuple[str, Any] | None:
    """(state, result) of a task, or None after `timeout` seconds."""
    from celery.exceptions import TimeoutError as ResultTimeout
    from celery.result import AsyncResult

    from consultantos.jobs.celery_app import app

    result = AsyncResult(task_id, app=app)
    try:
        result.get(timeout=timeout, propagate=False)
    except ResultTimeout:
        return None
    finally:
        # Unsubscribe now: left to the finalizer, it runs at interpreter exit and fails noisily.
        result.backend.remove_pending_result(result)
    if result.state == "SUCCESS":
        return result.state, result.result
    return result.state, _failure_text(task_id, result.result)


def _failure_text(task_id: str, exc: Any) -> str:
    """`Type: message` of a failed task, from the stored result.

    Read raw because Celery cannot rebuild exceptions whose constructor takes keyword-only
    arguments (SourceRejected...): it hands back a bare Exception with a mangled message.
    """
    from consultantos.jobs.celery_app import app

    backend = app.backend
    raw = backend.get(backend.get_key_for_task(task_id))
    stored = (backend.decode(raw) if raw else {}).get("result")
    if isinstance(stored, dict) and stored.get("exc_type"):
        message = " ".join(str(arg) for arg in stored.get("exc_message") or ())
        return f"{stored['exc_type']}: {message}"
    return f"{type(exc).__name__}: {exc}"
