"""The invoice's latest-decision pointers are the decision the ORM lists first (latest
``as_of``, then highest id), whatever order decisions are recorded in."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from dunning.decisions.latest import decision_create, invoices_latest_decision_refresh
from dunning.models import Decision, Invoice
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db


def _decide(invoice: Invoice, *, hours_ago: float, score: float | None, segment: str):
    return decision_create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        trigger=Decision.Trigger.PAYMENT_FAILED,
        as_of=timezone.now().replace(microsecond=0) - timedelta(hours=hours_ago),
        recovery_score=score,
        model_version="recovery v1",
        segment=segment,
        mode="shadow",
        reasoning="test",
    )


def _expected(invoice: Invoice) -> tuple[int | None, int | None]:
    decisions = Decision.objects.filter(invoice=invoice).order_by("-as_of", "-id")
    latest = decisions.first()
    scored = decisions.filter(recovery_score__isnull=False).first()
    return (latest.pk if latest else None, scored.pk if scored else None)


def _pointers(invoice: Invoice) -> tuple[int | None, int | None]:
    return tuple(
        Invoice.objects.filter(pk=invoice.pk).values_list(
            "latest_decision_id", "latest_scored_decision_id"
        )[0]
    )


# (hours before now, score): a tie at 5 h, an unscored decision, and one about the earliest
# moment; every order of recording them is tried.
DECISIONS = [(5, 0.4), (5, None), (2, None), (9, 0.7)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(DECISIONS)))))
def test_the_pointers_are_the_latest_decisions_in_any_recording_order(order):
    invoice = failed_invoice(1, failed_at=days_ago(2))
    for step, index in enumerate(order):
        hours, score = DECISIONS[index]
        _decide(invoice, hours_ago=hours, score=score, segment=f"s{index}")
        assert _pointers(invoice) == _expected(invoice), f"after {step + 1} of {order}"


def test_an_earlier_moment_recorded_later_is_not_the_latest():
    invoice = failed_invoice(1, failed_at=days_ago(2))
    later = _decide(invoice, hours_ago=1, score=0.3, segment="growth")
    _decide(invoice, hours_ago=20, score=0.9, segment="self_serve")  # a replay, say

    assert _pointers(invoice) == (later.pk, later.pk)


def test_the_refresh_of_every_invoice_fills_what_bulk_inserts_left_empty():
    invoices = [failed_invoice(n, failed_at=days_ago(3)) for n in range(1, 4)]
    for n, invoice in enumerate(invoices):
        for hours, score in DECISIONS[: n + 2]:
            _decide(invoice, hours_ago=hours, score=score, segment="growth")
    expected = [_expected(invoice) for invoice in invoices]
    Invoice.objects.update(latest_decision=None, latest_scored_decision=None)

    assert invoices_latest_decision_refresh() == len(invoices)
    assert [_pointers(invoice) for invoice in invoices] == expected


def test_a_deleted_latest_decision_leaves_no_dangling_pointer():
    invoice = failed_invoice(1, failed_at=days_ago(2))
    decision = _decide(invoice, hours_ago=1, score=0.3, segment="growth")
    decision.delete()

    assert _pointers(invoice) == (None, None)
