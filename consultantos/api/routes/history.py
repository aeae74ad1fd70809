"""What checks of a monitor saw (snapshots) and raised (alerts), latest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consultantos.api.deps import MonitorId, SessionDep
from consultantos.api.schemas import AlertOut, ErrorOut, SnapshotOut
from consultantos.monitoring.history import latest_alerts, latest_snapshots
from consultantos.monitoring.monitors import get_monitor

router = APIRouter(prefix="/monitors", tags=["monitors"])

NOT_FOUND = {404: {"model": ErrorOut, "description": "No monitor with this id."}}


@router.get(
    "/{monitor_id}/snapshots",
    response_model=list[SnapshotOut],
    response_model_exclude_unset=True,
    summary="List a monitor's snapshots",
    responses=NOT_FOUND,
)
def list_snapshots(
    monitor_id: MonitorId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    include_content: Annotated[
        bool, Query(description="Also return the extracted text (can be large).")
    ] = False,
) -> list[SnapshotOut]:
    """Latest first; without `include_content` the extracted text is left out."""
    get_monitor(session=session, monitor_id=monitor_id)
    rows = latest_snapshots(
        session=session,
        monitor_id=monitor_id,
        limit=limit,
        offset=offset,
        include_content=include_content,
    )
    return [SnapshotOut.model_validate(row) for row in rows]


@router.get(
    "/{monitor_id}/alerts",
    response_model=list[AlertOut],
    summary="List a monitor's alerts",
    responses=NOT_FOUND,
)
def list_alerts(
    monitor_id: MonitorId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AlertOut]:
    """Latest first."""
    get_monitor(session=session, monitor_id=monitor_id)
    alerts = latest_alerts(session=session, monitor_id=monitor_id, limit=limit, offset=offset)
    return [AlertOut.model_validate(alert) for alert in alerts]
