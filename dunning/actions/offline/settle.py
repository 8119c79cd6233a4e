"""When a payment lands on an invoice: cancel what was waiting (the case is resolved by the
run above this layer, ``dunning.pipeline.settle``).

Before, a paid invoice's case closed only at the customer's next decision or at the
5-minute ``cases_refresh``. Now a job does it as soon as the payment is known: enqueued on
commit by the executor after a payment it recorded or collected, and run by the decision
job of every live ``payment_succeeded`` webhook. A partial payment leaves the invoice due:
nothing is cancelled and the reminder sequence carries on. Safe to run twice.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from redis.exceptions import RedisError

from dunning.actions.state_machine import actions_cancel_pending
from dunning.helpers.queueing import get_queue
from dunning.models import Invoice

logger = logging.getLogger("dunwell.offline")

DUE_STATUSES = ("payment_due", "not_paid", "posted")


# By path: the job resolves the desk case too, which this layer cannot reach.
SETTLE_JOB = "dunning.pipeline.settle.invoice_payment_settle_job"


def invoice_actions_settle(*, invoice_id: str) -> dict:
    """Cancel the invoice's waiting actions if it is no longer due."""
    invoice = (
        Invoice.objects.filter(cb_id=invoice_id).only("cb_id", "status", "customer_id").first()
    )
    if invoice is None:
        return {"invoice": invoice_id, "known": False}
    cancelled = 0
    if invoice.status not in DUE_STATUSES:
        with transaction.atomic():
            # Under the invoice's lock, as a decision records its actions: a decision in
            # flight either commits first (its actions are cancelled here) or sees the payment.
            Invoice.objects.select_for_update().filter(cb_id=invoice_id).first()
            cancelled = actions_cancel_pending(
                invoice_id=invoice_id, reason=f"the invoice was {invoice.status or 'closed'}"
            )
    return {
        "invoice": invoice_id,
        "status": invoice.status,
        "cancelled": cancelled,
        "customer_id": invoice.customer_id,
    }


def _enqueue(invoice_id: str) -> None:
    try:
        get_queue("default").enqueue(
            SETTLE_JOB,
            invoice_id,
            job_id=f"settle-{invoice_id}",
            failure_ttl=7 * 86400,
        )
    except (RedisError, OSError) as error:  # cases_refresh resolves it within minutes
        logger.warning("could not enqueue the payment settle of %s: %s", invoice_id, error)


def invoice_payment_settle_on_commit(*, invoice_id: str) -> None:
    transaction.on_commit(partial(_enqueue, invoice_id), robust=True)
