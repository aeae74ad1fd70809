"""Dead-letter queues: sizes, inspect, replay and purge (the guide's `get_dlq_monitor()` calls)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from consultantos.api.deps import BrokerReady, DeadLetterDep, QueueName, TaskId
from consultantos.api.schemas import (
    DeadLetterEntryOut,
    DeadLetterPage,
    DeadLetterSizes,
    ErrorOut,
    Purged,
    Requeued,
)

router = APIRouter(prefix="/dead-letter", tags=["dead-letter"])

UNKNOWN_QUEUE = {404: {"model": ErrorOut, "description": "No such queue (or entry)."}}
UNAVAILABLE = {503: {"model": ErrorOut, "description": "Redis is unreachable."}}
CONFLICT = {409: {"model": ErrorOut, "description": "The entry is being requeued already."}}


@router.get("", response_model=DeadLetterSizes, summary="Dead-letter queue sizes")
def dead_letter_sizes(dlq: DeadLetterDep) -> DeadLetterSizes:
    """Entries in every `<queue>.dead`, including empty ones."""
    return DeadLetterSizes(queues=dlq.get_all_dead_letter_queues())


@router.get(
    "/{queue}",
    response_model=DeadLetterPage,
    summary="Inspect a dead-letter queue",
    responses=UNKNOWN_QUEUE,
)
def inspect_queue(
    queue: QueueName,
    dlq: DeadLetterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DeadLetterPage:
    """Newest entries first; nothing is removed. `queue` is `critical` or `critical.dead`."""
    dead = dlq.resolve(queue)
    entries = dlq.inspect_dead_letter_queue(dead, limit=limit, offset=offset)
    return DeadLetterPage(
        queue=dead,
        total=int(dlq.client.llen(dead)),
        limit=limit,
        offset=offset,
        entries=[DeadLetterEntryOut.model_validate(entry) for entry in entries],
    )


@router.get(
    "/{queue}/{task_id}",
    response_model=DeadLetterEntryOut,
    summary="Get one dead-letter entry",
    responses=UNKNOWN_QUEUE,
)
def get_entry(queue: QueueName, task_id: TaskId, dlq: DeadLetterDep) -> DeadLetterEntryOut:
    """The entry of one task, with its exception, traceback and arguments."""
    return DeadLetterEntryOut.model_validate(dlq.get_dead_letter_task(queue, task_id))


@router.post(
    "/{queue}/requeue",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Requeued,
    summary="Requeue a whole dead-letter queue",
    dependencies=[BrokerReady],
    responses={**UNKNOWN_QUEUE, **UNAVAILABLE},
)
def requeue_queue(queue: QueueName, dlq: DeadLetterDep) -> Requeued:
    """Send every entry back to its original queue with its priority, oldest first. Entries
    another caller is requeueing at the same moment are skipped, not sent twice."""
    requeued = dlq.requeue_dead_letter_queue(queue)
    return Requeued(requeued=requeued, count=len(requeued))


@router.post(
    "/{queue}/{task_id}/requeue",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Requeued,
    summary="Requeue one dead-letter entry",
    dependencies=[BrokerReady],
    responses={**UNKNOWN_QUEUE, **CONFLICT, **UNAVAILABLE},
)
def requeue_entry(queue: QueueName, task_id: TaskId, dlq: DeadLetterDep) -> Requeued:
    """Send one task back under its own id; its entry leaves the dead-letter queue once sent."""
    requeued = [dlq.requeue_dead_letter_task(queue, task_id)]
    return Requeued(requeued=requeued, count=1)


@router.delete(
    "/{queue}",
    response_model=Purged,
    summary="Purge a dead-letter queue",
    responses={
        **UNKNOWN_QUEUE,
        400: {"model": ErrorOut, "description": "confirm=true was not given."},
    },
)
def purge_queue(
    queue: QueueName,
    dlq: DeadLetterDep,
    confirm: Annotated[bool, Query(description="Must be true: purging cannot be undone.")] = False,
) -> Purged:
    """Delete every entry of the queue, for good."""
    dead = dlq.resolve(queue)
    if not confirm:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"purging {dead} deletes its entries for good; pass confirm=true to do it",
        )
    return Purged(purged=dlq.purge_dead_letter_queue(dead))
