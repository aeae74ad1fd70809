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
