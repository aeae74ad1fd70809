"""Alerts with their delivery state per channel, and re-sending an alert."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from consultantos.alerts import queries
from consultantos.alerts.planning import plan_resend
from consultantos.api.deps import ID_PATTERN, BrokerReady, FilterText, SessionDep
from consultantos.api.schemas import AlertDeliveriesOut, AlertOut, DeliveryOut, ErrorOut, ResendOut
from consultantos.db.models import Alert, AlertStatus

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="An alert id (alr_…)."),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No alert with this id."}
}


def _with_deliveries(session: Session, alerts: list[Alert]) -> list[AlertDeliveriesOut]:
    found = queries.deliveries_of(session=session, alert_ids=[alert.id for alert in alerts])
    return [
        AlertDeliveriesOut(
            **AlertOut.model_validate(alert).model_dump(),
            deliveries=[
                DeliveryOut(
                    channel_id=delivery.channel_id,
                    channel_kind=message.channel_kind,
                    target=message.target,
                    message_id=message.id,
                    status=message.status,
                    attempts=message.attempts,
                    status_code=message.status_code,
                    response_excerpt=message.response_excerpt,
                    error=message.error,
                    not_before=message.not_before,
                    last_attempt_at=message.last_attempt_at,
                    delivered_at=message.delivered_at,
                )
                for delivery, message in found.get(alert.id, [])
            ],
        )
        for alert in alerts
    ]


@router.get("", response_model=list[AlertDeliveriesOut], summary="List alerts")
def list_alerts(
    session: SessionDep,
    monitor_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)
    ] = None,
    company: FilterText = None,
    since: Annotated[
        datetime | None, Query(description="Only alerts created at or after this time (ISO 8601).")
    ] = None,
    status: AlertStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AlertDeliveriesOut]:
    """Alerts matching every filter given, newest first, each with its deliveries."""
    alerts = queries.list_alerts(
        session=session,
        monitor_id=monitor_id,
        company=company,
        since=since,
        status=status,
        limit=limit,
        offset=offset,
    )
    return _with_deliveries(session, alerts)


@router.get(
    "/{alert_id}", response_model=AlertDeliveriesOut, summary="Get an alert", responses=NOT_FOUND
)
def get_alert(alert_id: AlertId, session: SessionDep) -> AlertDeliveriesOut:
    """One alert, with its delivery state per channel (the link in alert messages)."""
    return _with_deliveries(session, [queries.get_alert(session=session, alert_id=alert_id)])[0]


@router.post(
    "/{alert_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ResendOut,
    summary="Send an alert again",
    dependencies=[BrokerReady],
    responses={
        404: {"model": ErrorOut, "description": "No such alert, or not a channel of it."},
        503: {"model": ErrorOut, "description": "Redis (the broker) is unreachable."},
    },
)
def resend_alert(
    alert_id: AlertId,
    channel_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="Only this channel."),
    ] = None,
) -> ResendOut:
    """Queue the alert, alone and at once, to all its monitor's channels or to one."""
    # Committed in its own transaction before the send tasks are queued: a task must find
    # its message. Imported here: the tasks module pulls in the whole job machinery.
    from consultantos.jobs.tasks import queue_sends

    plan = plan_resend(alert_id=alert_id, channel_id=channel_id)
    return ResendOut(
        alert_id=alert_id,
        queued=queue_sends(plan.to_send),
        message_ids=[message.message_id for message in plan.to_send],
        in_flight=plan.in_flight,
    )
