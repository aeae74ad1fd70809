"""Alert delivery is not built yet: an alert is recorded as pending delivery.

The channels (email, Slack, signed webhooks) are the alert-delivery issue; until then
`process_alert_task` confirms the alert exists and leaves it `pending`, visible in the API.
"""

from __future__ import annotations

from typing import Any

from consultantos import db
from consultantos.db.models import Alert
from consultantos.errors import NotFound


def record_pending_delivery(*, alert_id: str) -> dict[str, Any]:
    """Confirm the alert exists; it stays pending until delivery channels exist."""
    with db.session_scope() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"alert {alert_id!r} does not exist")
        return {"alert_id": alert.id, "monitor_id": alert.monitor_id, "status": alert.status}
