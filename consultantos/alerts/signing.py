"""Standard Webhooks signatures (https://www.standardwebhooks.com).

Each request carries `webhook-id` (the message id: the same on every retry, so a receiver can
drop a duplicate), `webhook-timestamp` (Unix seconds of this attempt) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the decoded
`whsec_…` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from consultantos.alerts.channel_specs import secret_key


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    *, secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed now (or at `timestamp`)."""
    when = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(when),
        "webhook-signature": signature(
            secret=secret, message_id=message_id, timestamp=when, body=body
        ),
    }
