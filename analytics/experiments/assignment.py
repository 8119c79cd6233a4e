"""Which dunning sequence an invoice gets: the default document, or its experiment variant.

Only *new* failures join an experiment: an invoice whose first failure is at or after the
experiment started (and in its segment, when it has one). The variant is a pure function
of the experiment's salt and the invoice id (sha256 -> a bucket by weight), so deciding
again, on another worker or after a restart, gives the same variant; the unique
(experiment, invoice) row makes a second run a no-op. An invoice is in one experiment at
most, for its whole life.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction

from analytics.models import Assignment, Experiment, Variant
from dunning.decisions.context import DecisionContext
from dunning.decisions.policy_settings.sequence import (
    SEQUENCE,
    SequenceParams,
    sequence_defaults,
    sequence_for_segment,
    sequence_merge,
)
from dunning.governance.config_versions import config_active


def bucket_of(*, salt: str, invoice_id: str, weights: list[int]) -> int:
    """Index into ``weights``: stable for a salt and invoice, spread in proportion to weight."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("variant weights must add up to more than zero")
    digest = hashlib.sha256(f"{salt}:{invoice_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def variant_for(*, experiment: Experiment, invoice_id: str) -> Variant:
    variants = list(experiment.variants.order_by("id"))
    index = bucket_of(
        salt=experiment.salt, invoice_id=invoice_id, weights=[v.weight for v in variants]
    )
    return variants[index]


def assignment_ensure(*, experiment: Experiment, invoice_id: str, first_failed_at) -> Assignment:
    """The invoice's assignment in ``experiment``, made once (safe to run twice, concurrently)."""
    existing = Assignment.objects.filter(experiment=experiment, invoice_id=invoice_id).first()
    if existing is not None:
        return existing
    variant = variant_for(experiment=experiment, invoice_id=invoice_id)
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                experiment=experiment,
                variant=variant,
                invoice_id=invoice_id,
                first_failed_at=first_failed_at,
                window_end=first_failed_at + timedelta(days=experiment.window_days),
            )
    except IntegrityError:
        return Assignment.objects.get(experiment=experiment, invoice_id=invoice_id)


def _experiment_for(*, invoice_id: str, context: DecisionContext, segment: str):
    earlier = Assignment.objects.filter(invoice_id=invoice_id).select_related(
        "experiment", "variant"
    )
    if (assignment := earlier.first()) is not None:
        running = assignment.experiment.status == Experiment.Status.RUNNING
        return assignment if running else None
    if context.decline is None or context.first_failed_at is None:
        return None
    candidates = Experiment.objects.filter(
        status=Experiment.Status.RUNNING, started_at__lte=context.first_failed_at
    ).order_by("started_at", "id")
    for experiment in candidates:
        if experiment.segment and experiment.segment != segment:
            continue
        return assignment_ensure(
            experiment=experiment, invoice_id=invoice_id, first_failed_at=context.first_failed_at
        )
    return None


@dataclass(frozen=True)
class SequenceChoice:
    params: SequenceParams
    experiment: dict | None  # {"id", "name", "variant", "variant_label"} when in one


def sequence_choose(*, invoice_id: str, context: DecisionContext, segment: str) -> SequenceChoice:
    """The sequence for this decision, and the experiment and variant if one applies."""
    active = config_active(kind=SEQUENCE)
    document = dict(active.data) if active else sequence_defaults()
    source = f"default sequence v{active.version}" if active else "default sequence (built in)"
    assignment = _experiment_for(invoice_id=invoice_id, context=context, segment=segment)
    if assignment is None:
        return SequenceChoice(
            sequence_for_segment(document=document, segment=segment, source=source), None
        )
    experiment, variant = assignment.experiment, assignment.variant
    merged = sequence_merge(
        document=document, overrides=variant.params, segment=experiment.segment or None
    )
    label = f"experiment {experiment.name!r} / variant {variant.key}"
    return SequenceChoice(
        sequence_for_segment(document=merged, segment=segment, source=label),
        {
            "id": experiment.pk,
            "name": experiment.name,
            "variant": variant.key,
            "variant_label": variant.label,
            "control": variant.is_control,
        },
    )
