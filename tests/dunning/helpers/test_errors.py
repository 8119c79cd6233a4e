"""A refusal that no view answered in place reaches the person as a reason, not a 500."""

from __future__ import annotations

from django.test import RequestFactory

from dunning.actions.state_machine import ActionConflict
from dunning.governance.config_versions import ConfigEditRefused
from dunning.helpers.errors import ApplicationErrorMiddleware


def _answer(exception, *, htmx=False):
    request = RequestFactory().post("/somewhere/")
    request.htmx = htmx
    request.user = None
    return ApplicationErrorMiddleware(lambda r: None).process_exception(request, exception)


def test_a_refusal_is_a_400_with_its_reason_and_a_conflict_a_409(db):
    refused = _answer(ConfigEditRefused("quiet hours must look like 21:00-08:00"), htmx=True)
    conflict = _answer(ActionConflict("action 7 is no longer proposed"), htmx=True)

    assert (refused.status_code, refused.content) == (
        400,
        b"quiet hours must look like 21:00-08:00",
    )
    assert (conflict.status_code, conflict.content) == (409, b"action 7 is no longer proposed")


def test_any_other_error_is_left_to_django():
    assert _answer(KeyError("boom")) is None
