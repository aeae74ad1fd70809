"""`consultantos db`: the schema migrations of the configured database."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from consultantos.cli._common import cli_errors
from consultantos.config import get_settings
from consultantos.embedded_redis import mask_url

db_app = typer.Typer(
    help="Database schema: apply migrations, show the revision.", no_args_is_help=True
)


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names, when it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    from consultantos.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@db_app.command("upgrade")
@cli_errors
def upgrade(
    revision: str = typer.Option("head", help="Revision to migrate to."),
) -> None:
    """Apply migrations to DATABASE_URL (default: SQLite in DATA_DIR). Safe to rerun."""
    from consultantos.db import migrate

    url = get_settings().sqlalchemy_url
    where = mask_url(url)
    missing = _missing_sqlite_file(url)
    if missing:
        missing.parent.mkdir(parents=True, exist_ok=True)
    before = None if missing else migrate.current_revision()
    migrate.upgrade(revision=revision)
    after = migrate.current_revision()
    if before == after:
        typer.echo(f"{where}: already at {after or 'no revision'}")
    else:
        typer.echo(f"{where}: upgraded {before or 'empty database'} -> {after}")


@db_app.command("current")
@cli_errors
def current() -> None:
    """Show the revision the database is at, and whether migrations are pending."""
    from consultantos.db import migrate

    url = get_settings().sqlalchemy_url
    where = mask_url(url)
    revision = None if _missing_sqlite_file(url) else migrate.current_revision()
    head = _head()
    if revision == head:
        typer.echo(f"{where}: at {revision} (head)")
    else:
        typer.echo(
            f"{where}: at {revision or 'no revision (empty database)'}; head is {head}: "
            "run `consultantos db upgrade`"
        )
