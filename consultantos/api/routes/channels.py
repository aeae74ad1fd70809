"""Where alerts go: a monitor's own channels, and each user's default channels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from consultantos.alerts.channel_config import own_channels, set_channels
from consultantos.alerts.channel_specs import ChannelList
from consultantos.api.deps import MonitorId, SessionDep
from consultantos.api.schemas import ChannelOut, ErrorOut, MonitorChannelsOut, UserChannelsOut
from consultantos.monitoring.monitors import get_monitor

router = APIRouter(tags=["channels"])

UserId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[^\x00]+$", description="A user id.")
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No monitor with this id."}
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "A bad address, URL or secret (the detail names the field)."}
}


def _monitor_channels(session: SessionDep, monitor_id: str) -> MonitorChannelsOut:
    monitor = get_monitor(session=session, monitor_id=monitor_id)
    rows = own_channels(session=session, user_id=monitor.user_id, monitor_id=monitor.id)
    return MonitorChannelsOut(
        monitor_id=monitor.id,
        user_id=monitor.user_id,
        uses_user_defaults=not rows,
        channels=[ChannelOut.model_validate(row) for row in rows],
    )


@router.get(
    "/monitors/{monitor_id}/channels",
    response_model=MonitorChannelsOut,
    summary="Get a monitor's channels",
    responses=NOT_FOUND,
)
def get_monitor_channels(monitor_id: MonitorId, session: SessionDep) -> MonitorChannelsOut:
    """The monitor's own channels (empty: its alerts go to the user's defaults)."""
    return _monitor_channels(session, monitor_id)


@router.put(
    "/monitors/{monitor_id}/channels",
    response_model=MonitorChannelsOut,
    summary="Set a monitor's channels",
    responses={**NOT_FOUND, **INVALID},
)
def put_monitor_channels(
    monitor_id: MonitorId, body: ChannelList, session: SessionDep
) -> MonitorChannelsOut:
    """Replace the monitor's channels; an empty list hands it back to the user's defaults.
    A channel listed again keeps its id and webhook secret; a new webhook without a secret
    gets one (read it here)."""
    monitor = get_monitor(session=session, monitor_id=monitor_id)
    set_channels(session=session, user_id=monitor.user_id, monitor_id=monitor.id, spec=body)
    return _monitor_channels(session, monitor_id)


@router.get(
    "/users/{user_id}/channels", response_model=UserChannelsOut, summary="Get default channels"
)
def get_user_channels(user_id: UserId, session: SessionDep) -> UserChannelsOut:
    """The user's default channels."""
    rows = own_channels(session=session, user_id=user_id, monitor_id=None)
    return UserChannelsOut(user_id=user_id, channels=[ChannelOut.model_validate(r) for r in rows])


@router.put(
    "/users/{user_id}/channels",
    response_model=UserChannelsOut,
    summary="Set default channels",
    responses=INVALID,
)
def put_user_channels(user_id: UserId, body: ChannelList, session: SessionDep) -> UserChannelsOut:
    """Replace the user's default channels (used by monitors without channels of their own)."""
    rows = set_channels(session=session, user_id=user_id, monitor_id=None, spec=body)
    return UserChannelsOut(user_id=user_id, channels=[ChannelOut.model_validate(r) for r in rows])
