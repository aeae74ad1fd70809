"""What every command shares: error reporting without tracebacks, tables, JSON output."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer

from consultantos.config import get_settings
from consultantos.embedded_redis import mask_url
from consultantos.errors import ConsultantOSError, InvalidArguments

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `message` as one `error:` line on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def cli_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors an operator can act on into one clear line and an exit code.

    Domain errors carry their own message; connection errors say which Redis or database could
    not be reached (password masked). Anything else is a bug and keeps its traceback.
    """
    import kombu.exceptions
    import redis
    import sqlalchemy.exc
    from alembic.util.exc import CommandError
    from pydantic import ValidationError

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for line in validation_lines(exc):
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except InvalidArguments as exc:
            fail(str(exc), EXIT_USAGE)
        except ConsultantOSError as exc:
            fail(str(exc))
        except (
            redis.ConnectionError,
            redis.TimeoutError,
            kombu.exceptions.OperationalError,
        ) as exc:
            fail(f"cannot reach Redis at {mask_url(get_settings().redis_url)}: {_first_line(exc)}")
        except sqlalchemy.exc.DBAPIError as exc:
            url = mask_url(get_settings().sqlalchemy_url)
            fail(f"database error ({url}): {_first_line(exc.orig or exc)}")
        except CommandError as exc:
            fail(f"migration error: {_first_line(exc)}")
        except OSError as exc:  # a data dir that cannot be created, a port that cannot be bound
            fail(_first_line(exc))

    return wrapper


OPTION_NAMES = {
    "user_id": "--user",
    "company": "--company",
    "source_type": "--type",
    "url": "--url",
    "selector": "--selector",
    "check_interval_seconds": "--interval",
    "change_threshold_pct": "--threshold",
    "industry": "--industry",
    "name": "--name",
}


def validation_lines(exc: Any) -> list[str]:
    """Pydantic errors as `--option: message` lines, in the CLI's own option names."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        option = OPTION_NAMES.get(where, where)
        lines.append(f"{option}: {message}" if option else message)
    return lines


def _first_line(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; None shows as '-'."""
    cells = [[str(h) for h in headers]] + [
        ["-" if value is None else str(value) for value in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=True))
