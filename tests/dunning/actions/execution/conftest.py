"""Actions over a real failed renewal in the sandbox, run by a real RQ worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rq import SimpleWorker

from dunning.actions.state_machine import action_approve, action_fingerprint
from dunning.decisions.enrichment import mirror_store
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from dunning.models import Action, Decision, Invoice
from tests.conftest import failed_renewal


def mirror_from_sandbox(sandbox, invoice_id: str) -> Invoice:
    """What the webhooks would have brought: the invoice, its customer, card and payments."""
    invoice = sandbox.invoices[invoice_id]
    mirror_store(key="customer", obj=sandbox.customers[invoice["customer_id"]])
    for source in sandbox.payment_sources.values():
        if source["customer_id"] == invoice["customer_id"]:
            mirror_store(key="payment_source", obj=source)
    if invoice.get("subscription_id"):
        mirror_store(key="subscription", obj=sandbox.subscriptions[invoice["subscription_id"]])
    mirror_store(key="invoice", obj=invoice)
    for payment in invoice["linked_payments"]:
        mirror_store(key="transaction", obj=sandbox.transactions[payment["txn_id"]])
    return Invoice.objects.select_related("customer").get(cb_id=invoice_id)


@pytest.fixture
def live(admin_user):
    """Dunwell out of shadow mode: every action waits for a person's approval."""
    return guardrails_update(changes={"default_mode": "approve"}, user=admin_user, note="live")


@pytest.fixture
def renewal(sandbox, live):
    """Ana's renewal invoice: the first charge was declined; the next one will succeed."""
    invoice = failed_renewal(sandbox)
    return mirror_from_sandbox(sandbox, invoice["id"])


def propose(
    invoice: Invoice,
    kind: str,
    *,
    at=None,
    mode: str = "approve",
    params: dict | None = None,
    segment: str = "self_serve",
    risk: str = "low",
    reasoning: str = "Tuesday after payday: 62% predicted success.",
) -> Action:
    """A decision about ``invoice`` proposing one action, as the decision service records it."""
    decision = Decision.objects.create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        trigger="payment_failed",
        as_of=timezone.now(),
        model_version="retry v1",
        segment=segment,
        mode=mode,
        reasoning=reasoning,
        features={"gateway": "stripe"},
    )
    return Action.objects.create(
        decision=decision,
        invoice=invoice,
        customer_id=invoice.customer_id,
        kind=kind,
        scheduled_for=at or timezone.now(),
        params=params or {},
        reasoning=reasoning,
        mode=mode,
        risk=risk,
        needs_approval=mode != "auto",
    )


@pytest.fixture
def approve(django_capture_on_commit_callbacks):
    def approve(action: Action, user) -> Action:
        with django_capture_on_commit_callbacks(execute=True):  # the run is enqueued on commit
            return action_approve(action=action, user=user, fingerprint=action_fingerprint(action))

    return approve


@pytest.fixture
def work(django_capture_on_commit_callbacks):
    """Run the queues to empty with a real RQ worker; ``scheduler``: move due scheduled jobs."""

    def work(*, scheduler: bool = False) -> None:
        queues = [get_queue(name) for name in QUEUE_NAMES]
        for _ in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                SimpleWorker(queues, connection=redis_connection()).work(
                    burst=True, with_scheduler=scheduler
                )
            if not sum(q.count for q in queues):
                return

    return work


def time_passes(action: Action, *, by: timedelta) -> None:
    """Move the clock of one action forward: its postponement and claim lie ``by`` earlier."""
    row = Action.objects.get(pk=action.pk)
    Action.objects.filter(pk=action.pk).update(
        next_attempt_at=row.next_attempt_at - by if row.next_attempt_at else None,
        claimed_at=row.claimed_at - by if row.claimed_at else None,
    )


def charges_on(sandbox, invoice_id: str) -> list[dict]:
    """Card charges Chargebee made on the invoice after the first, failed renewal charge."""
    return [
        t
        for t in sandbox.transactions.values()
        if t["linked_invoices"][0]["invoice_id"] == invoice_id and t.get("payment_source_id")
    ][1:]
