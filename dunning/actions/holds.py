"""Placing and lifting holds on an invoice (``dunning.models.holds``).

Which hold is in force is read by decisions (``dunning.decisions.rules.holds``).

Placing a hold cancels what Dunwell itself had planned to send or charge on the invoice
(a person's own requests stay), so nothing scheduled before the promise reaches the
customer during it; the executor also defers anything scheduled meanwhile.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dunning.actions.state_machine import actions_cancel_pending
from dunning.governance.audit import audit_record
from dunning.models import ActionKind, Invoice, InvoiceHold

# What a hold holds back: retries and anything that reaches the customer.
HELD_KINDS = frozenset(
    {
        ActionKind.RETRY,
        ActionKind.MESSAGE,
        ActionKind.PAYMENT_METHOD_LINK,
        ActionKind.AUTHENTICATION_LINK,
    }
)
_NOT_HELD = tuple(kind for kind in ActionKind.values if kind not in HELD_KINDS)


def invoice_hold_place(
    *, invoice: Invoice, kind: str, until: datetime, reason: str, user=None
) -> InvoiceHold:
    if until <= timezone.now():
        raise ValueError("a hold must end in the future")
    with transaction.atomic():
        hold = InvoiceHold.objects.create(
            invoice=invoice, kind=kind, until=until, reason=reason[:300], created_by=user
        )
        cancelled = actions_cancel_pending(
            invoice_id=invoice.cb_id,
            reason=f"held: {reason}"[:300],
            keep_kinds=_NOT_HELD,
            keep_manual=True,
        )
        audit_record(
            action="invoice.hold_placed",
            actor=user,
            actor_label="" if user else "dunwell",
            target=hold,
            data={
                "invoice": invoice.cb_id,
                "kind": kind,
                "until": until,
                "reason": reason,
                "actions_cancelled": cancelled,
            },
        )
    return hold


def invoice_hold_release(*, hold: InvoiceHold, reason: str, user=None) -> bool:
    """Lift the hold (a kept or broken promise, a plan ended); False if already lifted."""
    now = timezone.now()
    with transaction.atomic():
        lifted = InvoiceHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
            released_at=now, release_reason=reason[:300]
        )
        if lifted:
            audit_record(
                action="invoice.hold_released",
                actor=user,
                actor_label="" if user else "dunwell",
                target=hold,
                data={"invoice": hold.invoice_id, "kind": hold.kind, "reason": reason},
            )
    return bool(lifted)
