"""Reading declines and attempt history from the mirror; spotting gateway outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dunning.decisions.rules.declines import card_attempts, decline_of
from dunning.decisions.rules.network_rules import Verdict, network_rules
from dunning.decisions.rules.outages import MIN_FAILURES, gateway_health
from dunning.models import Customer, PaymentSource, Transaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def card():
    customer = Customer.objects.create(cb_id="cus_1", resource_version=1)
    return PaymentSource.objects.create(
        cb_id="pm_1", customer=customer, card_brand="mastercard", resource_version=1
    )


def txn(
    n, *, at, status="failure", gateway="stripe", category="soft_decline", source="pm_1", **fields
):
    return Transaction.objects.create(
        cb_id=f"txn_{n}",
        customer_id="cus_1",
        type="payment",
        status=status,
        date=at,
        gateway=gateway,
        error_category=category if status == "failure" else "",
        payment_source_cb_id=source,
        resource_version=1,
        **fields,
    )


def test_a_mastercard_decline_is_read_with_its_advice_code(card):
    failed = txn(1, at=NOW, decline_code="51", processor_advice_code="24")

    decline = decline_of(transaction=failed)
    result = network_rules(decline=decline, failed_at=NOW, attempts=[])

    assert (decline.brand, decline.decline_code, decline.advice_code) == ("mastercard", "51", "24")
    assert result.earliest == NOW + timedelta(hours=1)


def test_chargebee_error_cause_in_the_mirrored_error_detail_stops_retries_on_any_brand(card):
    failed = txn(
        1,
        at=NOW,
        decline_code="05",
        recommendation_code="",
        error_detail={"decline_code": "05", "error_cause_id": "gateway.fraud.account_fraud"},
    )

    decline = decline_of(transaction=failed)
    result = network_rules(decline=decline, failed_at=NOW, attempts=[])

    assert decline.error_cause_id == "gateway.fraud.account_fraud"
    assert result.verdict == Verdict.NEVER


def test_a_stolen_mastercard_is_never_retried_once_read_from_the_mirror(card):
    failed = txn(1, at=NOW, decline_code="43", processor_advice_code="")

    result = network_rules(decline=decline_of(transaction=failed), failed_at=NOW, attempts=[])

    assert result.verdict == Verdict.NEVER
    assert result.fired == ["the card was reported stolen (decline 43)"]


def test_attempts_count_only_this_cards_declines_of_the_last_30_days(card):
    txn(1, at=NOW - timedelta(days=2))
    txn(2, at=NOW - timedelta(days=40))  # too old
    txn(3, at=NOW - timedelta(days=1), status="success")  # not a decline
    txn(4, at=NOW - timedelta(days=1), source="pm_other")  # another card
    current = txn(5, at=NOW)

    assert card_attempts(transaction=current, before=NOW) == [NOW - timedelta(days=2)]


def test_ten_mastercard_declines_in_a_day_push_the_next_retry_out(card):
    for i in range(9):
        txn(i, at=NOW - timedelta(hours=i + 1), decline_code="51")
    current = txn(99, at=NOW, decline_code="51")

    result = network_rules(
        decline=decline_of(transaction=current),
        failed_at=NOW,
        attempts=card_attempts(transaction=current, before=NOW),
    )

    assert result.verdict == Verdict.RETRY
    assert result.earliest > NOW + timedelta(hours=14)


def test_a_burst_of_gateway_failures_marks_the_gateway_down(card):
    for i in range(MIN_FAILURES):
        txn(i, at=NOW - timedelta(minutes=i), category="gateway_error")
    txn(50, at=NOW - timedelta(minutes=3), status="success")

    health = gateway_health(gateway="stripe", at=NOW)

    assert health.down
    assert f"{MIN_FAILURES} of {MIN_FAILURES + 1} attempts" in health.reason
    assert not gateway_health(gateway="adyen", at=NOW).down


def test_many_issuer_declines_are_not_an_outage(card):
    for i in range(20):
        txn(i, at=NOW - timedelta(minutes=i), category="soft_decline")
    assert not gateway_health(gateway="stripe", at=NOW).down


def test_a_gateway_that_mostly_works_is_not_down(card):
    for i in range(MIN_FAILURES):
        txn(i, at=NOW - timedelta(minutes=i), category="gateway_error")
    for i in range(20):
        txn(100 + i, at=NOW - timedelta(minutes=i), status="success")
    assert not gateway_health(gateway="stripe", at=NOW).down


def test_outage_judgement_uses_only_the_past_so_a_replay_agrees(card):
    for i in range(MIN_FAILURES):
        txn(i, at=NOW + timedelta(minutes=i), category="gateway_error")  # after the moment judged
    assert not gateway_health(gateway="stripe", at=NOW).down
