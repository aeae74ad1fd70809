"""`consultantos metrics`: the Prometheus exporter (task events + dead-letter sizes)."""

from __future__ import annotations

import logging
import time

import typer

from consultantos.cli._common import cli_errors
from consultantos.config import get_settings
from consultantos.embedded_redis import mask_url
from consultantos.stack import StopSignals


@cli_errors
def metrics(
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port of /metrics and /health. Default: METRICS_PORT or 9808."
    ),
    host: str = typer.Option("0.0.0.0", help="Address to listen on."),
) -> None:
    """Serve the guide's Prometheus metrics (celery_task_total, ...) in the foreground."""
    from consultantos.jobs.celery_app import app as celery_app
    from consultantos.metrics.exporter import Exporter

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    signals = StopSignals().install()
    exporter = Exporter(celery_app)
    bound = exporter.start(host, port or settings.metrics_port)
    typer.echo(
        f"metrics: http://{host}:{bound}/metrics (health /health), "
        f"events from {mask_url(settings.redis_url)}"
    )
    try:
        while not signals.requested:
            time.sleep(0.2)
    finally:
        exporter.stop()
        typer.echo("metrics: stopped")
