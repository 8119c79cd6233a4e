"""Which hold (a promise to pay, a payment plan) is in force on an invoice: a decision
during one plans nothing that it holds back. Placing and lifting them is action work
(``dunning.actions.holds``)."""

from __future__ import annotations

from datetime import datetime

from dunning.models import InvoiceHold


def invoice_hold_active(*, invoice_id: str, at: datetime) -> InvoiceHold | None:
    """The hold in force on the invoice at ``at`` (the one lasting longest), if any."""
    return (
        InvoiceHold.objects.filter(invoice_id=invoice_id, released_at__isnull=True, until__gt=at)
        .order_by("-until", "-id")
        .first()
    )
