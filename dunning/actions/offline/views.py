"""The offline reminder schedule: managers read it, admins change it (versioned, with a
reason) or roll it back. The document is ``offline_reminders`` in
``dunning.governance.config_versions``."""

from __future__ import annotations

from dataclasses import replace

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dunning.decisions.policy_settings.offline_reminders import (
    INSTRUCTIONS_MAX_CHARS,
    MAX_DAYS,
    OFFLINE_REMINDERS,
    STEP_LABELS,
    STEPS,
)
from dunning.governance.config_versions import (
    ConfigChangedMeanwhile,
    ConfigEditRefused,
    config_active,
    config_changes,
    config_current,
    config_history,
    config_rollback,
    config_update,
)
from dunning.governance.confirmations import risky_confirmation
from dunning.helpers.htmx import htmx_render
from dunning.models import ConfigVersion

READ = "dunning.view_guardrailpolicy"
CHANNELS = [("email", "Email"), ("sms", "SMS"), ("in_app", "In-app")]


class OfflineRemindersForm(forms.Form):
    due = forms.IntegerField(min_value=0, max_value=MAX_DAYS)
    reminder_7 = forms.IntegerField(min_value=0, max_value=MAX_DAYS)
    reminder_14 = forms.IntegerField(min_value=0, max_value=MAX_DAYS)
    final = forms.IntegerField(min_value=0, max_value=MAX_DAYS)
    channel = forms.ChoiceField(choices=CHANNELS)
    payment_instructions = forms.CharField(
        max_length=INSTRUCTIONS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="How to pay offline (shown in every reminder)",
    )
    note = forms.CharField(max_length=300, label="Why this change")
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for step in STEPS:
            self.fields[step].label = f"{STEP_LABELS[step].capitalize()}: days after the due date"

    def document(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in (*STEPS, "channel", "payment_instructions")
        }


def _history() -> list:
    """Each version and what it changed; the first one against the defaults it replaced."""
    rows = config_history(kind=OFFLINE_REMINDERS, limit=20)
    return [
        replace(
            row, changes=config_changes(before=OFFLINE_REMINDERS.defaults(), after=row.version.data)
        )
        if row.first
        else row
        for row in rows
    ]


def _page(request: HttpRequest, form: OfflineRemindersForm | None, *, status: int = 200):
    active = config_active(kind=OFFLINE_REMINDERS)
    can_change = request.user.has_perm(OFFLINE_REMINDERS.change_permission)
    if form is None:
        initial = {
            **config_current(kind=OFFLINE_REMINDERS),
            "based_on": active.version if active else 0,
        }
        form = OfflineRemindersForm(initial=initial)
    context = {
        "form": form,
        "active": active,
        "can_change": can_change,
        "history": _history(),
    }
    return htmx_render(request, "dunning/offline_reminders.html", context, status=status)


@login_required
@permission_required(READ, raise_exception=True)
def offline_reminders(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, None)
    if not request.user.has_perm(OFFLINE_REMINDERS.change_permission):
        raise PermissionDenied
    form = OfflineRemindersForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        saved = config_update(
            kind=OFFLINE_REMINDERS,
            data=form.document(),
            user=request.user,
            note=form.cleaned_data["note"],
            based_on=form.cleaned_data["based_on"] or 0,
        )
    except ConfigChangedMeanwhile as stale:
        messages.error(request, str(stale))
        return _page(request, None, status=409)
    except ConfigEditRefused as refused:
        form.add_error(None, str(refused))
        return _page(request, form, status=400)
    messages.success(request, f"Saved as version {saved.version}.")
    return redirect("dunning:offline_reminders")


@login_required
@require_POST
@permission_required(READ, raise_exception=True)
def offline_reminders_rollback(request: HttpRequest, version: int) -> HttpResponse:
    if not request.user.has_perm(OFFLINE_REMINDERS.change_permission):
        raise PermissionDenied
    back = f"{reverse('dunning:offline_reminders')}#version-{version}"
    reason, refused = risky_confirmation(request, what=f"rolling back to v{version}", back=back)
    if refused:
        return refused
    try:
        saved = config_rollback(
            kind=OFFLINE_REMINDERS,
            version=version,
            user=request.user,
            note=f"rolled back to version {version}: {reason}",
        )
    except ConfigEditRefused as refused:
        messages.error(request, str(refused))
        return _page(request, None, status=400)
    except ConfigVersion.DoesNotExist:
        messages.error(request, f"There is no version {version}.")
        return _page(request, None, status=404)
    messages.success(request, f"Version {version} is in force again (as version {saved.version}).")
    return redirect("dunning:offline_reminders")
