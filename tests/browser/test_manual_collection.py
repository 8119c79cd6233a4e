"""In a real browser: an agent collects part of an invoice now from the invoice page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import Action
from tests.conftest import failed_renewal
from tests.dunning.actions.execution.conftest import mirror_from_sandbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_collects_part_now_and_sees_the_result_on_the_invoice(
    page, live_server, log_in, agent, sandbox, run_jobs, screenshot
):
    guardrails_active()  # a transactional test flushed the migration's first version
    invoice = mirror_from_sandbox(sandbox, failed_renewal(sandbox)["id"])
    log_in("alice.agent")
    page.goto(f"{live_server.url}/dunning/invoices/{invoice.cb_id}/decisions/")

    form = page.locator("#collect-collect_now")
    expect(form.locator("input[name=amount]")).to_have_value("49.00")
    form.locator("input[name=amount]").fill("80")
    form.locator("button").click()
    expect(page.locator("#collect .form-errors")).to_contain_text("more than the 49.00 USD due")
    page.locator("#collect-collect_now input[name=amount]").fill("20.00")
    page.locator("#collect-collect_now button").click()
    expect(page.locator("#collect .messages")).to_contain_text("approved and on its way")
    run_jobs()

    page.reload()
    expect(page.locator("table.actions")).to_contain_text("invoice payment_due")
    screenshot("manual-collect-now")
    assert Action.objects.get().result["amount"] == 2000
    assert sandbox.invoices[invoice.cb_id]["amount_due"] == 2900
