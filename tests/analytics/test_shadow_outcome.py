"""Each decision's outcome is read from its invoice's failure summary once: the same
outcomes as the correlated subquery it replaced, on a seeded history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from django.db.models import DateTimeField, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
from django.utils import timezone

from analytics.calibration import calibration_buckets
from analytics.shadow import shadow_by_segment, with_outcome
from dunning.models import Customer, Decision, Invoice, InvoiceFailure
from tests.analytics.mirror import failed_invoice

pytestmark = pytest.mark.django_db

WINDOW_DAYS = 28
ENDINGS = ("", "write_off", "void", "not_paid")


def _seeded_decisions(now: datetime) -> None:
    """Failures recovered within, after or before the window of their decisions, written
    off, voided or still open; decisions at different moments, some in approve mode; and
    decisions about an invoice with no failure summary at all."""
    rng = random.Random(36)
    for n in range(1, 41):
        failed_at = now - timedelta(days=rng.uniform(1, 80))
        paid = rng.random() < 0.5
        invoice = failed_invoice(
            n,
            failed_at=failed_at,
            paid_after=timedelta(days=rng.uniform(0.2, 40)) if paid else None,
            ended="" if paid else rng.choice(ENDINGS),
        )
        for _ in range(rng.randrange(1, 4)):
            as_of = failed_at + timedelta(days=rng.uniform(-1, 30))
            _decide(invoice, as_of=min(as_of, now - timedelta(hours=1)), rng=rng)
    customer = Customer.objects.create(cb_id="cus_nofailure", resource_version=1)
    never_failed = Invoice.objects.create(
        cb_id="inv_nofailure", customer=customer, status="payment_due", resource_version=1
    )
    _decide(never_failed, as_of=now - timedelta(days=2), rng=rng)
    _decide(never_failed, as_of=now - timedelta(days=50), rng=rng)
    assert not InvoiceFailure.objects.filter(invoice_cb_id="inv_nofailure").exists()


def _decide(invoice: Invoice, *, as_of: datetime, rng: random.Random) -> Decision:
    return Decision.objects.create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        trigger=Decision.Trigger.PAYMENT_FAILED,
        as_of=as_of,
        recovery_score=None if rng.random() < 0.2 else round(rng.random(), 3),
        model_version="recovery v1",
        segment=rng.choice(("self_serve", "growth")),
        mode=rng.choice(("shadow", "shadow", "approve")),
        reasoning="test",
    )


def _with_outcome_by_subquery(*, now: datetime):
    """The replaced annotation: the summary's ``paid_at`` by a correlated subquery."""
    window = timedelta(days=WINDOW_DAYS)
    paid_at = InvoiceFailure.objects.filter(
        invoice_cb_id=OuterRef("invoice_id"), is_recovered=True
    ).values("paid_at")[:1]
    return (
        Decision.objects.annotate(
            window_end=ExpressionWrapper(F("as_of") + Value(window), output_field=DateTimeField()),
            paid_at=Subquery(paid_at, output_field=DateTimeField()),
        )
        .annotate(recovered_flag=Q(paid_at__gte=F("as_of"), paid_at__lt=F("window_end")))
        .annotate(settled_flag=Q(recovered_flag=True) | Q(window_end__lte=Value(now)))
    )


OUTCOME = ("pk", "window_end", "paid_at", "recovered_flag", "settled_flag")


def test_every_decision_has_the_outcome_the_subquery_gave():
    now = timezone.now()
    _seeded_decisions(now)

    joined = with_outcome(Decision.objects.all(), window_days=WINDOW_DAYS, now=now)
    by_subquery = _with_outcome_by_subquery(now=now)

    rows = list(joined.order_by("pk").values_list(*OUTCOME))
    assert rows == list(by_subquery.order_by("pk").values_list(*OUTCOME))
    assert len(rows) == Decision.objects.count()  # a decision without a summary stays
    # Both outcomes occur (and null flags, where nothing was paid: the SQL's unknown).
    assert {True, False} <= {r[3] for r in rows} and {True, False} <= {r[4] for r in rows}


def test_the_shadow_comparison_and_calibration_count_the_same_outcomes():
    now = timezone.now()
    _seeded_decisions(now)
    since, until = now - timedelta(days=120), now

    by_segment = shadow_by_segment(since=since, until=until, window_days=WINDOW_DAYS, now=now)
    buckets = calibration_buckets(since=since, until=until, window_days=WINDOW_DAYS, now=now)

    # Counted by hand from the subquery's outcomes: the first shadow decision per invoice.
    outcomes = {
        r["pk"]: r for r in _with_outcome_by_subquery(now=now).values(*OUTCOME, "invoice_id")
    }
    first_shadow: dict[str, Decision] = {}
    for decision in Decision.objects.filter(mode="shadow").order_by("as_of", "pk"):
        first_shadow.setdefault(decision.invoice_id, decision)
    settled = [d for d in first_shadow.values() if outcomes[d.pk]["settled_flag"]]
    recovered = [d for d in first_shadow.values() if outcomes[d.pk]["recovered_flag"]]
    everyone = by_segment[""]
    assert (everyone.invoices, everyone.settled, everyone.recovered) == (
        len(first_shadow),
        len(settled),
        len(recovered),
    )
    assert everyone.settled > everyone.recovered > 0
    scores = [d.recovery_score for d in settled if d.recovery_score is not None]
    assert everyone.predicted_rate == round(100 * sum(scores) / len(scores), 1)
    assert (everyone.scored, everyone.invoices) == (
        len(scores),
        sum(s.invoices for name, s in by_segment.items() if name),
    )
    first_scored: dict[str, Decision] = {}
    for decision in Decision.objects.order_by("as_of", "pk"):
        first_scored.setdefault(decision.invoice_id, decision)
    counted = sum(
        1
        for d in first_scored.values()
        if d.recovery_score is not None and outcomes[d.pk]["settled_flag"]
    )
    assert sum(b["decisions"] for b in buckets) == counted
