"""`consultantos up` (the whole stack in the foreground) and `consultantos redis`."""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from consultantos.cli._common import cli_errors, fail
from consultantos.cli.up_stack import Plan, Stack
from consultantos.config import get_settings
from consultantos.embedded_redis import RedisMode, mask_url, port_is_free, resolve_redis
from consultantos.stack import StopSignals


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


UP_HELP = "\n\n".join(
    (
        "Run the whole stack on this machine, in the foreground: migrations, Redis, the API, "
        "one worker on all four queues, Beat, Flower and the Prometheus exporter.",
        "Redis (--redis): auto uses REDIS_URL when it is set, else a Redis answering on "
        "127.0.0.1:6379, else starts the embedded server (its data kept in DATA_DIR/redis across "
        "restarts); embedded always starts it; external requires REDIS_URL (default "
        "redis://localhost:6379/0) to answer.",
        "Output: every process's lines are shown here as they come, prefixed with its name "
        "(\\[api], \\[worker], \\[beat], \\[flower], \\[metrics], \\[redis]; \\[up] is this "
        "command). Each "
        "process's output is also written to DATA_DIR/logs/NAME.log (the previous run's to "
        "NAME.log.1), for grep and for reading after a crash.",
        "Stopping: Ctrl-C or SIGTERM stops every process (SIGTERM, up to --stop-timeout seconds "
        "for running tasks to finish, then SIGKILL), then the embedded Redis, and exits 0. If a "
        "process exits by itself, everything is stopped and the exit code is 1.",
    )
)


@cli_errors
def up(
    redis: RedisMode = typer.Option(RedisMode.AUTO, "--redis", help="Which Redis to use."),
    redis_port: int | None = typer.Option(
        None, help="Port of the embedded Redis. Default: 6379 when free, else any free port."
    ),
    flower: bool = typer.Option(True, "--flower/--no-flower", help="Start Flower."),
    api_port: int | None = typer.Option(None, help="API port. Default: API_PORT or 8000."),
    flower_port: int | None = typer.Option(None, help="Flower port. Default: FLOWER_PORT or 5555."),
    metrics: bool = typer.Option(
        True, "--metrics/--no-metrics", help="Start the Prometheus exporter."
    ),
    metrics_port: int | None = typer.Option(
        None, help="Exporter port. Default: METRICS_PORT or 9808."
    ),
    concurrency: int | None = typer.Option(
        None, min=1, max=256, help="Worker processes. Default: CONCURRENCY or 4."
    ),
    log_level: LogLevel | None = typer.Option(None, help="Default: LOG_LEVEL or info."),
    ready_timeout: float = typer.Option(60.0, min=1, help="Seconds to wait for API health."),
    stop_timeout: float = typer.Option(
        20.0, min=0, help="Seconds processes get to stop before they are killed."
    ),
) -> None:
    """Run the whole stack in the foreground (help text: UP_HELP)."""
    signals = StopSignals().install()
    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    api_port = api_port or settings.api_port
    flower_port = (flower_port or settings.flower_port) if flower else None
    metrics_port = (metrics_port or settings.metrics_port) if metrics else None
    ports = [
        ("API", settings.api_host, api_port),
        ("Flower", "127.0.0.1", flower_port),
        ("Metrics", "127.0.0.1", metrics_port),
    ]
    for what, host, port in ports:
        if port and not port_is_free(port, host):
            fail(f"{what} port {host}:{port} is in use (another `consultantos up`?); pick another")
    from consultantos.db.migrate import upgrade

    typer.echo(f"[up] migrating {mask_url(settings.sqlalchemy_url)}")
    upgrade()
    plan = Plan(
        settings=settings,
        data_dir=data_dir,
        redis=resolve_redis(redis, settings, port=redis_port),
        api_host=settings.api_host,
        api_port=api_port,
        flower_port=flower_port,
        metrics_port=metrics_port,
        concurrency=concurrency or settings.concurrency,
        log_level=str(log_level or settings.log_level),
    )
    if signals.requested:
        raise typer.Exit(0)
    stack = Stack(plan, signals, ready_timeout=ready_timeout, grace=stop_timeout)
    raise typer.Exit(stack.run())


@cli_errors
def redis_server(
    port: int = typer.Option(6379, help="Port to listen on (127.0.0.1 only)."),
    data_dir: Path | None = typer.Option(None, help="Data directory. Default: DATA_DIR/redis."),
) -> None:
    """Run the embedded Redis-compatible server in the foreground until Ctrl-C.

    `up` starts it by itself; this is for running the start scripts or the guide's celery
    commands on a machine without Redis. Data (append-only file and snapshots) persists.
    """
    from consultantos.embedded_redis import serve

    if not port_is_free(port):
        fail(f"port 127.0.0.1:{port} is in use")
    typer.echo(f"export REDIS_URL=redis://127.0.0.1:{port}/0")
    raise typer.Exit(serve((data_dir or get_settings().data_dir / "redis").resolve(), port))
