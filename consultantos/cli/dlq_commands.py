"""`consultantos dlq`: the dead-letter queues (`<queue>.dead` on Redis) from the terminal."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from consultantos.cli._common import cli_errors, echo_json, fail, table
from consultantos.jobs.dead_letter import DeadLetterQueues

dlq_app = typer.Typer(
    help="Dead-letter queues: list, inspect, requeue and purge tasks that failed for good. "
    "QUEUE is a work queue (critical, high, normal, low) or its dead-letter name (normal.dead).",
    no_args_is_help=True,
)


def _queues() -> DeadLetterQueues:
    from consultantos.jobs.task_monitor import get_dlq_monitor

    return get_dlq_monitor()


@dlq_app.command("ls")
@cli_errors
def ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each dead-letter queue, its number of entries and its newest failure."""
    dlq = _queues()
    sizes = dlq.get_all_dead_letter_queues()
    newest = {
        name: dlq.inspect_dead_letter_queue(name, limit=1)[0]
        for name, size in sizes.items()
        if size
    }
    if as_json:
        echo_json(
            [
                {"queue": name, "entries": size, "newest_failed_at": _failed_at(newest.get(name))}
                for name, size in sizes.items()
            ]
        )
        return
    rows = [(name, size, _failed_at(newest.get(name))) for name, size in sizes.items()]
    typer.echo(table(("QUEUE", "ENTRIES", "NEWEST FAILURE"), rows))
    typer.echo(f"\n{sum(sizes.values())} dead-lettered task(s) in total")


def _failed_at(entry: dict[str, Any] | None) -> str | None:
    return entry["failed_at"] if entry else None


@dlq_app.command("show")
@cli_errors
def show(
    queue: str = typer.Argument(
        ..., metavar="QUEUE", help="critical, high, normal, low (or critical.dead...)."
    ),
    limit: int = typer.Option(10, min=1, help="Entries to show, newest first."),
    offset: int = typer.Option(0, min=0, help="Entries to skip from the newest."),
    as_json: bool = typer.Option(False, "--json", help="Print the full entries as JSON."),
) -> None:
    """The newest entries of one dead-letter queue: id, task, when and why it failed, args."""
    dlq = _queues()
    name = dlq.resolve(queue)
    entries = dlq.inspect_dead_letter_queue(name, limit=limit, offset=offset)
    if as_json:
        echo_json(entries)
        return
    total = dlq.get_all_dead_letter_queues()[name]
    if not entries:
        typer.echo(f"{name}: no entries" + (f" past offset {offset}" if total else ""))
        return
    typer.echo(
        f"{name}: {total} entries; showing {offset + 1}-{offset + len(entries)}, newest first\n"
    )
    for entry in entries:
        typer.echo(_describe(entry))


def _describe(entry: dict[str, Any]) -> str:
    fields = [
        ("task id", entry["task_id"]),
        ("task", entry["task_name"]),
        ("failed at", entry["failed_at"]),
        ("reason", entry["reason"]),
        ("exception", entry["exception"]),
        ("args", json.dumps(entry["args"], default=str)),
        ("kwargs", json.dumps(entry["kwargs"], default=str)),
        ("retries", entry["retries"]),
        ("queue", f"{entry['queue']} (priority {entry['priority']})"),
    ]
    if entry.get("details"):
        fields.append(("details", json.dumps(entry["details"], default=str, sort_keys=True)))
    return "\n".join(f"{label:<10} {value}" for label, value in fields) + "\n"


@dlq_app.command("requeue")
@cli_errors
def requeue(
    queue: str = typer.Argument(
        ..., metavar="QUEUE", help="critical, high, normal, low (or critical.dead...)."
    ),
    task_id: str | None = typer.Option(None, "--task-id", help="Requeue only this task."),
) -> None:
    """Send entries back to their original queue with their priority (all, or --task-id)."""
    dlq = _queues()
    name = dlq.resolve(queue)
    if task_id is not None:
        entry = dlq.get_dead_letter_task(name, task_id)
        dlq.requeue_dead_letter_task(name, task_id)
        typer.echo(f"requeued {task_id} ({entry['task_name']}) to {entry['queue']}")
        return
    size = dlq.get_all_dead_letter_queues()[name]
    known = {
        e["task_id"]: e for e in (dlq.inspect_dead_letter_queue(name, limit=size) if size else [])
    }
    requeued = dlq.requeue_dead_letter_queue(name)
    for requeued_id in requeued:
        entry = known.get(requeued_id)
        where = f" ({entry['task_name']}) to {entry['queue']}" if entry else ""
        typer.echo(f"requeued {requeued_id}{where}")
    typer.echo(f"{len(requeued)} task(s) requeued from {name}")


@dlq_app.command("purge")
@cli_errors
def purge(
    queue: str = typer.Argument(
        ..., metavar="QUEUE", help="critical, high, normal, low (or critical.dead...)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete every entry of one dead-letter queue, for good. Asks first unless --yes."""
    dlq = _queues()
    name = dlq.resolve(queue)
    size = dlq.get_all_dead_letter_queues()[name]
    if not yes:
        if not sys.stdin.isatty():
            fail(
                f"refusing to purge {name} without confirmation: stdin is not a terminal, "
                "pass --yes"
            )
        if not typer.confirm(f"Delete all {size} entries of {name} for good?", default=False):
            fail("purge cancelled")
    purged = dlq.purge_dead_letter_queue(name)
    typer.echo(f"purged {purged} entries from {name}")
