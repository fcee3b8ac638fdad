"""registry._malformed as a class: the same 400 Status as the earlier generator-based context
manager (kept here as the reference) for each error type it converts, and other errors untouched."""
import contextlib

import pytest

from labkube.api import errors
from labkube.api.resources import resource
from labkube.apiserver import registry


@contextlib.contextmanager
def _malformed_before(res):  # the earlier form
    try:
        yield
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as e:
        raise errors.bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                                 f"malformed object: {type(e).__name__}: {e}") from None


RAISED = [TypeError("unhashable type: 'list'"), AttributeError("'str' object has no attribute 'get'"),
          ValueError("bad"), KeyError("name"), IndexError("list index out of range"),
          errors.conflict("pods", "p", "the object has been modified"), RuntimeError("other"), None]


def _outcome(guard, res, exc):
    try:
        with guard(res):
            if exc is not None:
                raise exc
        return "ok"
    except errors.ApiError as e:
        return ("ApiError", e.code, str(e), e.__suppress_context__, e.__cause__)
    except Exception as e:  # noqa: BLE001 - passed through
        return ("passed", e)


@pytest.mark.parametrize("exc", RAISED, ids=[type(e).__name__ for e in RAISED])
@pytest.mark.parametrize("name", ["pods", "leases", "configmaps"])
def test_malformed_guard_as_before(name, exc):
    res = resource(name)
    assert _outcome(registry._malformed, res, exc) == _outcome(_malformed_before, res, exc)
