"""Generic webhooks: a JSON POST signed the Standard Webhooks way.

The body is

    {"type": "alert", "timestamp": "<ISO 8601>",
     "data": {"message_id": ..., "monitor": {id, name, company, url},
              "alerts": [{id, kind, title, summary, excerpt, created_at, url, details}]}}

`webhook-id` is the message id: the same on every retry and redelivery, so a receiver that
remembers the ids it has processed drops a duplicate (one can slip through when a worker dies
after the endpoint answered and before the answer was recorded).
"""

from __future__ import annotations

import json
from typing import Any

from consultantos.alerts.channels.http import post_json
from consultantos.alerts.channels.receipt import Receipt
from consultantos.alerts.content import Outgoing
from consultantos.alerts.signing import signed_headers
from consultantos.config import Settings
from consultantos.db.models import utcnow
from consultantos.errors import InvalidArguments

EVENT_TYPE = "alert"
USER_AGENT = "ConsultantOS-Webhooks/0.1"


def payload(message: Outgoing) -> dict[str, Any]:
    """The JSON document sent (without signature)."""
    return {
        "type": EVENT_TYPE,
        "timestamp": utcnow().isoformat(),
        "data": {
            "message_id": message.message_id,
            "monitor": {
                "id": message.monitor_id,
                "name": message.monitor_name,
                "company": message.company,
                "url": message.source_url,
            },
            "alerts": [
                {
                    "id": alert.id,
                    "kind": str(alert.kind),
                    "title": alert.title,
                    "summary": alert.summary,
                    "excerpt": alert.excerpt,
                    "created_at": alert.created_at.isoformat(),
                    "url": alert.link,
                    "details": alert.details,
                }
                for alert in message.alerts
            ],
        },
    }


def send(message: Outgoing, settings: Settings) -> Receipt:
    """POST the signed payload to the webhook URL."""
    if not message.secret:
        raise InvalidArguments(f"webhook channel of message {message.message_id} has no secret")
    body = json.dumps(payload(message), separators=(",", ":"), default=str).encode("utf-8")
    try:
        headers = signed_headers(secret=message.secret, message_id=message.message_id, body=body)
    except ValueError as exc:
        raise InvalidArguments(f"webhook secret unusable: {exc}") from exc
    return post_json(
        message.target, body, headers=headers, settings=settings, user_agent=USER_AGENT
    )
