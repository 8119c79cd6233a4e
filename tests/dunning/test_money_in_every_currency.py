"""Money in every currency: as many digits as ISO 4217 gives it, in forms and on pages; and
one reporting-currency headline at a versioned rate table, the currencies kept beside it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_desk.manual_collection_views import CollectNowForm, RecordPaymentForm
from dunning.helpers.money import amount_text, minor_units
from dunning.models import Customer, Invoice

pytestmark = pytest.mark.django_db


def invoice_in(currency: str, amount_due: int, *, cb_id: str = "inv_1") -> Invoice:
    Customer.objects.get_or_create(cb_id="cus_1", defaults={"resource_version": 1})
    return Invoice.objects.create(
        cb_id=cb_id,
        customer_id="cus_1",
        status="payment_due",
        dunning_status="in_progress",
        currency_code=currency,
        amount_due=amount_due,
        resource_version=1,
    )


def test_a_yen_invoice_prefills_whole_yen_in_collect_now_and_offline_payment():
    invoice = invoice_in("JPY", 22_000)

    collect = CollectNowForm(invoice=invoice)
    offline = RecordPaymentForm(invoice=invoice)

    assert str(collect["amount"].value()) == "22000"
    assert str(offline["amount"].value()) == "22000"
    assert 'step="1"' in str(collect["amount"])


def test_a_typed_yen_amount_is_charged_as_yen_not_hundredths():
    invoice = invoice_in("JPY", 22_000)

    form = CollectNowForm({"amount": "22000"}, invoice=invoice)

    assert form.is_valid(), form.errors
    assert minor_units(form.cleaned_data["amount"], "JPY") == 22_000


def test_half_a_yen_is_refused_with_the_reason():
    form = CollectNowForm({"amount": "100.5"}, invoice=invoice_in("JPY", 22_000))

    assert not form.is_valid()
    assert "amount" in form.errors


def test_three_decimal_currencies_keep_their_third_digit():
    invoice = invoice_in("KWD", 12_345)

    assert str(CollectNowForm(invoice=invoice)["amount"].value()) == "12.345"
    assert amount_text(12_345, "KWD") == "12.345"
    assert amount_text(22_000, "JPY") == "22,000"
    assert amount_text(123_456, "EUR") == "1,234.56"


def test_the_case_payment_form_prefills_and_checks_by_the_invoice_currency(agent):
    from collections_desk.models import Case
    from collections_desk.payment_views import CaseRecordPaymentForm

    invoice = invoice_in("JPY", 22_000)
    case = Case.objects.create(
        customer_id="cus_1", opened_at=timezone.now(), sla_due_at=timezone.now()
    )
    case.invoices.add(invoice)

    shown = CaseRecordPaymentForm(case=case)
    assert str(shown["amount"].value()) == "22000"
    assert "22,000 JPY due" in str(shown["invoice"])
    half = CaseRecordPaymentForm(
        {"invoice": "inv_1", "amount": "1.5", "paid_on": "2026-01-02", "method": "bank_transfer"},
        case=case,
    )
    assert not half.is_valid() and "whole amount" in str(half.errors["amount"])


def save_rates(client, text: str, *, note: str = "month-end rates", currency: str = "EUR"):
    from dunning.governance.config_versions import config_active
    from dunning.governance.exchange_rates import EXCHANGE_RATES

    active = config_active(kind=EXCHANGE_RATES)
    return client.post(
        reverse("dunning:exchange_rates"),
        {
            "reporting_currency": currency,
            "rates": text,
            "note": note,
            "based_on": active.version if active else 0,
        },
    )


def test_the_overview_adds_every_currency_up_at_the_saved_rates(client, admin_user):
    invoice_in("USD", 10_000, cb_id="inv_usd")
    invoice_in("JPY", 22_000, cb_id="inv_jpy")
    invoice_in("EUR", 5_050, cb_id="inv_eur")
    client.force_login(admin_user)

    response = save_rates(client, "USD 0.90\nJPY 0.006")
    assert response.status_code == 302
    body = client.get(reverse("home")).content.decode()

    # 100 USD x 0.90 + 22,000 JPY x 0.006 + 50.50 EUR = 90 + 132 + 50.50
    assert "EUR 272.50" in body and "rates v1" in body
    assert "USD 100.00" in body and "JPY 22,000" in body and "EUR 50.50" in body


def test_a_currency_without_a_rate_is_named_not_counted(client, admin_user):
    invoice_in("EUR", 1_000, cb_id="inv_eur")
    invoice_in("GBP", 2_000, cb_id="inv_gbp")
    client.force_login(admin_user)

    body = client.get(reverse("home")).content.decode()

    assert "EUR 10.00" in body and "not counted (no rate): GBP" in body


def test_rates_are_versioned_with_a_reason_and_roll_back(client, admin_user):
    from dunning.governance.config_versions import config_current
    from dunning.governance.exchange_rates import EXCHANGE_RATES

    client.force_login(admin_user)
    assert save_rates(client, "USD 0.90").status_code == 302
    assert save_rates(client, "USD 0.95", note="").status_code == 400  # no reason, not saved
    assert save_rates(client, "USD 0.95").status_code == 302
    assert config_current(kind=EXCHANGE_RATES)["rates"] == {"USD": "0.95"}

    page = client.get(reverse("dunning:exchange_rates")).content.decode()
    assert "v2" in page and "month-end rates" in page
    history = client.get(reverse("dunning:settings_history")).content.decode()
    assert "Exchange rates" in history


def test_an_unreadable_rate_is_refused_with_the_line(client, admin_user):
    client.force_login(admin_user)

    response = save_rates(client, "USD zero\nJPY")

    assert response.status_code == 400
    assert "line 2" in response.content.decode()
    assert "rate for USD must be a number" in response.content.decode()


def test_a_manager_reads_the_rates_but_cannot_change_them(client, manager):
    client.force_login(manager)

    assert client.get(reverse("dunning:exchange_rates")).status_code == 200
    assert save_rates(client, "USD 0.90").status_code == 403


def test_the_reporting_total_rounds_to_the_reporting_currency():
    from dunning.governance.config_versions import config_update
    from dunning.governance.exchange_rates import EXCHANGE_RATES, reporting_total
    from tests.factories import UserFactory

    admin = UserFactory(role="admin")
    config_update(
        kind=EXCHANGE_RATES,
        data={"reporting_currency": "JPY", "rates": {"EUR": "160.123"}},
        user=admin,
        note="yen books",
    )

    total = reporting_total(amounts={"EUR": 1_001, "JPY": 5})

    assert total.amount == Decimal("1608") and total.currency == "JPY" and total.version == 1


def test_the_recovery_page_shows_yen_in_whole_yen(client, manager):
    invoice_in("JPY", 22_000, cb_id="inv_jpy")
    client.force_login(manager)

    body = client.get(reverse("analytics:recovery"), {"currency": "JPY"}).content.decode()

    assert "JPY 22,000<" in body and "22,000.00" not in body
