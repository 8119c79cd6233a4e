"""What makes a renewal likely to fail, as SQL expressions over the mirror.

The same expressions serve the at-risk list (as of now, for subscriptions renewing soon)
and the model's training set (as of each past renewal invoice's date), so the model is
trained on exactly what it is later given:

- ``past_failures``: the customer's invoices whose payment failed in the year before;
- ``usage_drop``: how far product sessions fell, the last two months against the four
  before them (0 = no drop, 1 = no use at all any more);
- ``annual``: a yearly plan (a bigger charge, a card last used a year ago).

``expiring`` (the card on file expires before the renewal, or there is none) is known only
for the future: the mirror keeps each card's current expiry, not what it was at a past
renewal, so it is a rule on top of the score, not a model feature.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear, Greatest, Least

from dunning.models import InvoiceFailure, PaymentSource, UsageMonth

FAILURE_LOOKBACK = timedelta(days=365)
USAGE_RECENT = timedelta(days=62)
USAGE_EARLIER = timedelta(days=182)
FAILURES_CAP = 5  # a sixth failure says nothing the fifth did not
USAGE_DROP_NOTABLE = 0.4  # shown as a reason from a 40% drop
MODEL_FEATURES = ["past_failures", "usage_drop", "annual"]


def _before(at, delta: timedelta):
    """``at - delta`` for a datetime (plain) or a reference to a row's time (in SQL)."""
    return at - delta if isinstance(at, datetime) else at - Value(delta)


def past_failures(*, at, customer_ref) -> Coalesce:
    """Invoices of the customer that failed a payment in the year before ``at``."""
    failures = (
        InvoiceFailure.objects.filter(
            customer_cb_id=customer_ref,
            first_failed_at__lt=at,
            first_failed_at__gte=_before(at, FAILURE_LOOKBACK),
        )
        .order_by()
        .values("customer_cb_id")
        .annotate(n=Count("id"))
        .values("n")[:1]
    )
    count = Coalesce(Subquery(failures, output_field=IntegerField()), Value(0))
    return Least(count, Value(FAILURES_CAP))


def usage_drop(*, at, customer_ref) -> Coalesce:
    """1 - (average sessions of the last two months / of the four before), at least 0.

    One subquery per row: both averages and the ratio are computed inside it (an
    annotation referenced twice would be inlined, and run, twice).
    """
    recent_from, earlier_from = _before(at, USAGE_RECENT), _before(at, USAGE_EARLIER)
    sessions = Cast("sessions", FloatField())
    ratio = Value(1.0) - F("recent") / F("earlier")
    months = (
        UsageMonth.objects.filter(
            customer_cb_id=customer_ref, month_start__gte=earlier_from, month_start__lt=at
        )
        .order_by()
        .values("customer_cb_id")
        .annotate(
            recent=Coalesce(
                Avg(sessions, filter=Q(month_start__gte=recent_from)),
                Value(0.0),
                output_field=FloatField(),
            ),
            earlier=Avg(sessions, filter=Q(month_start__lt=recent_from)),
        )
        .annotate(
            drop=Case(
                When(earlier__gt=0, then=Greatest(Value(0.0), ratio, output_field=FloatField())),
                default=Value(0.0),
                output_field=FloatField(),
            )
        )
        .values("drop")[:1]
    )
    return Coalesce(Subquery(months, output_field=FloatField()), Value(0.0))


def factors_annotate(queryset, *, at, customer_field: str, unit_field: str):
    """``queryset`` with past_failures, usage_drop and annual as of ``at`` (a value or ref)."""
    customer = OuterRef(customer_field)
    return queryset.annotate(
        past_failures=past_failures(at=at, customer_ref=customer),
        usage_drop=usage_drop(at=at, customer_ref=customer),
        annual=Case(
            When(**{unit_field: "year"}, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


def card_month_index() -> Subquery:
    """The last month the customer's card on file is valid, as year * 12 + month - 1."""
    card = PaymentSource.objects.filter(
        cb_id=OuterRef("customer__primary_payment_source_id"),
        card_expiry_year__isnull=False,
        card_expiry_month__isnull=False,
    ).annotate(
        month_index=ExpressionWrapper(
            F("card_expiry_year") * 12 + F("card_expiry_month") - 1, output_field=IntegerField()
        )
    )
    return Subquery(card.values("month_index")[:1], output_field=IntegerField())


def renewal_month_index() -> ExpressionWrapper:
    return ExpressionWrapper(
        ExtractYear("next_billing_at") * 12 + ExtractMonth("next_billing_at") - 1,
        output_field=IntegerField(),
    )


def expiring() -> Case:
    """1 when the card on file is gone or expires before the month of the renewal."""
    return Case(
        When(customer__primary_payment_source_id="", then=Value(1)),
        When(card_month__isnull=True, then=Value(0)),  # not a card (e.g. a bank account)
        When(card_month__lt=F("renewal_month"), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def reasons_in_words(row) -> list[str]:
    """Why a listed customer is at risk, in plain words (for one page of rows)."""
    words = []
    if row.expiring:
        if not row.card_last4 and not row.card_month:
            words.append("no card on file")
        else:
            month, year = row.card_month % 12 + 1, row.card_month // 12
            words.append(
                f"card ending {row.card_last4 or '????'} expires {month:02d}/{year} "
                f"before the renewal on {row.next_billing_at:%d %b %Y}"
            )
    if row.past_failures:
        plural = "s" if row.past_failures > 1 else ""
        more = "+" if row.past_failures >= FAILURES_CAP else ""
        words.append(f"{row.past_failures}{more} failed payment{plural} in the last year")
    if row.usage_drop >= USAGE_DROP_NOTABLE:
        words.append(f"product use down {row.usage_drop:.0%} over the last two months")
    if row.annual:
        words.append("yearly plan: a large charge on a card last used a year ago")
    return words or ["no factor stands out: the overall estimate for a renewal"]


def customer_reason(row) -> str:
    """The reason told to the customer (no card numbers: only what the drafter may see)."""
    if row.expiring:
        return "the card on file expires before the renewal"
    if row.past_failures:
        return "a recent payment on the card on file was declined"
    return "the card on file may be out of date"
