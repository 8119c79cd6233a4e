"""End of dunning: the final actions a site chooses for an invoice nobody could collect.

The choices are Chargebee's own final actions: keep or cancel the subscription; leave the
invoice unpaid (Chargebee's dunning stopped), write it off or void it. The site's defaults
are ``settings.DUNWELL_END_OF_DUNNING``; Dunwell proposes them when its dunning window ends
(the decision policy reads them from the context) and a person may propose them from the
invoice page. Each one waits for a manager's approval, and the executor checks again.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dunning.models import ActionKind

SUBSCRIPTION_CHOICES = {"keep": None, "cancel": ActionKind.CANCEL_SUBSCRIPTION}
INVOICE_CHOICES = {
    "leave_unpaid": ActionKind.STOP_DUNNING,
    "write_off": ActionKind.WRITE_OFF,
    "void": ActionKind.VOID,
}
SUBSCRIPTION_LABELS = {"keep": "Keep the subscription", "cancel": "Cancel the subscription"}
INVOICE_LABELS = {
    "leave_unpaid": "Leave the invoice unpaid",
    "write_off": "Write the invoice off",
    "void": "Void the invoice",
}


def final_action_defaults() -> tuple[str, str]:
    configured = settings.DUNWELL_END_OF_DUNNING
    subscription, invoice = configured.get("subscription"), configured.get("invoice")
    if subscription not in SUBSCRIPTION_CHOICES or invoice not in INVOICE_CHOICES:
        raise ImproperlyConfigured(
            f"DUNWELL_END_OF_DUNNING: subscription must be one of {sorted(SUBSCRIPTION_CHOICES)}"
            f" and invoice one of {sorted(INVOICE_CHOICES)}; got {configured!r}"
        )
    return subscription, invoice


def final_action_kinds(*, subscription: str | None = None, invoice: str | None = None) -> tuple:
    """The action kinds for these choices (the configured ones where not given)."""
    default_subscription, default_invoice = final_action_defaults()
    kinds = (
        SUBSCRIPTION_CHOICES[subscription or default_subscription],
        INVOICE_CHOICES[invoice or default_invoice],
    )
    return tuple(str(kind) for kind in kinds if kind is not None)
