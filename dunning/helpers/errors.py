"""The one application error: a request Dunwell refuses, with the reason a person reads.

Services raise a subclass of ``ApplicationError`` (``ActionConflict``, ``ConfigEditRefused``,
``SurveyRefused``, ...) whose message is written for the person who asked; views catch the
ones they answer in place (a form error, a message). One that escapes a view is answered by
``ApplicationErrorMiddleware`` with its status and reason, never a server error.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class ApplicationError(Exception):
    """A refusal with a reason a person can act on. ``status``: 400, or 409 for a conflict
    (someone else changed the thing meanwhile)."""

    status = 400

    def __init__(self, message: str = "", *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ApplicationConflict(ApplicationError):
    """The thing changed since the person saw it: reload and decide again."""

    status = 409


class ApplicationErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        reason = str(exception) or "This request could not be done."
        if getattr(request, "htmx", False):
            return HttpResponse(reason, status=exception.status, content_type="text/plain")
        return render(request, "refused.html", {"reason": reason}, status=exception.status)
