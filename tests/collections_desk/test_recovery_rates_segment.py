"""A case's segment rate groups settled failures by their invoice's latest decision (read
from the invoice's pointer): the same rates as the correlated lookup it replaced."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from collections_desk.recovery_rates import (
    LOOKBACK,
    SETTLED_AFTER,
    _rates,
    recovery_rates_compute,
)
from dunning.decisions.latest import decision_create
from dunning.models import Decision, InvoiceFailure
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db


def test_segment_rates_are_those_of_each_invoices_latest_decision():
    rng = random.Random(7)
    now = timezone.now()
    for n in range(1, 61):
        failed_at = days_ago(rng.uniform(40, 200))
        paid = timedelta(days=3) if rng.random() < 0.4 else None
        invoice = failed_invoice(
            n, failed_at=failed_at, paid_after=paid, ended="" if paid else "not_paid"
        )
        for _ in range(rng.randrange(0, 4)):  # in any order of moments, some tied
            decision_create(
                invoice=invoice,
                customer_id=invoice.customer_id,
                trigger=Decision.Trigger.PAYMENT_FAILED,
                as_of=failed_at + timedelta(hours=rng.choice((1, 5, 5, 9))),
                model_version="recovery v1",
                segment=rng.choice(("self_serve", "growth")),
                mode="shadow",
                reasoning="test",
            )
    settled = InvoiceFailure.objects.filter(
        first_failed_at__lt=now - SETTLED_AFTER, first_failed_at__gte=now - LOOKBACK
    )
    latest = Decision.objects.filter(invoice_id=OuterRef("invoice_cb_id")).order_by("-as_of", "-id")
    by_lookup = _rates(settled.annotate(segment=Subquery(latest.values("segment")[:1])), "segment")

    rates = recovery_rates_compute(now=now).by_segment

    assert rates and rates == by_lookup
