"""In a real browser: an agent finds an offline payer in the queue, records the bank
transfer on the case page, and the case shows resolved once the worker has run it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from collections_desk.models import Case
from collections_desk.teams import team_create, team_member_add
from dunning.decisions.enrichment import mirror_store
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import Action, ActionKind, ActionState, Decision
from dunning.pipeline.decide import decision_make
from sandbox.offline import (
    offline_customer_create,
    offline_invoice_create,
    offline_subscription_create,
)
from tests.browser.navigation import open_from_nav
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def olga(sandbox):
    """Olga pays by transfer; her invoice is due and its reminders wait for approval."""
    guardrails_active()  # a transactional test flushed the migration's first version
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="a person approves")
    team_member_add(
        team=team_create(name="Self-serve & growth"),
        user=UserFactory(username="alice.agent", role="collections agent"),
    )
    customer = offline_customer_create(
        sandbox, first_name="Olga", last_name="Berg", email="olga@berg.test"
    )
    subscription = offline_subscription_create(
        sandbox, customer_id=customer["id"], plan_id="business-USD-monthly", unit_price=29_900
    )
    invoice = offline_invoice_create(sandbox, subscription_id=subscription["id"])
    mirror_store(key="customer", obj=sandbox.customers[customer["id"]])
    mirror_store(key="subscription", obj=sandbox.subscriptions[subscription["id"]])
    mirror_store(key="invoice", obj=sandbox.invoices[invoice["id"]])
    decision_make(
        invoice_id=invoice["id"], trigger=Decision.Trigger.DUNNING_STARTED, at=timezone.now()
    )
    return Case.objects.get(customer_id=customer["id"]), invoice


def test_agent_records_an_offline_payment_and_the_case_resolves(
    page, live_server, log_in, olga, sandbox, run_jobs, screenshot
):
    _case, invoice = olga
    log_in("alice.agent")

    open_from_nav(page, "Queue")
    page.select_option("select[name=collection]", "offline")
    page.locator("form.filters button").click()
    row = page.locator("tr", has_text="Olga Berg")
    expect(row.locator(".badge.offline")).to_be_visible()
    row.locator("a", has_text="Olga Berg").click()
    expect(page.locator("#case-state")).not_to_have_text("Resolved")
    form = page.locator("#record-payment form")
    expect(form.locator("input[name=amount]")).to_have_value("299.00")
    form.locator("select[name=method]").select_option("bank_transfer")
    form.locator("input[name=reference]").fill("SEPA-2291")
    screenshot("offline-record-payment")
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("approved and on its way")
    for _ in range(3):  # the executor, then the settle job it enqueued on commit
        run_jobs()

    page.reload()
    expect(page.locator("#case-state")).to_have_text("Resolved")
    expect(page.locator("#record-payment")).to_have_count(0)
    screenshot("offline-case-resolved")
    assert sandbox.invoices[invoice["id"]]["status"] == "paid"
    recorded = Action.objects.get(kind=ActionKind.RECORD_PAYMENT)
    assert recorded.state == ActionState.EXECUTED
    assert not Action.objects.filter(
        invoice_id=invoice["id"], state=ActionState.PROPOSED, params__has_key="offline_step"
    ).exists()
