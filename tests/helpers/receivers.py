"""What Slack-style and webhook receivers (a LocalServer) were sent, checked like a receiver
would: webhook signatures verified with the `standardwebhooks` library (an implementation
independent of ours), duplicates recognised by `webhook-id`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.helpers.http_server import LocalServer


@dataclass(frozen=True)
class Delivery:
    """One signed webhook request that verified."""

    webhook_id: str
    payload: dict[str, Any]


def posts(server: LocalServer, path: str) -> list[dict[str, Any]]:
    """JSON bodies POSTed to `path`, in arrival order."""
    return [
        json.loads(seen.body)
        for seen in list(server.requests)
        if seen.method == "POST" and seen.path == path
    ]


def webhook_deliveries(server: LocalServer, path: str, secret: str) -> list[Delivery]:
    """Every POST to `path`, each verified (WebhookVerificationError when one does not)."""
    verifier = Webhook(secret)
    found = []
    for seen in list(server.requests):
        if seen.method == "POST" and seen.path == path:
            payload = verifier.verify(seen.body, seen.headers)
            found.append(Delivery(webhook_id=seen.headers["webhook-id"], payload=payload))
    return found


def unique(deliveries: list[Delivery]) -> list[Delivery]:
    """What a receiver that drops repeated webhook-ids processes."""
    seen: set[str] = set()
    kept = []
    for delivery in deliveries:
        if delivery.webhook_id not in seen:
            seen.add(delivery.webhook_id)
            kept.append(delivery)
    return kept
