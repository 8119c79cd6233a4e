"""The rollout page: each segment's mode and the evidence; admins switch a mode."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from analytics import rollout
from analytics.filters import PERIODS
from analytics.rollout_forms import RolloutSwitchForm
from dunning.decisions.policy_settings.guardrail_edits import (
    CHANGE_PERMISSION,
    GuardrailEditRefused,
    GuardrailsChangedMeanwhile,
)
from dunning.governance.confirmations import risky_confirmation
from dunning.helpers.htmx import htmx_render
from dunning.models import AutomationMode

VIEW_PERMISSION = "dunning.view_guardrailpolicy"


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def rollout_page(request: HttpRequest) -> HttpResponse:
    """Managers and admins read; admins switch a segment's mode (POST)."""
    can_change = request.user.has_perm(CHANGE_PERMISSION)
    if request.method == "POST" and not can_change:
        raise PermissionDenied("Only admins may change a segment's automation mode.")
    period = request.GET.get("period", str(rollout.EVIDENCE_DAYS))
    errors, status = [], 200
    if period not in PERIODS:
        return _render(request, {"error": "period: 30, 90 or 365 days."}, status=400)
    if request.method == "POST":
        _, refused = risky_confirmation(  # the form below reads the same reason
            request, what="switching a segment's mode", back=reverse("dunning:rollout")
        )
        if refused:
            return refused
        form = RolloutSwitchForm(request.POST)
        status = 400
        if not form.is_valid():
            errors = [f"{name}: {' '.join(map(str, e))}" for name, e in form.errors.items()]
        else:
            try:
                saved = rollout.rollout_switch(
                    user=request.user,
                    segment=form.cleaned_data["segment"],
                    mode=form.cleaned_data["mode"],
                    reason=form.cleaned_data["reason"],
                    based_on=form.cleaned_data["based_on"],
                )
            except GuardrailsChangedMeanwhile as stale:
                errors, status = [str(stale)], 409
            except GuardrailEditRefused as refused:
                errors = [str(refused)]
            else:
                messages.success(
                    request,
                    f"{form.cleaned_data['segment']} is now in {form.cleaned_data['mode']} mode "
                    f"(guardrails version {saved.version}).",
                )
                return redirect("dunning:rollout")
    policy, rows, since, until = rollout.rollout_rows(days=PERIODS[period])
    context = {
        "policy": policy,
        "rows": rows,
        "since": since,
        "until": until,
        "period": period,
        "can_change": can_change,
        "errors": errors,
        "modes": AutomationMode.choices,
        "thresholds": {
            "shadow_settled": rollout.MIN_SHADOW_SETTLED,
            "gap": rollout.MAX_CALIBRATION_GAP,
            "reviewed": rollout.MIN_REVIEWED,
            "agreement": rollout.MIN_AGREEMENT,
        },
    }
    return _render(request, context, status=status)


def _render(request: HttpRequest, context: dict, *, status: int) -> HttpResponse:
    return htmx_render(request, "dunning/rollout.html", context, status=status)
