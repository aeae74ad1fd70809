"""The `consultantos` command: run the stack, migrate, manage monitors and dead-letter queues.

    consultantos up                       everything on this machine, in the foreground
    consultantos redis                    the embedded Redis alone
    consultantos db upgrade|current       schema migrations
    consultantos monitors add|ls|check    monitors without the API
    consultantos dlq ls|show|requeue|purge
    consultantos metrics                  the Prometheus exporter (/metrics, /health)

Every command reads the same settings as the workers (REDIS_URL, DATABASE_URL, DATA_DIR...);
errors an operator can act on are one `error:` line on stderr and a non-zero exit code
(2 for bad input), never a traceback.
"""

from __future__ import annotations

import typer

from consultantos.cli.db_commands import db_app
from consultantos.cli.dlq_commands import dlq_app
from consultantos.cli.metrics_command import metrics
from consultantos.cli.monitor_commands import monitors_app
from consultantos.cli.up_command import UP_HELP, redis_server, up

app = typer.Typer(
    name="consultantos",
    help="ConsultantOS Jobs: monitor checks, alerts and reports on Celery and Redis. "
    "Settings come from environment variables (REDIS_URL, DATABASE_URL, DATA_DIR, ...) or .env.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("up", help=UP_HELP)(up)
app.command("redis")(redis_server)
app.add_typer(db_app, name="db")
app.add_typer(monitors_app, name="monitors")
app.add_typer(dlq_app, name="dlq")
app.command("metrics")(metrics)


def main() -> None:
    """Entry point of the `consultantos` script."""
    app()
