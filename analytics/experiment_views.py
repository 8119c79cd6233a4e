"""The experiment screens: the list with the design form, and one experiment's results.

Managers and admins read (``analytics.view_experiment``); managers design, start, stop and
propose a winner (``analytics.run_experiment``); admins promote (the dunning-sequence
settings permission). The services check the same permissions again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.dashboard_views import CHART_PAGE_HEADERS
from analytics.experiment_forms import (
    VARIANT_INITIAL,
    ExperimentForm,
    PromoteForm,
    VariantFormSet,
)
from analytics.experiments.baseline import baseline_recovery_rate
from analytics.experiments.results import experiment_results, results_figure
from analytics.experiments.service import (
    PROMOTE_PERMISSION,
    RUN_PERMISSION,
    ExperimentRefused,
    experiment_create,
    experiment_promote,
    experiment_propose,
    experiment_start,
    experiment_stop,
)
from analytics.models import Experiment
from dunning.decisions.policy_settings.sequence import SEQUENCE, sequence_current, sequence_defaults
from dunning.governance.config_versions import config_active, config_changes, config_history
from dunning.governance.confirmations import risky_confirmation
from dunning.helpers.htmx import htmx_render

VIEW_PERMISSION = "analytics.view_experiment"


def _render(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    status: int = 200,
    fragment: str | None = None,
) -> HttpResponse:
    return htmx_render(
        request, template, context, status=status, fragment=fragment, headers=CHART_PAGE_HEADERS
    )


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def experiment_list(request: HttpRequest) -> HttpResponse:
    can_run = request.user.has_perm(RUN_PERMISSION)
    baseline = baseline_recovery_rate()
    initial = {"baseline_rate": round(baseline * 100, 1)} if baseline else {}
    form, variants, status = (
        ExperimentForm(initial=initial),
        VariantFormSet(initial=VARIANT_INITIAL),
        200,
    )
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        form, variants = ExperimentForm(request.POST), VariantFormSet(request.POST)
        if form.is_valid() and variants.is_valid():
            data = form.cleaned_data
            try:
                experiment = experiment_create(
                    user=request.user,
                    name=data["name"],
                    hypothesis=data["hypothesis"],
                    segment=data["segment"],
                    baseline_rate=data["baseline_rate"],
                    minimum_effect=data["minimum_effect"],
                    alpha=data["alpha"],
                    power=data["power"],
                    window_days=data["window_days"],
                    variants=variants.specs(),
                )
            except (ExperimentRefused, ValueError) as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, f"Experiment {experiment.name!r} saved as a draft.")
                return redirect("analytics:experiment", pk=experiment.pk)
        status = 400
    experiments = Experiment.objects.annotate(
        n_assigned=Count("assignments"), n_variants=Count("variants", distinct=True)
    ).select_related("created_by")
    active = config_active(kind=SEQUENCE)
    context = {
        "experiments": experiments,
        "form": form,
        "variants": variants,
        "can_run": can_run,
        "sequence": sequence_current(),
        "sequence_version": active.version if active else None,
        "sequence_history": _history(),
    }
    return _render(request, "analytics/experiments.html", context, status=status)


def _history() -> list[dict]:
    """The sequence's versions, the first one compared with the built-in defaults."""
    return [
        {
            "version": row.version,
            "changes": config_changes(before=sequence_defaults(), after=row.version.data)
            if row.first
            else row.changes,
        }
        for row in config_history(kind=SEQUENCE, limit=10)
    ]


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment.objects.select_related("created_by"), pk=pk)
    return _render(
        request,
        "analytics/experiment.html",
        _detail(request, experiment),
        fragment="analytics/_experiment.html",
    )


def _detail(request: HttpRequest, experiment: Experiment) -> dict:
    results = experiment_results(experiment=experiment)
    return {
        "experiment": experiment,
        "results": results,
        "figure": results_figure(results),
        "can_run": request.user.has_perm(RUN_PERMISSION),
        "can_promote": request.user.has_perm(PROMOTE_PERMISSION),
    }


@login_required
@require_POST
def experiment_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """start, stop, propose or promote; refusals go back to the page as a message (409)."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    experiment = get_object_or_404(Experiment, pk=pk)
    form = PromoteForm(request.POST)
    if step in ("propose", "promote") and not form.is_valid():
        return HttpResponse("Name the variant.", status=400, content_type="text/plain")
    try:
        if step == "start":
            experiment_start(experiment=experiment, user=request.user)
            messages.success(request, "Started: new failures are assigned from now on.")
        elif step == "stop":
            back = reverse("analytics:experiment", args=[experiment.pk])
            reason, refused = risky_confirmation(request, what="stopping it", back=back)
            if refused:
                return refused
            experiment_stop(experiment=experiment, user=request.user, reason=reason)
            messages.success(request, "Stopped: no new assignments.")
        elif step == "propose":
            experiment_propose(
                experiment=experiment, user=request.user, key=form.cleaned_data["variant"]
            )
            messages.success(request, "Winner proposed: an admin can now promote it.")
        elif step == "promote":
            done = experiment_promote(
                experiment=experiment,
                user=request.user,
                key=form.cleaned_data["variant"],
                note=form.cleaned_data["note"],
            )
            messages.success(
                request,
                f"Promoted: the default dunning sequence is now version {done.promoted_version}.",
            )
        else:
            return HttpResponse("Unknown step.", status=400, content_type="text/plain")
    except ExperimentRefused as refused:
        context = {**_detail(request, experiment), "refused": str(refused)}
        return _render(request, "analytics/experiment.html", context, status=409)
    return redirect("analytics:experiment", pk=experiment.pk)
