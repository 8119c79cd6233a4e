"""The shadow comparison reads each decision's attempt and retry lookups once (one aggregate
over the annotated rows): the same figures as the grouped query it replaced, on a seeded
history with retries, Chargebee attempts, escalations and several segments."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import pytest
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics import shadow
from analytics.shadow import shadow_by_segment, shadow_rows
from dunning.models import AutomationMode, Transaction
from tests.analytics.mirror import failed_invoice
from tests.factories import ActionFactory, DecisionFactory

pytestmark = pytest.mark.django_db

SEGMENTS = ("self_serve", "growth", "enterprise")


def _seeded_history(now: datetime) -> None:
    rng = random.Random(41)
    for n in range(1, 61):
        failed_at = now - timedelta(days=rng.uniform(1, 70))
        paid = rng.random() < 0.5
        invoice = failed_invoice(
            n,
            failed_at=failed_at,
            paid_after=timedelta(days=rng.uniform(0.2, 35)) if paid else None,
            retries_failed=rng.randrange(0, 3),
        )
        for d in range(rng.randrange(1, 3)):
            as_of = min(failed_at + timedelta(days=rng.uniform(0, 10)), now - timedelta(hours=1))
            decision = DecisionFactory(
                invoice=invoice,
                as_of=as_of,
                recovery_score=None if rng.random() < 0.2 else round(rng.random(), 3),
                segment=rng.choice(SEGMENTS),
                mode=rng.choice((AutomationMode.SHADOW, AutomationMode.SHADOW, "approve")),
            )
            if rng.random() < 0.7:
                ActionFactory(
                    decision=decision,
                    kind="retry",
                    mode=decision.mode,
                    scheduled_for=as_of + timedelta(hours=rng.uniform(1, 96)),
                )
            if rng.random() < 0.2:
                ActionFactory(decision=decision, kind="escalate", mode=decision.mode)
            for a in range(rng.randrange(0, 3)):
                Transaction.objects.create(
                    cb_id=f"txn_{n}_{d}_{a}_cb",
                    customer_id=invoice.customer_id,
                    invoice=invoice,
                    type="payment",
                    status="failure",
                    date=as_of + timedelta(hours=rng.uniform(1, 120)),
                    resource_version=1,
                )


def _grouped_figures(*, since: datetime, until: datetime, now: datetime) -> dict[str, dict]:
    """The replaced query: grouped by segment, each figure repeating the row's subqueries."""
    rows = shadow_rows(since=since, until=until, now=now)
    settled = Q(settled_flag=True)
    recovered = Q(recovered_flag=True)
    compared = settled & Q(dunwell_retry_at__isnull=False, chargebee_first_at__isnull=False)
    near = compared & Q(near_flag=True)
    far = compared & Q(near_flag=False)
    scored = settled & Q(recovery_score__isnull=False)
    aggregates = dict(
        invoices=Count("pk"),
        settled=Count("pk", filter=settled),
        recovered=Count("pk", filter=recovered),
        scored=Count("pk", filter=scored),
        scored_recovered=Count("pk", filter=scored & recovered),
        predicted_sum=Sum("recovery_score", filter=scored),
        compared=Count("pk", filter=compared),
        near=Count("pk", filter=near),
        near_recovered=Count("pk", filter=near & recovered),
        far=Count("pk", filter=far),
        far_recovered=Count("pk", filter=far & recovered),
        attempts_total=Coalesce(Sum("chargebee_attempts", filter=settled), 0),
        retries_total=Coalesce(Sum("dunwell_retries", filter=settled), 0),
        escalations=Count("pk", filter=Q(would_escalate=True)),
    )
    return {r.pop("segment"): r for r in rows.values("segment").annotate(**aggregates)}


@pytest.mark.parametrize("later_days", [0, 20, 60])
def test_the_shadow_figures_are_those_of_the_grouped_query(later_days):
    now = timezone.now()
    _seeded_history(now)
    since, until, at = now - timedelta(days=90), now, now + timedelta(days=later_days)

    figures = shadow_by_segment(since=since, until=until, now=at)

    grouped = _grouped_figures(since=since, until=until, now=at)
    if later_days:  # the history has near and far slots, escalations, attempts and retries
        row = figures[""]
        assert row.near and row.compared > row.near and row.would_escalate
        assert row.chargebee_attempts and row.dunwell_retries
    assert set(figures) == set(grouped) | {""}
    for segment, row in grouped.items():
        expected = shadow._segment(segment, row, decisions=figures[segment].decisions)
        assert dataclasses.asdict(figures[segment]) == dataclasses.asdict(expected)
    names = next(iter(grouped.values()))
    total = {name: sum(r[name] or 0 for r in grouped.values()) for name in names}
    assert dataclasses.asdict(figures[""]) == dataclasses.asdict(
        shadow._segment("", total, decisions=figures[""].decisions)
    )
