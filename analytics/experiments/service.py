"""An experiment's life: designed (draft) -> running -> stopped -> promoted.

Managers design, start and stop experiments (``analytics.run_experiment``) and may propose
a winner; promoting it changes the default dunning sequence, a settings change that only
admins make (``analytics.change_dunning_sequence``, checked again by ``config_update``).
Every step is in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from analytics.experiments.results import experiment_results
from analytics.experiments.stats import sample_size_per_variant
from analytics.models import Experiment, Variant
from dunning.decisions.policy_settings.sequence import SEQUENCE, sequence_current, sequence_merge
from dunning.governance.audit import audit_record
from dunning.governance.config_versions import config_update
from dunning.helpers.errors import ApplicationError

RUN_PERMISSION = "analytics.run_experiment"
PROMOTE_PERMISSION = SEQUENCE.change_permission


class ExperimentRefused(ApplicationError):
    """The step does not fit the experiment's state (shown to the person)."""


@dataclass(frozen=True)
class VariantSpec:
    key: str
    label: str
    params: dict
    weight: int = 1
    is_control: bool = False


def _require(user, permission: str, what: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"you may not {what}")


def experiment_create(
    *,
    user,
    name: str,
    hypothesis: str,
    segment: str,
    baseline_rate: float,
    minimum_effect: float,
    alpha: float,
    power: float,
    window_days: int,
    variants: list[VariantSpec],
) -> Experiment:
    """A draft experiment with its planned sample per variant, computed from the design."""
    _require(user, RUN_PERMISSION, "design experiments")
    if sum(1 for v in variants if v.is_control) != 1 or len(variants) < 2:
        raise ExperimentRefused("an experiment has exactly one control and at least one variant")
    planned = sample_size_per_variant(
        baseline=baseline_rate,
        effect=minimum_effect,
        alpha=alpha,
        power=power,
        comparisons=len(variants) - 1,
    )
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=name,
            hypothesis=hypothesis,
            segment=segment,
            baseline_rate=baseline_rate,
            minimum_effect=minimum_effect,
            alpha=alpha,
            power=power,
            window_days=window_days,
            planned_per_variant=planned,
            created_by=user,
        )
        for spec in variants:
            Variant.objects.create(
                experiment=experiment,
                key=spec.key,
                label=spec.label,
                params=spec.params,
                weight=spec.weight,
                is_control=spec.is_control,
            )
        audit_record(
            action="experiment.created",
            actor=user,
            target=experiment,
            data={
                "name": name,
                "segment": segment,
                "planned_per_variant": planned,
                "baseline_rate": baseline_rate,
                "minimum_effect": minimum_effect,
                "alpha": alpha,
                "power": power,
                "window_days": window_days,
                "variants": [vars(spec) for spec in variants],
            },
        )
    return experiment


def _move(
    *,
    experiment: Experiment,
    user,
    expected: tuple[str, ...],
    to: str,
    action: str,
    data: dict | None = None,
    **fields,
) -> Experiment:
    with transaction.atomic():
        changed = Experiment.objects.filter(pk=experiment.pk, status__in=expected).update(
            status=to, **fields
        )
        if changed != 1:
            current = Experiment.objects.get(pk=experiment.pk).get_status_display().lower()
            raise ExperimentRefused(f"the experiment is {current}; it cannot become {to}")
        audit_record(
            action=action,
            actor=user,
            target=experiment,
            data={"name": experiment.name, "to": to, **(data or {})},
        )
    experiment.refresh_from_db()
    return experiment


def experiment_start(*, experiment: Experiment, user) -> Experiment:
    """From now on, new failures are assigned to its variants."""
    _require(user, RUN_PERMISSION, "start experiments")
    return _move(
        experiment=experiment,
        user=user,
        expected=(Experiment.Status.DRAFT,),
        to=Experiment.Status.RUNNING,
        action="experiment.started",
        started_at=timezone.now(),
    )


def experiment_stop(*, experiment: Experiment, user, reason: str = "") -> Experiment:
    """No new assignments; invoices already in it go back to the default sequence."""
    _require(user, RUN_PERMISSION, "stop experiments")
    return _move(
        experiment=experiment,
        user=user,
        expected=(Experiment.Status.RUNNING,),
        to=Experiment.Status.STOPPED,
        action="experiment.stopped",
        data={"reason": reason} if reason else None,
        stopped_at=timezone.now(),
    )


def _conclusive_winner(experiment: Experiment, key: str) -> Variant:
    variant = experiment.variants.filter(key=key).first()
    if variant is None:
        raise ExperimentRefused(f"no variant {key!r} in this experiment")
    results = experiment_results(experiment=experiment)
    if not results.verdict.conclusive:
        raise ExperimentRefused("no winner before the planned sample is complete")
    if variant.is_control:
        return variant  # keeping today's sequence is always a valid conclusion
    if results.verdict.winner != key:
        raise ExperimentRefused(f"variant {key} did not beat the control significantly")
    return variant


def experiment_propose(*, experiment: Experiment, user, key: str) -> Experiment:
    """A manager marks the variant to promote; an admin then promotes it."""
    _require(user, RUN_PERMISSION, "propose a winner")
    if experiment.status not in (Experiment.Status.RUNNING, Experiment.Status.STOPPED):
        raise ExperimentRefused("only a running or stopped experiment has a winner to propose")
    variant = _conclusive_winner(experiment, key)
    Experiment.objects.filter(pk=experiment.pk).update(proposed_variant=variant, proposed_by=user)
    audit_record(
        action="experiment.winner_proposed",
        actor=user,
        target=experiment,
        data={"name": experiment.name, "variant": key},
    )
    experiment.refresh_from_db()
    return experiment


def experiment_promote(*, experiment: Experiment, user, key: str, note: str) -> Experiment:
    """Save the winner's params as the new default dunning sequence (admins; audited)."""
    _require(user, PROMOTE_PERMISSION, "change the default dunning sequence")
    if experiment.status not in (Experiment.Status.RUNNING, Experiment.Status.STOPPED):
        raise ExperimentRefused("only a running or stopped experiment can be promoted")
    variant = _conclusive_winner(experiment, key)
    if variant.is_control:
        raise ExperimentRefused("the control is today's sequence: stop the experiment instead")
    document = sequence_merge(
        document=sequence_current(), overrides=variant.params, segment=experiment.segment or None
    )
    why = f"experiment {experiment.name!r}: variant {key} promoted. {note}".strip()
    with transaction.atomic():
        saved = config_update(kind=SEQUENCE, data=document, user=user, note=why)
        return _move(
            experiment=experiment,
            user=user,
            expected=(Experiment.Status.RUNNING, Experiment.Status.STOPPED),
            to=Experiment.Status.PROMOTED,
            action="experiment.promoted",
            data={"variant": key, "config_version": saved.version, "note": note},
            promoted_version=saved.version,
            proposed_variant=variant,
            stopped_at=experiment.stopped_at or timezone.now(),
        )
