"""Worker start-up hooks: never consume a dead-letter queue, never share DB connections."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import celeryd_after_setup, worker_process_init

from consultantos import db
from consultantos.jobs.queues import is_dead_letter_queue

log = logging.getLogger(__name__)


@celeryd_after_setup.connect
def drop_dead_letter_queues(sender: str, instance: Any, **_: Any) -> None:
    """Called after `-Q` was applied: a `.dead` queue holds records, not tasks, so it is removed
    from what the worker consumes whatever it was started with."""
    queues = instance.app.amqp.queues
    dead = [name for name in queues.consume_from if is_dead_letter_queue(name)]
    if not dead:
        return
    queues.deselect(dead)
    log.warning("worker %s will not consume dead-letter queues %s", sender, ", ".join(dead))
    if not queues.consume_from:
        raise SystemExit(
            f"worker {sender}: dead-letter queues ({', '.join(dead)}) are never consumed; "
            "requeue their entries with `consultantos dlq requeue QUEUE` instead"
        )


@worker_process_init.connect
def forget_parent_connections(**_: Any) -> None:
    """Called in each new pool process: database connections must not cross a fork."""
    db.dispose_engines(close=False)
