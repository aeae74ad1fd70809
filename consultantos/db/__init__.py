"""Database engine and sessions: SQLite (embedded default, WAL) or PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from consultantos.config import get_settings

_lock = threading.Lock()
_makers: dict[str, sessionmaker[Session]] = {}


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the API read while a worker writes; busy_timeout waits out short write locks."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def database_url() -> str:
    """The configured SQLAlchemy URL, with PostgreSQL pointed at the psycopg 3 driver."""
    parsed = make_url(get_settings().sqlalchemy_url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str) -> Engine:
    """A new engine for `url`, with the SQLite pragmas or PostgreSQL pool settings we rely on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine() -> Engine:
    """The process's engine for the configured database."""
    return _maker().kw["bind"]


def _maker() -> sessionmaker[Session]:
    url = database_url()
    with _lock:
        maker = _makers.get(url)
        if maker is None:
            maker = _makers[url] = sessionmaker(create_db_engine(url), expire_on_commit=False)
        return maker


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back otherwise."""
    session = _maker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines(*, close: bool = True) -> None:
    """Forget every engine. After a fork pass close=False: the parent still owns the sockets."""
    with _lock:
        for maker in _makers.values():
            maker.kw["bind"].dispose(close=close)
        _makers.clear()
