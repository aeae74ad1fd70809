"""The error tree survives the trip between worker processes."""

from __future__ import annotations

import pickle

import pytest

from consultantos import errors
from consultantos.jobs.retry import is_transient


@pytest.mark.parametrize(
    "exc",
    [
        errors.SourceRejected("HTTP 410", status_code=410, excerpt="gone"),
        errors.SourceUnavailable("HTTP 503", status_code=503, retry_after=30),
        errors.TransientError("later", retry_after=5),
        errors.NotFound("no such monitor"),
        errors.PoisonMessage("died 4 times"),
    ],
)
def test_errors_pickle_with_their_attributes(exc: errors.ConsultantOSError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc) and copy.args == exc.args and vars(copy) == vars(exc)
    assert is_transient(copy) == isinstance(exc, errors.TransientError)


@pytest.mark.parametrize(
    "cls", [errors.SourceRejected, errors.SourceUnavailable, errors.TransientError, errors.NotFound]
)
def test_errors_rebuild_from_the_json_result_backend(cls: type[Exception]) -> None:
    """AsyncResult.result rebuilds a stored failure as cls(*args): it must not need keywords."""
    from consultantos.jobs.celery_app import app

    stored = {"exc_type": cls.__name__, "exc_module": cls.__module__, "exc_message": ["why"]}
    rebuilt = app.backend.exception_to_python(stored)
    assert type(rebuilt) is cls and str(rebuilt) == "why"
