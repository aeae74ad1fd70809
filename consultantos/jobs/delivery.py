"""The base class of the alert send tasks, and how their `alert_data` argument is read.

A send task's message says where it goes (`target`, also the task's first argument, so the
dead-letter queue shows it) and which stored message to send (`alert_data["message_id"]`).
When a send task fails for good, the message it owns is marked failed, so the alert shows
the failure per channel; the dead-letter entry keeps the reason and the status code.
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.einfo import ExceptionInfo

from consultantos.alerts.sending import give_up
from consultantos.errors import InvalidArguments
from consultantos.jobs.retry import RetryTask

log = logging.getLogger(__name__)


def message_id_of(alert_data: Any) -> str:
    """The message id in a send task's `alert_data`, or InvalidArguments."""
    message_id = alert_data.get("message_id") if isinstance(alert_data, dict) else None
    if not isinstance(message_id, str) or not message_id:
        raise InvalidArguments(
            f"alert_data must be a dict with a string 'message_id', got {alert_data!r}"
        )
    return message_id


class DeliveryTask(RetryTask):
    """RetryTask that also marks its message failed when it gives up."""

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: Any,
        kwargs: Any,
        einfo: ExceptionInfo,
    ) -> None:
        """Called when the task failed for good: dead-letter it, then fail its message."""
        super().on_failure(exc, task_id, args, kwargs, einfo)
        alert_data = (kwargs or {}).get("alert_data")
        if alert_data is None and isinstance(args, list | tuple) and len(args) > 1:
            alert_data = args[1]
        try:
            message_id = message_id_of(alert_data)
        except InvalidArguments:
            return  # garbage arguments: no message to fail
        try:
            give_up(message_id=message_id, task_id=task_id, exc=exc)
        except Exception:  # the dead-letter entry is written; a status update must not raise
            log.exception("could not mark message %s failed", message_id)
