"""What a successful send reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Receipt:
    """The peer accepted the message."""

    status_code: int
    """HTTP status, or the SMTP reply code of the accepted message."""
    excerpt: str = ""
    """The start of the peer's answer."""
