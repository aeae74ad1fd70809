"""Database failures that mean "unreachable", turned into DependencyUnavailable at our boundary.

Such errors are transient (the task layer retries them); every other database error is a bug or
a constraint doing its job, and stays what it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from consultantos.errors import DependencyUnavailable

LOST_CONNECTION = (OperationalError, DisconnectionError, InterfaceError, PoolTimeout)
"""The database is down, unreachable, locked for too long, or its pool is exhausted."""


@contextmanager
def database_unavailable_as_transient(doing: str) -> Iterator[None]:
    """Re-raise lost-connection errors as DependencyUnavailable("database unreachable while …")."""
    try:
        yield
    except LOST_CONNECTION as exc:
        cause = getattr(exc, "orig", None) or exc
        raise DependencyUnavailable(f"database unreachable while {doing}: {cause}") from exc
