"""Health: can this API reach Redis and the database right now?"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from consultantos.api.deps import EngineDep, RedisDep
from consultantos.api.errors import short_reason
from consultantos.api.schemas import HealthOut
from consultantos.db.migrate import ensure_schema_current

router = APIRouter(tags=["health"])

HEALTH_TIMEOUT = 2.0
"""Seconds a check may take before it counts as failed: a load balancer must get an answer."""


@cache
def _executor() -> ThreadPoolExecutor:
    # Checks stuck on an unanswering host (no connect timeout on PostgreSQL) pile up here,
    # on a few threads of their own, instead of starving the request thread pool.
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="health-check")


def _outcome(future: Future[object]) -> str:
    if not future.done():
        return f"timed out after {HEALTH_TIMEOUT:g} s"
    exc = future.exception()
    if exc is None:
        return "ok"
    return short_reason(exc)


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Health of the API's dependencies",
    responses={503: {"model": HealthOut, "description": "Redis or the database failed."}},
)
def health(redis_client: RedisDep, engine: EngineDep) -> HealthOut | JSONResponse:
    """Ping Redis and check the database answers and is migrated, both at once and within
    HEALTH_TIMEOUT."""

    def query_database() -> None:
        with engine.connect() as connection:
            ensure_schema_current(connection)

    checks: dict[str, Callable[[], object]] = {
        "redis": redis_client.ping,
        "database": query_database,
    }
    futures = {name: _executor().submit(check) for name, check in checks.items()}
    wait(futures.values(), timeout=HEALTH_TIMEOUT)
    outcomes = {name: _outcome(future) for name, future in futures.items()}
    failed = {name: why for name, why in outcomes.items() if why != "ok"}
    if not failed:
        return HealthOut(status="ok", **outcomes)
    body = HealthOut(
        status="unavailable",
        detail="; ".join(f"{name}: {why}" for name, why in failed.items()),
        **outcomes,
    )
    return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
