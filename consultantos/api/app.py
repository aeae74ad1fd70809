"""The FastAPI application: `create_app()` builds one, `app` is the one uvicorn serves
(`uvicorn consultantos.api.app:app`). Building it touches neither Redis nor the database;
those are reached per request through `consultantos.api.deps`."""

from __future__ import annotations

from fastapi import FastAPI

from consultantos.api.errors import install_error_handlers
from consultantos.api.routes import (
    alerts,
    analysis,
    channels,
    checks,
    dead_letter,
    health,
    history,
    monitors,
    tasks,
)

DESCRIPTION = """\
Manage competitor monitors and where their alerts go, trigger checks on the critical queue,
list and re-send alerts, request competitive analysis reports, follow and cancel tasks, and
inspect, replay or purge the dead-letter queues. Every error answer is `{"detail": ...}`.
"""


def create_app() -> FastAPI:
    """A new application with every router and the error mapping installed."""
    app = FastAPI(title="ConsultantOS Jobs API", version="0.1.0", description=DESCRIPTION)
    routers = (monitors, history, checks, channels, alerts, analysis, tasks, dead_letter, health)
    for module in routers:
        app.include_router(module.router)
    install_error_handlers(app)
    return app


app = create_app()
