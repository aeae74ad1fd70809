"""Monitors: create, list, read, change, pause and resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from consultantos.api.deps import FilterText, MonitorId, SessionDep
from consultantos.api.schemas import ErrorOut, MonitorCreateBody, MonitorOut, MonitorUpdateBody
from consultantos.db.models import MonitorStatus
from consultantos.monitoring import monitors

router = APIRouter(prefix="/monitors", tags=["monitors"])

NOT_FOUND = {404: {"model": ErrorOut, "description": "No monitor with this id."}}
INVALID = {422: {"description": "Invalid field values (the detail names the field)."}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MonitorOut,
    summary="Create a monitor",
    responses=INVALID,
)
def create_monitor(spec: MonitorCreateBody, session: SessionDep) -> MonitorOut:
    """Store a new monitor; its first check is due at once."""
    monitor = monitors.create_monitor(session=session, spec=spec)
    return MonitorOut.model_validate(monitor)


@router.get("", response_model=list[MonitorOut], summary="List monitors")
def list_monitors(
    session: SessionDep,
    user_id: FilterText = None,
    company: FilterText = None,
    status: MonitorStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[MonitorOut]:
    """Monitors matching every filter given, oldest first."""
    found = monitors.list_monitors(
        session=session,
        user_id=user_id,
        company=company,
        status=status,
        limit=limit,
        offset=offset,
    )
    return [MonitorOut.model_validate(monitor) for monitor in found]


@router.get(
    "/{monitor_id}", response_model=MonitorOut, summary="Get a monitor", responses=NOT_FOUND
)
def get_monitor(monitor_id: MonitorId, session: SessionDep) -> MonitorOut:
    """One monitor by id."""
    return MonitorOut.model_validate(monitors.get_monitor(session=session, monitor_id=monitor_id))


@router.patch(
    "/{monitor_id}",
    response_model=MonitorOut,
    summary="Change a monitor",
    responses={**NOT_FOUND, **INVALID},
)
def update_monitor(
    monitor_id: MonitorId, changes: MonitorUpdateBody, session: SessionDep
) -> MonitorOut:
    """Apply the fields given; fields left out stay as they are."""
    monitor = monitors.update_monitor(session=session, monitor_id=monitor_id, changes=changes)
    return MonitorOut.model_validate(monitor)


@router.post(
    "/{monitor_id}/pause",
    response_model=MonitorOut,
    summary="Pause a monitor",
    responses=NOT_FOUND,
)
def pause_monitor(monitor_id: MonitorId, session: SessionDep) -> MonitorOut:
    """Stop scheduled checks (user-triggered checks still run)."""
    monitor = monitors.set_monitor_status(
        session=session, monitor_id=monitor_id, status=MonitorStatus.PAUSED
    )
    return MonitorOut.model_validate(monitor)


@router.post(
    "/{monitor_id}/resume",
    response_model=MonitorOut,
    summary="Resume a monitor",
    responses=NOT_FOUND,
)
def resume_monitor(monitor_id: MonitorId, session: SessionDep) -> MonitorOut:
    """Start scheduled checks again; an overdue check runs at the next scheduling pass."""
    monitor = monitors.set_monitor_status(
        session=session, monitor_id=monitor_id, status=MonitorStatus.ACTIVE
    )
    return MonitorOut.model_validate(monitor)
