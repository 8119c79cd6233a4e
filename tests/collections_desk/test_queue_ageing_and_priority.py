"""The queue's honest priority, Chargebee's exhausted dunning, ageing buckets, and the case
page's contact details and links into Chargebee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collections_desk.cases import cases_refresh
from collections_desk.models import Case
from dunning.decisions.enrichment import mirror_store
from dunning.models import Customer, Invoice, InvoiceFailure
from tests.collections_desk.conftest import case_for

pytestmark = pytest.mark.django_db


def settled_failures(n: int, *, recovered: int, category: str = "soft_decline") -> None:
    """``n`` invoices that failed two months ago, ``recovered`` of them paid since."""
    at = timezone.now() - timedelta(days=60)
    InvoiceFailure.objects.bulk_create(
        InvoiceFailure(
            invoice_cb_id=f"old_{category}_{i}",
            first_failure_cb_id=f"t{i}",
            first_failed_at=at,
            decline_category=category,
            amount=1000,
            is_recovered=i < recovered,
            refreshed_at=at,
        )
        for i in range(n)
    )


def test_a_case_without_a_score_and_without_history_expects_no_recovery(
    client, general_case, agent
):
    client.force_login(agent)
    general_case.refresh_from_db()

    assert general_case.recovery_score is None
    assert (general_case.recovery_rate, general_case.expected_recovery) == (None, 0)
    page = client.get(f"/collections/cases/{general_case.pk}/").content.decode()
    assert "no model score and too little history: no recovery is assumed" in page


def test_without_a_score_the_decline_categorys_history_is_used_and_labelled(
    client, general_case, agent
):
    settled_failures(25, recovered=10)  # 40% of past soft declines were recovered

    cases_refresh()

    case = Case.objects.get(pk=general_case.pk)
    assert (case.recovery_rate, case.recovery_basis) == (0.4, "decline_history")
    assert case.expected_recovery == 1960  # 40% of 49.00
    client.force_login(agent)
    page = client.get(f"/collections/cases/{case.pk}/").content.decode()
    assert "no model score: the recovery rate of past invoices with a soft decline over 25" in page
    queue = client.get("/collections/").content.decode()
    assert "40%" in queue and "history" in queue


def test_too_few_past_invoices_give_no_rate(general_case):
    settled_failures(5, recovered=5)

    cases_refresh()

    assert Case.objects.get(pk=general_case.pk).recovery_rate is None


def test_invoices_chargebee_gave_up_on_are_marked_and_filterable(client, general_case, agent):
    other = case_for(3)
    Invoice.objects.filter(cb_id="inv_1").update(status="not_paid", dunning_status="exhausted")
    client.force_login(agent)

    gave_up = client.get("/collections/", {"chargebee": "gave_up"}).content.decode()
    retrying = client.get("/collections/", {"chargebee": "retrying"}).content.decode()

    assert f"/collections/cases/{general_case.pk}/" in gave_up
    assert "Chargebee gave up" in gave_up
    assert f"/collections/cases/{other.pk}/" not in gave_up
    assert f"/collections/cases/{other.pk}/" in retrying
    assert f"/collections/cases/{general_case.pk}/" not in retrying


def test_ageing_buckets_count_the_queue_and_filter_it(client, general_case, agent):
    older = case_for(3)
    now = timezone.now()
    Invoice.objects.filter(cb_id="inv_1").update(due_date=now - timedelta(days=10))
    Invoice.objects.filter(cb_id="inv_3").update(due_date=now - timedelta(days=45))
    cases_refresh()
    client.force_login(agent)

    queue = client.get("/collections/").content.decode()
    middle = client.get("/collections/", {"age": "31_60"}).content.decode()
    overview = client.get("/").content.decode()

    assert 'data-bucket="0_30">0-30 days <strong>1</strong>' in queue
    assert 'data-bucket="31_60">31-60 days <strong>1</strong>' in queue
    assert f"/collections/cases/{older.pk}/" in middle
    assert f"/collections/cases/{general_case.pk}/" not in middle
    assert "45 days" in middle
    assert overview.count('<p class="figure">1</p>') >= 2  # 0-30 and 31-60 on the overview


def test_the_case_page_shows_contact_details_and_links_into_chargebee(
    client, general_case, agent, settings
):
    settings.CHARGEBEE_SITE = "acme"
    Customer.objects.filter(cb_id="cus_1").update(
        email="ana@lima.test",
        phone="+49 30 1234567",
        billing_address={"line1": "Hauptstr. 5", "zip": "10115", "city": "Berlin", "country": "DE"},
    )
    client.force_login(agent)

    page = client.get(f"/collections/cases/{general_case.pk}/").content.decode()

    assert "ana@lima.test" in page and "+49 30 1234567" in page
    assert "Hauptstr. 5<br>10115 Berlin<br>DE" in page
    assert 'href="https://acme.chargebee.com/d/customers/cus_1"' in page
    assert 'href="https://acme.chargebee.com/d/invoices/inv_1"' in page


def test_another_teams_agent_never_sees_the_customers_contact_details(
    client, general_case, other_agent
):
    Customer.objects.filter(cb_id="cus_1").update(email="ana@lima.test")
    client.force_login(other_agent)

    assert client.get(f"/collections/cases/{general_case.pk}/").status_code == 404
    assert "ana@lima.test" not in client.get("/collections/").content.decode()


def test_the_mirror_keeps_the_customers_phone_and_billing_address(db):
    mirror_store(
        key="customer",
        obj={
            "id": "cus_9",
            "first_name": "Ivo",
            "email": "ivo@x.test",
            "phone": "+351 21 000",
            "resource_version": 5,
            "updated_at": 1764000000,
            "object": "customer",
            "billing_address": {
                "line1": "Rua A 1",
                "city": "Lisboa",
                "country": "PT",
                "object": "billing_address",
                "validation_status": "valid",
            },
        },
    )

    customer = Customer.objects.get(cb_id="cus_9")
    assert customer.phone == "+351 21 000"
    assert customer.billing_address == {"line1": "Rua A 1", "city": "Lisboa", "country": "PT"}
