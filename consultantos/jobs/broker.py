"""The Redis transport, changed so that the guide's priorities mean what the guide says.

kombu's Redis transport keeps one list per queue and priority level and pops level 0 first,
walking each level across all queues. The guide's numbers are the other way round (10 is
critical), and a worker should finish every critical task before any high one whatever the
numbers. This transport therefore

* stores a message of priority p (0-10, higher is more urgent) at level 10 - p, and
* polls queues in rank order (critical, high, normal, low), each through all its levels,

so a worker consuming all four queues runs critical before high before normal before low, and
within one queue the higher number first. Key names stay kombu's (`queue`, `queue\\x06\\16N`), so
Flower, `celery purge` and `celery inspect` see the same queues; `broker_transport_options` sets
`priority_steps` to 0..10 for every one of them.

It is registered for `redis://` and `rediss://` URLs when `consultantos.jobs.celery_app` is
imported, which every process of the system does.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

from consultantos.jobs.queues import MAX_PRIORITY, clamp_priority, queue_rank

PRIORITY_STEPS = list(range(MAX_PRIORITY + 1))


class Channel(kombu_redis.Channel):
    """A Redis channel where higher priority numbers and higher-ranked queues are served first."""

    max_priority = MAX_PRIORITY
    priority_steps = PRIORITY_STEPS

    def _get_message_priority(self, message: dict[str, Any], reverse: bool = False) -> int:
        """The storage level of a message: 0 for priority 10 (served first), 10 for priority 0."""
        try:
            priority = clamp_priority(message["properties"]["priority"])
        except (KeyError, TypeError):
            priority = clamp_priority(None)
        return priority if reverse else MAX_PRIORITY - priority

    def _ranked(self, queues: list[str]) -> list[str]:
        return sorted(queues, key=queue_rank)

    def _brpop_start(self, timeout: float | None = None) -> None:
        """kombu's BRPOP, with the keys ordered queue-major instead of priority-major."""
        if timeout is None:
            timeout = self.brpop_timeout
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        keys = [
            self._q_for_pri(queue, level)
            for queue in self._ranked(queues)
            for level in self.priority_steps
        ]
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()
        command_args = ["BRPOP", *keys, timeout or 0]
        if self.global_keyprefix:
            command_args = self.client._prefix_args(command_args)
        self.client.connection.send_command(*command_args)


class Transport(kombu_redis.Transport):
    Channel = Channel


def register() -> None:
    """Make kombu use this transport for Redis URLs in this process."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
