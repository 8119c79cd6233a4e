"""A payment landed on an invoice: cancel what was waiting, resolve the case at once.

Run by the decision job of every live ``payment_succeeded`` webhook, and as a job enqueued
on commit by the executor after a payment it recorded or collected. Safe to run twice.
"""

from __future__ import annotations

from collections_desk.cases import cases_refresh_for_customer
from dunning.actions.offline.settle import invoice_actions_settle


def invoice_payment_settle(*, invoice_id: str) -> dict:
    """Cancel the invoice's waiting actions if it is no longer due; refresh its case."""
    settled = invoice_actions_settle(invoice_id=invoice_id)
    customer_id = settled.pop("customer_id", None)
    if customer_id is not None:
        settled["case_resolved"] = cases_refresh_for_customer(customer_id=customer_id)
    return settled


def invoice_payment_settle_job(invoice_id: str) -> dict:
    return invoice_payment_settle(invoice_id=invoice_id)
