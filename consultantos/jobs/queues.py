"""Queue names, their rank and priority scale: the data every other module reads.

Priorities follow the operations guide: 0-10, higher is more urgent.
"""

from __future__ import annotations

from typing import Final

QUEUES: Final = ("critical", "high", "normal", "low")
"""Work queues, most urgent first: a worker drains a queue before it looks at the next."""

DEAD_SUFFIX: Final = ".dead"
MAX_PRIORITY: Final = 10
DEFAULT_PRIORITY: Final = 5


def dead_letter_queue(queue: str) -> str:
    """`normal` -> `normal.dead`."""
    return queue if is_dead_letter_queue(queue) else f"{queue}{DEAD_SUFFIX}"


def is_dead_letter_queue(name: str) -> bool:
    return name.endswith(DEAD_SUFFIX)


def queue_rank(queue: str) -> int:
    """0 for critical ... 3 for low; queues of other names come after, in their given order."""
    try:
        return QUEUES.index(queue)
    except ValueError:
        return len(QUEUES)


def clamp_priority(priority: object) -> int:
    """A guide priority as an int in 0..10 (missing or malformed: the default)."""
    try:
        value = int(priority)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_PRIORITY
    return max(0, min(MAX_PRIORITY, value))
