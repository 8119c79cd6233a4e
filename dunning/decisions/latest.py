"""Each invoice's latest decision, kept on the invoice as it is recorded.

"Latest" is the order decisions are listed in everywhere (``Decision.Meta.ordering``): the
latest ``as_of``, then the highest id. A decision recorded late about an earlier moment (a
replay, a slow worker) is therefore not the latest, and of two about the same moment the
later recorded is. The invoice also keeps its latest decision with a recovery score (the
forecast's probability when the latest has none).

Every decision is recorded through ``decision_create``, which recomputes the invoice's
pointers from its decisions under the invoice's row lock, in the same transaction: of two
decisions recorded at once, the second to take the lock sees the first's, so the pointers
are what the decisions say whatever order they commit in. Seeds that insert decisions in
bulk call ``invoices_latest_decision_refresh`` afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from dunning.models import Decision, Invoice


def _latest_first(*, scored: bool):
    decisions = Decision.objects.filter(invoice_id=OuterRef("cb_id"))
    if scored:
        decisions = decisions.filter(recovery_score__isnull=False)
    return decisions.order_by("-as_of", "-id").values("pk")[:1]


def invoices_latest_decision_refresh(
    *, invoice_ids: Iterable[str] | None = None, locked: bool = False
) -> int:
    """Set the latest-decision pointers of these invoices (every invoice with a decision if
    None) from their decisions. Returns the number of invoices updated. ``locked``: the
    caller's transaction already holds these invoices' rows."""
    invoices = Invoice.objects.filter(Exists(Decision.objects.filter(invoice_id=OuterRef("cb_id"))))
    # No savepoint of its own: a failure here fails the caller's work with it.
    with transaction.atomic(savepoint=False):
        if invoice_ids is not None:
            ids = sorted(set(invoice_ids))
            invoices = invoices.filter(cb_id__in=ids)
        if invoice_ids is not None and not locked:
            # The lock first, so that the UPDATE's own reading of the decisions starts after
            # any other decision about these invoices has committed (read committed takes a
            # new snapshot per statement). Always in one order: no deadlock between two.
            list(
                Invoice.objects.select_for_update()
                .filter(cb_id__in=ids)
                .order_by("cb_id")
                .values_list("pk", flat=True)
            )
        return invoices.update(
            latest_decision=Subquery(_latest_first(scored=False)),
            latest_scored_decision=Subquery(_latest_first(scored=True)),
        )


def decision_create(*, invoice_locked: bool = False, **fields: Any) -> Decision:
    """Record a decision (``Decision``'s fields) and make it its invoice's latest if it is.
    ``invoice_locked``: the caller's transaction already holds the invoice's row (taken
    before anything it decided from was read again)."""
    with transaction.atomic(savepoint=False):
        decision = Decision.objects.create(**fields)
        invoices_latest_decision_refresh(invoice_ids=[decision.invoice_id], locked=invoice_locked)
    return decision
