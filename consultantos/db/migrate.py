"""Alembic migrations, run by `consultantos db upgrade` and on start of `consultantos up`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from consultantos.db import database_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for our migrations against `url` (default: the configured database)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from sqlalchemy import create_engine

    engine = create_engine(url or database_url())
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@cache
def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def ensure_schema_current(connection: Connection) -> None:
    """Raise RuntimeError when the database is not migrated to this code's head revision."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current != head_revision():
        raise RuntimeError(
            f"database schema is at {current or 'nothing'}, this code needs {head_revision()}: "
            "run `consultantos db upgrade`"
        )
