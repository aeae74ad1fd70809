"""Follow and cancel tasks by id, through the Celery result backend and control broadcasts."""

from __future__ import annotations

from typing import Annotated, Any

from celery import Celery, states
from celery.backends.base import BaseKeyValueStoreBackend
from celery.result import AsyncResult
from fastapi import APIRouter, Body, HTTPException, Query, status

from consultantos.api.deps import BrokerReady, CeleryDep, TaskId
from consultantos.api.schemas import ErrorOut, RevokeOut, RevokeRequest, TaskStatus

router = APIRouter(prefix="/tasks", tags=["tasks"])

INVALID_ID = {422: {"description": "The task id is not an id (length or characters)."}}


def read_task_meta(celery_app: Celery, task_id: str) -> dict[str, Any]:
    """The stored meta of a task, read once, with a failure's exception left as stored.

    Celery's own reading rebuilds the exception class, which fails for exceptions with
    keyword-only arguments (ours: SourceRejected(..., status_code=...)) and would turn them
    into a bare `Exception`; a stored type that is not an exception class raises SecurityError.
    The API only reports the type name and message, so it reads the raw record when the
    backend is a key-value store (Redis) and falls back to Celery's reading otherwise.
    """
    backend = celery_app.backend
    if isinstance(backend, BaseKeyValueStoreBackend):
        payload = backend.get(backend.get_key_for_task(task_id))
        if payload is None:
            return {"status": states.PENDING, "result": None}
        meta = backend.decode(payload)
        return meta if isinstance(meta, dict) else {"status": states.PENDING, "result": None}
    return dict(backend.get_task_meta(task_id))


def describe_error(value: Any) -> tuple[str, str] | None:
    """(type name, message) of a stored exception, whether Celery rebuilt it or not."""
    if isinstance(value, BaseException):
        return type(value).__name__, str(value)
    if isinstance(value, dict) and "exc_type" in value:  # as Celery's JSON serializer stores it
        message = value.get("exc_message")
        if isinstance(message, list | tuple):
            message = " ".join(str(part) for part in message)
        return str(value["exc_type"]), str(message or "")
    return None


@router.get(
    "/{task_id}",
    response_model=TaskStatus,
    summary="Get a task's state",
    responses=INVALID_ID,
)
def get_task_status(task_id: TaskId, celery_app: CeleryDep) -> TaskStatus:
    """State, name and result or error of a task. Unknown ids are PENDING: the backend cannot
    tell a task still queued from one never sent (or whose result expired)."""
    # One read, so state, result and error all come from the same moment.
    meta = read_task_meta(celery_app, task_id)
    state = str(meta.get("status") or states.PENDING)
    value = meta.get("result")
    error = describe_error(value) if state in states.EXCEPTION_STATES else None
    return TaskStatus(
        task_id=task_id,
        state=state,
        name=meta.get("name"),
        queue=meta.get("queue"),
        retries=meta.get("retries"),
        date_done=meta.get("date_done"),
        result=value if state == states.SUCCESS else None,
        error=f"{error[0]}: {error[1]}" if error else None,
        error_type=error[0] if error else None,
        traceback=meta.get("traceback") if state == states.FAILURE else None,
    )


@router.post(
    "/{task_id}/revoke",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RevokeOut,
    summary="Cancel a task",
    dependencies=[BrokerReady],
    responses={
        **INVALID_ID,
        503: {"model": ErrorOut, "description": "Redis (the broker) is unreachable."},
    },
)
def revoke_task(
    task_id: TaskId,
    celery_app: CeleryDep,
    terminate: Annotated[
        bool | None, Query(description="Also kill the worker process running it (SIGTERM).")
    ] = None,
    body: Annotated[RevokeRequest | None, Body()] = None,
) -> RevokeOut:
    """Broadcast a revoke to the workers: a worker that has not started the task skips it, and
    with `terminate` one running it is sent SIGTERM. Workers keep the revoked ids in memory
    only, so the answer is 202: accepted, not a guarantee."""
    if terminate is not None and body is not None and terminate != body.terminate:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="terminate: the query parameter and the body disagree; give it once",
        )
    effective = terminate if terminate is not None else body.terminate if body else False
    AsyncResult(task_id, app=celery_app).revoke(
        terminate=effective, signal="SIGTERM" if effective else None
    )
    return RevokeOut(task_id=task_id, terminate=effective)
