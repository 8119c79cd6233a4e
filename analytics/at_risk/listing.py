"""Who is at risk: active subscriptions renewing soon, their factors and score, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import QueryDict
from django.utils import timezone

from analytics.at_risk.factors import (
    USAGE_DROP_NOTABLE,
    card_month_index,
    expiring,
    factors_annotate,
    renewal_month_index,
)
from analytics.at_risk.risk_model import Scorer
from dunning.helpers.errors import ApplicationError
from dunning.models import PaymentSource, Subscription

WINDOWS = (7, 14, 30, 60)
DEFAULT_WINDOW = 30
REASONS = {
    "": "Any reason",
    "expiring": "Card expires before the renewal",
    "failures": "Failed payments in the last year",
    "usage": "Product use dropped",
}


class AtRiskFilterError(ApplicationError, ValueError):
    """A filter a person typed does not make sense (shown to them, with a 400)."""


@dataclass(frozen=True)
class AtRiskFilters:
    within_days: int = DEFAULT_WINDOW
    min_score: float | None = None  # 0..1
    reason: str = ""


def at_risk_filters_parse(params: QueryDict) -> AtRiskFilters:
    try:
        days = int(params.get("within") or DEFAULT_WINDOW)
    except ValueError:
        raise AtRiskFilterError("renewing within: a number of days") from None
    if days not in WINDOWS:
        raise AtRiskFilterError(f"renewing within: one of {', '.join(map(str, WINDOWS))} days")
    raw = (params.get("min_score") or "").strip().rstrip("%")
    min_score = None
    if raw:
        try:
            min_score = float(raw) / 100
        except ValueError:
            raise AtRiskFilterError("minimum score: a percentage from 0 to 100") from None
        if not 0 <= min_score <= 1:
            raise AtRiskFilterError("minimum score: a percentage from 0 to 100")
    reason = params.get("reason") or ""
    if reason not in REASONS:
        raise AtRiskFilterError(f"unknown reason {reason!r}")
    return AtRiskFilters(within_days=days, min_score=min_score, reason=reason)


def at_risk_subscriptions(
    *, filters: AtRiskFilters, scorer: Scorer, now: datetime | None = None
) -> QuerySet[Subscription]:
    """Active subscriptions renewing within the window, riskiest first, with their factors."""
    now = now or timezone.now()
    subscriptions = Subscription.objects.filter(
        status="active",
        deleted=False,
        next_billing_at__gt=now,
        next_billing_at__lte=now + timedelta(days=filters.within_days),
    ).select_related("customer")
    card = PaymentSource.objects.filter(cb_id=OuterRef("customer__primary_payment_source_id"))
    rows = (
        factors_annotate(
            subscriptions, at=now, customer_field="customer_id", unit_field="billing_period_unit"
        )
        .annotate(
            card_month=card_month_index(),
            renewal_month=renewal_month_index(),
            card_last4=Subquery(card.values("card_last4")[:1]),
            card_brand=Subquery(card.values("card_brand")[:1]),
        )
        .annotate(expiring=expiring())
        .annotate(score=scorer.with_expiry())
    )
    if filters.min_score is not None:
        rows = rows.filter(score__gte=filters.min_score)
    if filters.reason == "expiring":
        rows = rows.filter(expiring=1)
    elif filters.reason == "failures":
        rows = rows.filter(past_failures__gt=0)
    elif filters.reason == "usage":
        rows = rows.filter(usage_drop__gte=USAGE_DROP_NOTABLE)
    return rows.order_by("-score", "next_billing_at", "cb_id")


def at_risk_counts(rows: QuerySet[Subscription]) -> dict:
    """How many are listed and why, for the page's header: one aggregate query."""
    return rows.order_by().aggregate(
        listed=Count("id"),
        expiring_cards=Count("id", filter=Q(expiring=1)),
        with_failures=Count("id", filter=Q(past_failures__gt=0)),
        usage_dropped=Count("id", filter=Q(usage_drop__gte=USAGE_DROP_NOTABLE)),
        expected_failures=Sum("score"),
    )


class CountedRows:
    """The listed rows with their number already known (from ``at_risk_counts``), so the
    paginator does not run the whole query once more only to count it."""

    def __init__(self, rows: QuerySet[Subscription], count: int):
        self.rows, self._count = rows, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return self.rows[index]
