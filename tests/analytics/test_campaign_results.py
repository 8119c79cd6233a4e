"""A campaign's results on known data: failures at renewal, treated against the hold-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.at_risk.measurement import campaign_results, wald_interval
from analytics.models import CampaignMember, PreDunningCampaign
from dunning.models import ChargebeeEvent, Customer, Invoice, InvoiceFailure, Subscription

pytestmark = pytest.mark.django_db


def member(
    campaign,
    n: int,
    *,
    group: str,
    renewed_days_ago: float | None,
    failed=False,
    card_updated_days_ago: float | None = None,
) -> None:
    now = timezone.now()
    renewal_at = now - timedelta(days=renewed_days_ago if renewed_days_ago else -10)
    customer = Customer.objects.create(cb_id=f"cus_m{n}", resource_version=1)
    Subscription.objects.create(cb_id=f"sub_m{n}", customer=customer, resource_version=1)
    CampaignMember.objects.create(
        campaign=campaign,
        customer_cb_id=customer.cb_id,
        subscription_cb_id=f"sub_m{n}",
        renewal_at=renewal_at,
        score=0.6,
        group=group,
    )
    # The invoice before the campaign does not count as the renewal.
    Invoice.objects.create(
        cb_id=f"inv_m{n}_old",
        customer=customer,
        subscription_id=f"sub_m{n}",
        date=renewal_at - timedelta(days=40),
        status="paid",
        resource_version=1,
    )
    if renewed_days_ago is not None:
        Invoice.objects.create(
            cb_id=f"inv_m{n}",
            customer=customer,
            subscription_id=f"sub_m{n}",
            date=renewal_at + timedelta(minutes=5),
            resource_version=1,
            recurring=True,
            status="payment_due" if failed else "paid",
        )
        if failed:
            InvoiceFailure.objects.create(
                invoice_cb_id=f"inv_m{n}",
                customer_cb_id=customer.cb_id,
                first_failure_cb_id="t",
                first_failed_at=renewal_at + timedelta(minutes=5),
                refreshed_at=now,
            )
    if card_updated_days_ago is not None:
        ChargebeeEvent.objects.create(
            event_id=f"ev_m{n}",
            event_type="payment_source_updated",
            occurred_at=now - timedelta(days=card_updated_days_ago),
            payload={"content": {"customer": {"id": customer.cb_id}}},
        )


def test_failures_avoided_is_the_rate_difference_times_treated_renewals(manager):
    campaign = PreDunningCampaign.objects.create(
        name="c", salt="s", renewing_within_days=30, score_source="rules", created_by=manager
    )
    PreDunningCampaign.objects.filter(pk=campaign.pk).update(
        created_at=timezone.now() - timedelta(days=20)
    )
    campaign.refresh_from_db()
    n = iter(range(100))
    for i in range(10):  # treated: 2 of 10 failed, 4 updated their card before renewing
        member(
            campaign,
            next(n),
            group="treated",
            renewed_days_ago=5,
            failed=i < 2,
            card_updated_days_ago=10 if i < 4 else None,
        )
    for i in range(10):  # hold-out: 5 of 10 failed, 1 updated the card
        member(
            campaign,
            next(n),
            group="holdout",
            renewed_days_ago=5,
            failed=i < 5,
            card_updated_days_ago=10 if i < 1 else None,
        )
    # Not renewed yet: counted as waiting, not in the rates.
    member(campaign, next(n), group="treated", renewed_days_ago=None)
    member(campaign, next(n), group="holdout", renewed_days_ago=None)
    # A card update before the launch is not the campaign's doing.
    member(campaign, next(n), group="treated", renewed_days_ago=5, card_updated_days_ago=25)

    results = campaign_results(campaign=campaign)

    t, h = results.treated, results.holdout
    assert (t.members, t.renewed, t.failed, t.card_updates) == (12, 11, 2, 4)
    assert (h.members, h.renewed, h.failed, h.card_updates) == (11, 10, 5, 1)
    assert results.waiting == 2
    assert results.difference == pytest.approx(0.5 - 2 / 11)
    assert results.avoided == pytest.approx((0.5 - 2 / 11) * 11)
    se = ((2 / 11) * (9 / 11) / 11 + 0.25 / 10) ** 0.5
    assert results.low == pytest.approx(0.5 - 2 / 11 - 1.96 * se)
    assert results.avoided_high == pytest.approx((0.5 - 2 / 11 + 1.96 * se) * 11)


def test_no_interval_until_both_groups_have_renewals():
    assert wald_interval(failed_t=1, n_t=10, failed_h=0, n_h=0) == (None, None, None)
    diff, low, high = wald_interval(failed_t=2, n_t=10, failed_h=5, n_h=10)
    assert diff == pytest.approx(0.3)
    assert (low, high) == pytest.approx((0.3 - 1.96 * 0.041**0.5, 0.3 + 1.96 * 0.041**0.5))
