"""An experiment's results: per-variant outcomes from one aggregate query, and the verdict.

An assigned invoice is *recovered* when the failure summary (``InvoiceFailure``) says it was
paid by payments by the end of its dunning window (first failure + the experiment's window
days); *failed* when the window ended without that; *pending* while the window is open
(a pending invoice is not a failure). Rates are over decided invoices (recovered + failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from analytics.charts import ACCENT, BASE_LAYOUT, MUTED
from analytics.experiments.stats import Arm, Verdict, verdict, wilson
from analytics.models import Assignment, Experiment
from dunning.models import InvoiceFailure


@dataclass(frozen=True)
class VariantResult:
    key: str
    label: str
    is_control: bool
    weight: int
    params: dict
    assigned: int
    recovered: int
    failed: int
    pending: int
    rate: float | None  # over decided invoices
    low: float
    high: float
    arm: Arm

    @property
    def decided(self) -> int:
        return self.recovered + self.failed


@dataclass(frozen=True)
class Results:
    variants: list[VariantResult]
    verdict: Verdict

    @property
    def assigned(self) -> int:
        return sum(v.assigned for v in self.variants)


def _horizon_cutoffs(*, experiment: Experiment, variant_ids: list[int]) -> Q:
    """Assignments that count for the verdict: each variant's first ``planned`` ones."""
    planned = experiment.planned_per_variant
    horizon = Q(pk__in=[])
    for variant_id in variant_ids:
        last = (
            Assignment.objects.filter(experiment=experiment, variant_id=variant_id)
            .order_by("id")
            .values_list("id", flat=True)[planned - 1 : planned]
        )
        cutoff = last.first()
        horizon |= Q(variant_id=variant_id) & (Q(pk__lte=cutoff) if cutoff else Q())
    return horizon


def experiment_results(*, experiment: Experiment, now: datetime | None = None) -> Results:
    now = now or timezone.now()
    variants = list(experiment.variants.order_by("-is_control", "id"))
    recovered_in_window = Exists(
        InvoiceFailure.objects.filter(
            invoice_cb_id=OuterRef("invoice_id"),
            is_recovered=True,
            paid_at__lte=OuterRef("window_end"),
        )
    )
    horizon = _horizon_cutoffs(experiment=experiment, variant_ids=[v.pk for v in variants])
    recovered = Q(recovered=True)
    decided = Q(recovered=True) | Q(window_end__lte=now)
    rows = (
        Assignment.objects.filter(experiment=experiment)
        .annotate(recovered=recovered_in_window)
        .values("variant_id")
        .annotate(
            assigned=Count("id"),
            n_recovered=Count("id", filter=recovered),
            n_pending=Count("id", filter=Q(recovered=False, window_end__gt=now)),
            h_assigned=Count("id", filter=horizon),
            h_decided=Count("id", filter=horizon & decided),
            h_recovered=Count("id", filter=horizon & recovered),
        )
        .order_by()
    )
    counts = {row["variant_id"]: row for row in rows}
    results = []
    for variant in variants:
        row = counts.get(variant.pk, {})
        assigned, rec = row.get("assigned", 0), row.get("n_recovered", 0)
        pending = row.get("n_pending", 0)
        failed = assigned - rec - pending
        low, high = wilson(rec, rec + failed)
        results.append(
            VariantResult(
                key=variant.key,
                label=variant.label,
                is_control=variant.is_control,
                weight=variant.weight,
                params=variant.params,
                assigned=assigned,
                recovered=rec,
                failed=failed,
                pending=pending,
                rate=rec / (rec + failed) if rec + failed else None,
                low=low,
                high=high,
                arm=Arm(
                    variant.key,
                    variant.is_control,
                    row.get("h_assigned", 0),
                    row.get("h_decided", 0),
                    row.get("h_recovered", 0),
                ),
            )
        )
    return Results(
        results,
        verdict(
            arms=[r.arm for r in results],
            planned=experiment.planned_per_variant,
            alpha=experiment.alpha,
        ),
    )


def results_figure(results: Results) -> dict:
    """Recovery rate per variant with its 95% Wilson interval (plotly, plain dicts)."""
    shown = [v for v in results.variants if v.rate is not None]
    x = [f"{v.key} (control)" if v.is_control else v.key for v in shown]
    y = [round(v.rate * 100, 1) for v in shown]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "recovery rate % (95% CI)",
            "x": x,
            "y": y,
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [round((v.high - v.rate) * 100, 1) for v in shown],
                "arrayminus": [round((v.rate - v.low) * 100, 1) for v in shown],
            },
            "marker": {"size": 12, "color": [MUTED if v.is_control else ACCENT for v in shown]},
        }
    ]
    layout = {
        **BASE_LAYOUT,
        "yaxis": {**BASE_LAYOUT["yaxis"], "title": {"text": "recovered %"}, "range": [0, 100]},
    }
    return {"data": data, "layout": layout}
