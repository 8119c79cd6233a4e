"""Risky clicks confirm: a rollback, stopping an experiment, switching a rollout mode, a
bulk approval. The POST carries a reason and a ticked confirmation, checked here on the
server: without them nothing is done and the answer is a 400 that says what is missing."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

REASON_MAX = 240


class RiskyConfirmForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX, strip=True, error_messages={"required": "say why"}
    )
    confirm = forms.BooleanField(error_messages={"required": "tick the box to confirm"})


def risky_confirmation(
    request: HttpRequest, *, what: str, back: str
) -> tuple[str, HttpResponse | None]:
    """The reason given for ``what``, or a 400 page saying what is missing (nothing done)."""
    form = RiskyConfirmForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["reason"], None
    missing = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {
        "message": f"Not done: {what} needs a reason and a confirmation ({missing}).",
        "back": back,
    }
    return "", render(request, "dunning/confirmation_refused.html", context, status=400)
