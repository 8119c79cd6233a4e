"""A person proposes the end-of-dunning final actions from the invoice page.

The choices and the site's defaults are in ``final_actions.py``; each proposed action
waits for a manager's approval (never approved by the proposer in the same step), and the
executor checks the approver's permission again before it runs.
"""

from __future__ import annotations

from collections_desk.manual_collection import (
    ManualOutcome,
    check_may_request,
    manual_request_create,
)
from dunning.decisions.rules.final_actions import (
    INVOICE_CHOICES,
    INVOICE_LABELS,
    SUBSCRIPTION_CHOICES,
    SUBSCRIPTION_LABELS,
    final_action_kinds,
)
from dunning.models import Invoice


def end_of_dunning_propose(
    *, invoice: Invoice, user, subscription: str, invoice_action: str
) -> list[ManualOutcome]:
    """A person proposes the final actions; each waits for a manager's approval."""
    check_may_request(invoice=invoice, user=user)
    if subscription not in SUBSCRIPTION_CHOICES or invoice_action not in INVOICE_CHOICES:
        raise ValueError("unknown end-of-dunning choice")
    if subscription == "cancel" and not invoice.subscription_id:
        raise ValueError("the invoice belongs to no subscription")
    chosen = f"{SUBSCRIPTION_LABELS[subscription]}; {INVOICE_LABELS[invoice_action].lower()}"
    return [
        manual_request_create(
            invoice=invoice,
            user=user,
            kind=kind,
            self_approve=False,
            reasoning=f"End of dunning, proposed by {user.get_username()}: {chosen}.",
        )
        for kind in final_action_kinds(subscription=subscription, invoice=invoice_action)
    ]
