"""Read-side queries for the decision pages: the recent-decisions list and one invoice's story."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    CharField,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Cast, Coalesce

from dunning.governance.audit import GENESIS, entry_problem
from dunning.models import Action, ActionState, AuditEntry, Decision

INVOICE_DECISIONS_SHOWN = 50
INVOICE_AUDIT_SHOWN = 200


def decisions_newest_first() -> QuerySet[Decision]:
    """Recent decisions with their action counts (correlated subqueries: the page's rows only)."""
    decisions = Decision.objects.select_related("invoice", "customer").defer(
        "features", "explanation", "invoice__raw", "customer__raw"
    )
    return decisions.annotate(
        action_count=_action_count(),
        awaiting_approval=_action_count(state=ActionState.PROPOSED, needs_approval=True),
    ).order_by("-as_of", "-id")


def _action_count(**conditions) -> Subquery:
    actions = (
        Action.objects.filter(decision=OuterRef("pk"), **conditions)
        .order_by()
        .values("decision")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(actions, output_field=IntegerField()), 0)


def decision_counts(*, decisions: QuerySet[Decision], field: str) -> dict[str, int]:
    rows = decisions.order_by().values(field).annotate(n=Count("id"))
    return {row[field]: row["n"] for row in rows}


def segment_choices() -> list[str]:
    return list(Decision.objects.order_by("segment").values_list("segment", flat=True).distinct())


def invoice_decisions(*, invoice_id: str) -> list[Decision]:
    """The invoice's newest decisions, each with its actions (two queries in all)."""
    actions = Action.objects.select_related("decided_by").order_by("scheduled_for", "id")
    return list(
        Decision.objects.filter(invoice_id=invoice_id)
        .select_related("trigger_event")
        .prefetch_related(Prefetch("actions", queryset=actions))
        .order_by("-as_of", "-id")[:INVOICE_DECISIONS_SHOWN]
    )


def invoice_audit_trail(*, invoice_id: str) -> QuerySet[AuditEntry]:
    """Audit entries about this invoice's decisions and actions, or naming the invoice."""

    def keys(model):
        return (
            model.objects.filter(invoice_id=invoice_id)
            .annotate(key=Cast("pk", CharField()))
            .values("key")
        )

    return AuditEntry.objects.filter(
        Q(object_type="dunning.decision", object_id__in=keys(Decision))
        | Q(object_type="dunning.action", object_id__in=keys(Action))
        | Q(data__invoice=invoice_id)
    ).order_by("seq")


@dataclass(frozen=True)
class EntryProblem:
    seq: int
    reason: str


def audit_entries_check(*, entries: list[AuditEntry]) -> EntryProblem | None:
    """Each entry unaltered and linked to the entry before it in the whole chain.

    A partial check (the full walk is ``manage.py verify_audit``): enough to show an
    invoice's history was neither edited nor cut out of the chain.
    """
    previous = dict(
        AuditEntry.objects.filter(seq__in=[e.seq - 1 for e in entries]).values_list("seq", "hash")
    )
    previous[0] = GENESIS
    for entry in entries:
        if problem := entry_problem(entry):
            return EntryProblem(entry.seq, problem)
        if previous.get(entry.seq - 1) != entry.prev_hash:
            return EntryProblem(entry.seq, "does not follow the entry before it")
    return None
