"""Trigger a check of a monitor now, on the critical queue, for its owner."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from consultantos.api.deps import BrokerReady, MonitorId, SessionDep
from consultantos.api.schemas import CheckRequest, ErrorOut, TaskQueued
from consultantos.monitoring.monitors import get_monitor

router = APIRouter(prefix="/monitors", tags=["monitors"])


@router.post(
    "/{monitor_id}/check",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskQueued,
    summary="Check a monitor now",
    dependencies=[BrokerReady],
    responses={
        403: {"model": ErrorOut, "description": "user_id does not own the monitor."},
        404: {"model": ErrorOut, "description": "No monitor with this id."},
        503: {"model": ErrorOut, "description": "Redis (the broker) is unreachable."},
    },
)
def trigger_check(
    monitor_id: MonitorId, body: CheckRequest, session: SessionDep, request: Request
) -> TaskQueued:
    """Queue `check_monitor_user_triggered` (critical, priority 10) after checking ownership
    here, so a stranger gets a 403 now rather than a dead-lettered task later."""
    owner = get_monitor(session=session, monitor_id=monitor_id).user_id
    if owner != body.user_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"user {body.user_id!r} does not own monitor {monitor_id!r}",
        )
    # Imported here: the tasks module pulls in the whole check machinery, which the rest of
    # the API does not need.
    from consultantos.jobs.celery_app import TASK_ROUTES
    from consultantos.jobs.tasks import check_monitor_user_triggered

    result = check_monitor_user_triggered.apply_async(args=[monitor_id, body.user_id])
    return TaskQueued(
        task_id=result.id,
        queue=TASK_ROUTES[check_monitor_user_triggered.name]["queue"],
        status_url=request.app.url_path_for("get_task_status", task_id=result.id),
    )
