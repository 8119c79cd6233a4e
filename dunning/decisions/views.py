"""Pages around decisions: the guardrails (admins edit) and recent decisions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dunning.decisions import decision_queries as queries
from dunning.decisions.filters import DecisionFilter
from dunning.decisions.forms import GuardrailForm
from dunning.decisions.policy_settings.guardrail_edits import (
    CHANGE_PERMISSION,
    GuardrailEditRefused,
    GuardrailsChangedMeanwhile,
    guardrail_versions,
    guardrails_edit,
    guardrails_restore,
)
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.governance.confirmations import risky_confirmation
from dunning.governance.reach import rows_in_reach
from dunning.helpers.filtering import rows_filtered
from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.helpers.paging import page_of
from dunning.models import (
    ALWAYS_NEEDS_APPROVAL,
    ActionKind,
    GatewayPause,
    GuardrailPolicy,
)

PAGE_SIZE = 50
VERSIONS_PER_PAGE = 10


def _version_history(request: HttpRequest) -> dict:
    versions = GuardrailPolicy.objects.select_related("created_by").order_by("-version")
    page, _ = page_of(request, versions, size=VERSIONS_PER_PAGE, param="versions")
    return {
        "versions_page": page,
        "versions": guardrail_versions(policies=list(page)),
        "can_change": request.user.has_perm(CHANGE_PERMISSION),
    }


@login_required
@permission_required("dunning.view_guardrailpolicy", raise_exception=True)
def guardrails(request: HtmxHttpRequest) -> HttpResponse:
    """Managers read; admins also save a new version (with a reason) or roll back."""
    if request.htmx and "versions" in request.GET:
        return htmx_render(request, "dunning/_guardrail_versions.html", _version_history(request))
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    policy, status = guardrails_active(), 200
    form = GuardrailForm(policy=policy, read_only=not can_change)
    if request.method == "POST":
        form, status = GuardrailForm(request.POST, policy=policy), 400
        if form.is_valid():
            try:
                saved = guardrails_edit(
                    user=request.user,
                    changes=form.changes(),
                    note=form.cleaned_data["note"],
                    based_on=form.cleaned_data["based_on"],
                )
            except GuardrailsChangedMeanwhile as stale:
                # Show the other person's values: saving ours blindly would undo theirs.
                messages.error(request, str(stale))
                form, status = GuardrailForm(policy=guardrails_active()), 409
            except GuardrailEditRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, f"Saved as version {saved.version}.")
                return redirect("dunning:guardrails")
    context = {
        "form": form,
        "policy": guardrails_active() if status == 409 else policy,
        "fixed_kinds": [ActionKind(kind).label for kind in sorted(ALWAYS_NEEDS_APPROVAL)],
        "pauses": _pauses(request),
        **_version_history(request),
    }
    return htmx_render(request, "dunning/guardrails.html", context, status=status)


def _pauses(request: HttpRequest):
    if not request.user.has_perm("dunning.view_gatewaypause"):
        return None
    return GatewayPause.objects.all()[:10]


@login_required
@require_POST
@permission_required(CHANGE_PERMISSION, raise_exception=True)
def guardrails_rollback_view(request: HttpRequest, version: int) -> HttpResponse:
    if not GuardrailPolicy.objects.filter(version=version).exists():
        raise Http404(f"There is no guardrails version {version}.")
    back = f"{reverse('dunning:guardrails')}#version-{version}"
    reason, refused = risky_confirmation(request, what=f"rolling back to v{version}", back=back)
    if refused:
        return refused
    try:
        restored = guardrails_restore(
            user=request.user, version=version, note=f"rollback to v{version}: {reason}"
        )
    except GuardrailPolicy.DoesNotExist:
        raise Http404(f"There is no guardrails version {version}.") from None
    except GuardrailEditRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, f"Version {version}'s values are in force again as version {restored.version}."
        )
    return redirect("dunning:guardrails")


@login_required
@permission_required("dunning.view_decision", raise_exception=True)
def decision_list(request: HttpRequest) -> HttpResponse:
    in_reach = rows_in_reach(user=request.user, rows=queries.decisions_newest_first())
    filtered = rows_filtered(DecisionFilter, request=request, rows=in_reach)
    mode_counts = queries.decision_counts(decisions=filtered.rows, field="mode")
    # Every decision has one mode, so the counts by mode add up to the page count: the
    # filtered rows (an agent's team rule included) are counted once, not twice.
    page, query = page_of(request, filtered.rows, size=PAGE_SIZE, count=sum(mode_counts.values()))
    context = {"form": filtered.form, "page": page, "query": query, "mode_counts": mode_counts}
    return htmx_render(
        request,
        "dunning/decision_list.html",
        context,
        status=filtered.status,
        fragment="dunning/_decision_table.html",
    )
