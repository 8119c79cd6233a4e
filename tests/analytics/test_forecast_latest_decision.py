"""The forecast reads each open invoice's latest decision once (now: from the invoice's
pointers): the same figures as the correlated subqueries it replaced, on a seeded history
with ties, unscored latest decisions, decisions about an earlier moment recorded after a
later one, and decisions recorded after the day forecast."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from django.db.models import Count, F, FloatField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from analytics.forecast import (
    NO_SEGMENT,
    CurrencyForecast,
    _by_currency,
    _fallback_expression,
    _outcome,
    fallback_rates,
    forecast_compute,
    open_failures,
)
from dunning.decisions.latest import decision_create
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import Decision, Invoice
from tests.analytics.forecast_data import hard_decline_history
from tests.analytics.mirror import failed_invoice

pytestmark = pytest.mark.django_db

SEGMENTS = ("self_serve", "growth", "enterprise")


def _seeded_history(now: datetime) -> None:
    """Open and settled failures, each with 0-4 decisions: some unscored, some at the same
    moment as another (the higher id is the later), some recorded days after their as_of."""
    rng = random.Random(35)
    hard_decline_history(first=500, days=80)
    for n in range(1, 41):
        failed_at = now - timedelta(days=rng.uniform(0.5, 40))
        paid_after = timedelta(days=rng.uniform(0.5, 20)) if rng.random() < 0.3 else None
        invoice = failed_invoice(
            n,
            failed_at=failed_at,
            amount=rng.randrange(1_000, 50_000),
            currency=rng.choice(("USD", "USD", "EUR")),
            category=rng.choice(("soft_decline", "hard_decline", "")),
            paid_after=paid_after,
        )
        moments = [failed_at + timedelta(hours=rng.uniform(0, 200)) for _ in range(4)]
        for as_of in moments[: rng.randrange(0, 5)]:
            if rng.random() < 0.3:  # a tie with the decision before it
                as_of = Decision.objects.filter(invoice=invoice).values_list("as_of").first()
                as_of = as_of[0] if as_of else failed_at
            decision = _decide(invoice, as_of=min(as_of, now), rng=rng)
            if rng.random() < 0.25:  # recorded later than the moment it is about
                Decision.objects.filter(pk=decision.pk).update(created_at=as_of + timedelta(days=3))


def _decide(invoice: Invoice, *, as_of: datetime, rng: random.Random) -> Decision:
    return decision_create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        trigger=Decision.Trigger.PAYMENT_FAILED,
        as_of=as_of,
        recovery_score=None if rng.random() < 0.3 else round(rng.random(), 3),
        model_version="recovery v1",
        segment=rng.choice(SEGMENTS),
        mode="shadow",
        reasoning="test",
    )


def _subquery_latest(*, as_of: datetime | None, value: str, scored: bool) -> Subquery:
    """The replaced lookup: a correlated subquery, repeated by the SQL at every use."""
    decisions = Decision.objects.filter(invoice_id=OuterRef("invoice_cb_id"))
    if scored:
        decisions = decisions.filter(recovery_score__isnull=False)
    if as_of is not None:
        decisions = decisions.filter(as_of__lte=as_of, created_at__lte=as_of)
    return Subquery(decisions.order_by("-as_of", "-id").values(value)[:1])


def _forecast_by_subqueries(*, as_of: datetime | None, now: datetime) -> dict:
    """The grouped query as it was before the join, over the same rates."""
    moment = as_of or now
    window = guardrails_active().dunning_window_days
    rates, overall = fallback_rates(as_of=moment, window_days=window)
    score = _subquery_latest(as_of=as_of, value="recovery_score", scored=True)
    segment = _subquery_latest(as_of=as_of, value="segment", scored=False)
    amount = Cast("amount", FloatField())
    rows = (
        open_failures(as_of=as_of, window_days=window)
        .annotate(
            score=score,
            p=Coalesce(score, _fallback_expression(as_of=moment, rates=rates, overall=overall)),
            a=amount,
            segment=Coalesce(segment, Value(NO_SEGMENT)),
        )
        .values("currency_code", "segment", "decline_category")
        .annotate(
            invoices=Count("pk"),
            at_stake=Sum("amount"),
            expected=Sum(F("p") * F("a")),
            variance=Sum(F("p") * (Value(1.0) - F("p")) * F("a") * F("a")),
            fallback=Count("pk", filter=Q(score__isnull=True)),
            **_outcome(as_of=as_of, horizon_days=window),
        )
        .order_by()
    )
    return _by_currency(rows)


def _rounded(currencies: dict[str, CurrencyForecast]) -> dict:
    """Sums of floats in another order differ in the last bits: compare to a millionth."""

    def estimate(e):
        return (
            e.invoices,
            e.at_stake,
            round(e.expected, 6),
            round(e.variance, 3),
            e.fallback,
            e.recovered,
            e.recovered_invoices,
        )

    return {
        code: (
            estimate(c.total),
            {k: estimate(v) for k, v in c.by_segment.items()},
            {k: estimate(v) for k, v in c.by_category.items()},
        )
        for code, c in currencies.items()
    }


@pytest.mark.parametrize("days_back", [None, 3, 10])
def test_the_forecast_equals_the_one_made_with_a_subquery_per_use(days_back):
    now = timezone.now()
    _seeded_history(now)
    as_of = now - timedelta(days=days_back) if days_back is not None else None

    joined = forecast_compute(as_of=as_of, now=now).currencies
    by_subqueries = _forecast_by_subqueries(as_of=as_of, now=now)

    assert joined and _rounded(joined) == _rounded(by_subqueries)
    assert sum(c.total.fallback for c in joined.values()) > 0  # some without a scored decision
