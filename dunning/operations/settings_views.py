"""Settings pages: channel settings (admins edit, managers read), people and roles (admins),
and the history of every settings change (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import Permission
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dunning.decisions.policy_settings.channel_settings import (
    CHANGE_PERMISSION as CHANGE_CHANNELS,
)
from dunning.decisions.policy_settings.channel_settings import (
    CHANNEL_SETTINGS,
    FALLBACK_ORDER,
    VIEW_PERMISSION,
)
from dunning.governance.config_versions import (
    ConfigEditRefused,
    config_active,
    config_current,
)
from dunning.governance.roles import ROLE_PERMISSIONS
from dunning.governance.versioned_pages import (
    config_rollback_view,
    refusal_status,
    rollback_from_request,
    version_number_active,
    versioned_settings_page,
    versions_with_changes,
)
from dunning.helpers.filtering import rows_filtered
from dunning.helpers.htmx import htmx_render, vary_on_htmx
from dunning.helpers.paging import page_of
from dunning.operations.role_assignments import (
    CHANGE_PERMISSION as CHANGE_ROLES,
)
from dunning.operations.role_assignments import (
    ROLES,
    people_person,
    people_record_outside,
    people_rollback,
    people_update,
)
from dunning.operations.settings_forms import ChannelSettingsForm, PersonForm
from dunning.operations.settings_history import (
    settings_history_entries,
    settings_history_rows,
)
from dunning.operations.settings_history_filters import SettingsHistoryFilter

HISTORY_PAGE_SIZE = 25
VERSIONS_SHOWN = 20


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def channel_settings(request: HttpRequest) -> HttpResponse:
    """Managers read; admins save a new version (with a reason) or roll back."""
    return versioned_settings_page(
        request,
        kind=CHANNEL_SETTINGS,
        form_class=ChannelSettingsForm,
        initial=ChannelSettingsForm.initial_from(config_current(kind=CHANNEL_SETTINGS)),
        change_permission=CHANGE_CHANNELS,
        template="dunning/channel_settings.html",
        page="dunning:channel_settings",
        context={
            "fallback_order": [c.label for c in FALLBACK_ORDER],
            "rollback_url": "dunning:channel_settings_rollback",
        },
    )


channel_settings_rollback = config_rollback_view(
    kind=CHANNEL_SETTINGS, change_permission=CHANGE_CHANNELS, page="dunning:channel_settings"
)


def _role_permissions() -> list[tuple[str, list[str]]]:
    """Each role with what it may do, in the permissions' own names ("Can approve actions")."""
    names = {
        f"{app}.{codename}": name
        for app, codename, name in Permission.objects.values_list(
            "content_type__app_label", "codename", "name"
        )
    }
    return [
        (role.value, [names.get(perm, perm) for perm in perms])
        for role, perms in ROLE_PERMISSIONS.items()
    ]


@login_required
@permission_required(CHANGE_ROLES, raise_exception=True)
def people(request: HttpRequest) -> HttpResponse:
    """Who holds which role and works in which team; an admin changes one person at a time."""
    outside = people_record_outside()
    if outside is not None:
        messages.warning(
            request,
            f"Roles were changed outside Dunwell (Django admin?): recorded as version "
            f"{outside.version}.",
        )
    status, based_on = 200, version_number_active(ROLES)
    username = request.GET.get("person", "")
    form = PersonForm(
        initial={"username": username, **people_person(username=username), "based_on": based_on}
    )
    if request.method == "POST":
        form, status = PersonForm(request.POST), 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = people_update(
                    user=request.user,
                    username=data["username"],
                    roles=data["roles"],
                    teams=data["teams"],
                    note=data["note"],
                    based_on=data["based_on"],
                )
            except ConfigEditRefused as refused:
                status = refusal_status(form, refused)
            else:
                messages.success(
                    request, f"Saved as version {saved.version}: {data['username']}'s roles."
                )
                return redirect(reverse("dunning:people"))
    members = config_current(kind=ROLES)["people"]
    names = dict(
        get_user_model().objects.filter(username__in=members).values_list("username", "is_active")
    )
    context = {
        "form": form,
        "people": [
            {"username": name, "active": names.get(name, False), **person}
            for name, person in members.items()
        ],
        "active": config_active(kind=ROLES),
        "role_permissions": _role_permissions(),
        "versions": versions_with_changes(ROLES),
        "rollback_url": "dunning:people_rollback",
        "can_change": True,
    }
    return vary_on_htmx(render(request, "dunning/people.html", context, status=status))


@login_required
@require_POST
@permission_required(CHANGE_ROLES, raise_exception=True)
def people_rollback_view(request: HttpRequest, version: int) -> HttpResponse:
    return rollback_from_request(
        request, kind=ROLES, version=version, restore=people_rollback, page="dunning:people"
    )


@login_required
@permission_required("dunning.view_configversion", raise_exception=True)
def settings_history(request: HttpRequest) -> HttpResponse:
    """Every settings change, newest first, with a link to where it can be rolled back."""
    entries = settings_history_entries().select_related("actor")
    filtered = rows_filtered(SettingsHistoryFilter, request=request, rows=entries)
    page, query = page_of(request, filtered.rows, size=HISTORY_PAGE_SIZE)
    context = {
        "form": filtered.form,
        "page": page,
        "query": query,
        "rows": settings_history_rows(page),
    }
    return htmx_render(
        request,
        "dunning/settings_history.html",
        context,
        status=filtered.status,
        fragment="dunning/_settings_history_table.html",
    )
