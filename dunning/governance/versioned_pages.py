"""The page of one versioned settings document, shared by every settings screen: who may
read it sees the active version and its history (each version with what it changed); who
may change it saves a new version with a reason, on top of the version they saw, or rolls
back to an older one (with a reason, confirmed).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dunning.governance.config_versions import (
    ConfigChange,
    ConfigChangedMeanwhile,
    ConfigEditRefused,
    ConfigKind,
    config_active,
    config_current,
    config_history,
    config_rollback,
    config_update,
)
from dunning.governance.confirmations import risky_confirmation
from dunning.helpers.htmx import vary_on_htmx
from dunning.models import AuditEntry, ConfigVersion

VERSIONS_SHOWN = 20


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str
    after: str


def value_label(value) -> str:
    if value is None:
        return "—"
    if value is True or value is False:
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if value == "":
        return "(empty)"
    return str(value)


def change_lines(changes: list[ConfigChange]) -> list[ChangeLine]:
    return [ChangeLine(c.path, value_label(c.before), value_label(c.after)) for c in changes]


def diff_lines(diff: dict) -> list[ChangeLine]:
    return [
        ChangeLine(path, value_label(change.get("from")), value_label(change.get("to")))
        for path, change in sorted(diff.items())
    ]


class VersionedForm(forms.Form):
    """A form that saves a new version of one settings document: why, and on top of which."""

    note = forms.CharField(max_length=300, label="Why this change", required=True)
    based_on = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


def versions_with_changes(kind: ConfigKind) -> list[dict]:
    """Each version with the diff recorded when it was saved (the first: from the defaults)."""
    rows = config_history(kind=kind, limit=VERSIONS_SHOWN)
    recorded = dict(
        AuditEntry.objects.filter(
            object_type=ConfigVersion._meta.label_lower,
            object_id__in=[str(row.version.pk) for row in rows],
        ).values_list("object_id", "data__diff")
    )
    return [
        {
            "version": row.version,
            "first": False,
            "changes": diff_lines(recorded[str(row.version.pk)])
            if str(row.version.pk) in recorded
            else change_lines(row.changes),
        }
        for row in rows
    ]


def version_number_active(kind: ConfigKind) -> int:
    active = config_active(kind=kind)
    return active.version if active else 0


def refusal_status(form, refused: ConfigEditRefused) -> int:
    form.add_error(None, str(refused))
    return 409 if isinstance(refused, ConfigChangedMeanwhile) else 400


def versioned_save(request: HttpRequest, *, kind: ConfigKind, form) -> int | None:
    """Save a POSTed settings form as a new version of ``kind``: None when saved, else the
    status to answer with (the reason is on the form)."""
    if not form.is_valid():
        return 400
    try:
        saved = config_update(
            kind=kind,
            data=form.document(),
            user=request.user,
            note=form.cleaned_data["note"],
            based_on=form.cleaned_data["based_on"],
        )
    except ConfigEditRefused as refused:
        return refusal_status(form, refused)
    messages.success(request, f"Saved as version {saved.version}.")
    return None


def versioned_settings_page(
    request: HttpRequest,
    *,
    kind: ConfigKind,
    form_class,
    initial: dict,
    change_permission: str,
    template: str,
    page: str,
    context: dict,
) -> HttpResponse:
    """A page of one versioned document: readers see it; who may change it saves a new
    version (with a reason) through ``form_class``, whose ``document()`` is the new value."""
    can_change = request.user.has_perm(change_permission)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    status = 200
    form = form_class(initial={**initial, "based_on": version_number_active(kind)})
    if request.method == "POST":
        form = form_class(request.POST)
        status = versioned_save(request, kind=kind, form=form)
        if status is None:
            return redirect(page)
    context = {
        "form": form,
        "can_change": can_change,
        "active": config_active(kind=kind),
        "current": config_current(kind=kind),
        "versions": versions_with_changes(kind),
        **context,
    }
    return vary_on_htmx(render(request, template, context, status=status))


def rollback_from_request(
    request: HttpRequest, *, kind: ConfigKind, version: int, restore, page: str
) -> HttpResponse:
    """Roll ``kind`` back to ``version`` with the reason given, confirmed; then ``page``."""
    if not ConfigVersion.objects.filter(key=kind.key, version=version).exists():
        raise Http404(f"There is no version {version}.")
    back = f"{reverse(page)}#version-{version}"
    reason, refused = risky_confirmation(request, what=f"rolling back to v{version}", back=back)
    if refused:
        return refused
    try:
        restored = restore(
            user=request.user, version=version, note=f"rolled back to version {version}: {reason}"
        )
    except ConfigEditRefused as refused:
        messages.error(request, f"Not rolled back: {refused}.")
    else:
        messages.success(
            request, f"Version {version} is in force again, as version {restored.version}."
        )
    return redirect(page)


def config_rollback_view(*, kind: ConfigKind, change_permission: str, page: str):
    """The POST that makes an earlier version of ``kind`` current again, then shows ``page``."""

    def restore(*, user, version, note):
        return config_rollback(kind=kind, version=version, user=user, note=note)

    @login_required
    @require_POST
    @permission_required(change_permission, raise_exception=True)
    def view(request: HttpRequest, version: int) -> HttpResponse:
        return rollback_from_request(
            request, kind=kind, version=version, restore=restore, page=page
        )

    return view
