"""A shadow period over history: decisions as of each first failure, compared afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.shadow import shadow_by_segment
from dunning.models import Decision
from dunning.pipeline.shadow_replay import shadow_period_replay
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db


def test_replay_decides_in_shadow_as_of_each_first_failure_once():
    paid = failed_invoice(1, failed_at=days_ago(40), paid_after=timedelta(days=2))
    failed_invoice(2, failed_at=days_ago(35), ended="not_paid", retries_failed=2)
    failed_invoice(3, failed_at=days_ago(5))  # its window has not passed: not replayed

    decided = shadow_period_replay(since=days_ago(60), until=days_ago(28))
    again = shadow_period_replay(since=days_ago(60), until=days_ago(28))

    assert (decided, again) == (2, 0)
    decision = Decision.objects.get(invoice_id=paid.cb_id)
    assert (
        decision.mode == "shadow"
        and decision.as_of == paid.transactions.get(cb_id="txn_1_first").date
    )
    assert not decision.actions.exclude(state="proposed").exists()  # never run
    figures = shadow_by_segment(since=days_ago(90), until=timezone.now())[""]
    assert (figures.invoices, figures.settled, figures.recovered) == (2, 2, 1)
    assert figures.chargebee_attempts == 3  # invoice 1's payment, invoice 2's two retries
