"""Expected recoveries of the failed invoices open now, with an interval.

Each open failed invoice *i* (amount *aᵢ*: its first failed payment, as on the Recovery
page) is recovered with probability *pᵢ*, independently of the others. The recovered
amount then has mean Σ pᵢ·aᵢ and variance Σ pᵢ(1-pᵢ)·aᵢ² (a Poisson-binomial sum of
amounts), and the interval is the normal approximation: mean ± z·√variance, clipped to
[0, amount at stake]. Both sums are computed by the database in one grouped query.

*pᵢ* is the recovery score of the invoice's latest decision (the recovery model's
P(recovered at all)). An invoice with no scored decision yet takes the *fallback*: the
historical recovery rate of failed invoices of its decline category that were still
unpaid at the same age (days since the first failure), smoothed toward the rate of all
categories at that age. The rates are computed from what was known at ``as_of`` only, so a
forecast for a past date (``forecast_compute(as_of=...)``) uses no later outcome.

The horizon is the guardrails' dunning window: an invoice not recovered by then will not be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from analytics.queries import IN_DUNNING
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import Decision, Invoice, InvoiceFailure

Z80, Z95 = 1.2816, 1.9600
# Age bands (days since the first failure) the fallback rates are kept for.
AGE_EDGES = (0, 1, 3, 7, 14)
RATE_HISTORY_DAYS = 365
PRIOR_WEIGHT = 5  # invoices' worth of the all-categories rate in each category's rate
NO_HISTORY_RATE = 0.5
RATES_CACHE_SECONDS = 3600
NO_SEGMENT = "(no decision yet)"
NO_CATEGORY = "(none)"


@dataclass(frozen=True)
class Estimate:
    """The recovered amount of some invoices: its mean, variance and intervals (minor units)."""

    invoices: int = 0
    at_stake: int = 0
    expected: float = 0.0
    variance: float = 0.0
    fallback: int = 0
    # For a past ``as_of`` only: what these invoices recovered within the horizon after it.
    recovered: int = 0
    recovered_invoices: int = 0

    def plus(self, other: Estimate) -> Estimate:
        return Estimate(
            invoices=self.invoices + other.invoices,
            at_stake=self.at_stake + other.at_stake,
            expected=self.expected + other.expected,
            variance=self.variance + other.variance,
            fallback=self.fallback + other.fallback,
            recovered=self.recovered + other.recovered,
            recovered_invoices=self.recovered_invoices + other.recovered_invoices,
        )

    def interval(self, z: float) -> tuple[float, float]:
        spread = z * math.sqrt(max(self.variance, 0.0))
        return max(0.0, self.expected - spread), min(float(self.at_stake), self.expected + spread)

    @property
    def low(self) -> float:
        return self.interval(Z80)[0]

    @property
    def high(self) -> float:
        return self.interval(Z80)[1]

    @property
    def low95(self) -> float:
        return self.interval(Z95)[0]

    @property
    def high95(self) -> float:
        return self.interval(Z95)[1]


@dataclass(frozen=True)
class CurrencyForecast:
    currency: str
    total: Estimate
    by_segment: dict[str, Estimate]
    by_category: dict[str, Estimate]


@dataclass(frozen=True)
class Forecast:
    as_of: datetime
    horizon_days: int
    currencies: dict[str, CurrencyForecast]  # largest amount at stake first
    # decline category -> rate by age band (the fallback), and the all-categories rates.
    category_rates: dict[str, list[float]] = field(default_factory=dict)
    overall_rates: list[float] = field(default_factory=list)
    live: bool = True

    @property
    def fallback(self) -> int:
        return sum(c.total.fallback for c in self.currencies.values())

    @property
    def invoices(self) -> int:
        return sum(c.total.invoices for c in self.currencies.values())


def open_failures(*, as_of: datetime | None, window_days: int) -> QuerySet:
    """Failed invoices open at ``as_of`` (None: in dunning now, as Chargebee says).

    For a past date the mirror keeps no history of dunning states, so "open then" is:
    first failed before ``as_of``, within the dunning window, not paid or written off yet.
    """
    if as_of is None:
        in_dunning = Invoice.objects.filter(IN_DUNNING, cb_id=OuterRef("invoice_cb_id"))
        return InvoiceFailure.objects.filter(Exists(in_dunning)).order_by()
    return InvoiceFailure.objects.filter(
        Q(paid_at__isnull=True) | Q(paid_at__gte=as_of),
        first_failed_at__lt=as_of,
        first_failed_at__gte=as_of - timedelta(days=window_days),
    ).order_by()


def _open_in_dunning() -> QuerySet:
    """``open_failures(as_of=None)`` joined to the invoice (one per summary row: ``cb_id`` is
    unique), for its latest-decision pointers."""
    return InvoiceFailure.objects.filter(
        **{f"invoice__{name}": value for name, value in IN_DUNNING.children}
    ).order_by()


def fallback_rates(
    *, as_of: datetime, window_days: int
) -> tuple[dict[str, list[float]], list[float]]:
    """Recovery rate by decline category and age band, from failures settled by ``as_of``.

    Settled: first failed between a year and one dunning window before ``as_of``. For age
    band *b* the base is those still unpaid *b* days after their first failure; the rate is
    the share of them recovered (before ``as_of``).
    """
    settled = InvoiceFailure.objects.filter(
        first_failed_at__gte=as_of - timedelta(days=RATE_HISTORY_DAYS),
        first_failed_at__lt=as_of - timedelta(days=window_days),
    ).order_by()
    # Each failure's count of age bands it was still unpaid at (edges ascending: unpaid at
    # one edge means unpaid at every earlier one), computed once per row and grouped on,
    # instead of ten filtered counts each testing the row again.
    bands_open = Case(
        When(paid_at__isnull=True, then=Value(len(AGE_EDGES))),
        *(
            When(paid_at__gte=F("first_failed_at") + timedelta(days=edge), then=Value(i + 1))
            for i, edge in reversed(list(enumerate(AGE_EDGES)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    recovered = ExpressionWrapper(
        Q(is_recovered=True, paid_at__lt=as_of), output_field=BooleanField()
    )
    groups = (
        settled.annotate(bands_open=bands_open, recovered_by_then=recovered)
        .values("decline_category", "bands_open", "recovered_by_then")
        .annotate(failures=Count("pk"))
    )
    # category -> [still unpaid at band b, and of those recovered] for each band b
    unpaid: dict[str, list[int]] = {}
    recovered_counts: dict[str, list[int]] = {}
    for group in groups:
        category = group["decline_category"]
        unpaid.setdefault(category, [0] * len(AGE_EDGES))
        recovered_counts.setdefault(category, [0] * len(AGE_EDGES))
        for i in range(group["bands_open"]):
            unpaid[category][i] += group["failures"]
            if group["recovered_by_then"]:
                recovered_counts[category][i] += group["failures"]
    categories = sorted(unpaid)
    overall: list[float] = []
    for i in range(len(AGE_EDGES)):
        n = sum(unpaid[c][i] for c in categories)
        prior = overall[-1] if overall else NO_HISTORY_RATE
        overall.append(sum(recovered_counts[c][i] for c in categories) / n if n else prior)
    rates = {
        c: [
            (recovered_counts[c][i] + PRIOR_WEIGHT * overall[i]) / (unpaid[c][i] + PRIOR_WEIGHT)
            for i in range(len(AGE_EDGES))
        ]
        for c in categories
    }
    return rates, overall


def _rates_of_day(*, as_of: datetime, window_days: int):
    key = f"analytics:forecast_rates_of:{window_days}:{as_of:%Y%m%d%H%M}"
    return cache.get_or_set(
        key, lambda: fallback_rates(as_of=as_of, window_days=window_days), RATES_CACHE_SECONDS
    )


def _fallback_expression(
    *, as_of: datetime, rates: dict[str, list[float]], overall: list[float]
) -> Case:
    """The fallback rate of each row, by its category and its age at ``as_of``, in SQL."""
    whens = []
    # Oldest band first: a row is in band b when it failed at least AGE_EDGES[b] days ago.
    for i in reversed(range(len(AGE_EDGES))):
        aged = Q(first_failed_at__lte=as_of - timedelta(days=AGE_EDGES[i]))
        for category, by_age in sorted(rates.items()):
            whens.append(When(aged & Q(decline_category=category), then=Value(by_age[i])))
        whens.append(When(aged, then=Value(overall[i])))
    return Case(*whens, default=Value(overall[0]), output_field=FloatField())


def _decisions_latest_first(*, as_of: datetime | None, scored: bool) -> QuerySet:
    """The decisions about the outer row's invoice, latest first (latest ``as_of``, then
    highest id): those with a recovery score if ``scored``, those known at ``as_of`` if given."""
    decisions = Decision.objects.filter(invoice_id=OuterRef("invoice_cb_id"))
    if scored:
        decisions = decisions.filter(recovery_score__isnull=False)
    return _known(decisions, as_of=as_of).order_by("-as_of", "-id")


def _known(decisions: QuerySet, *, as_of: datetime | None) -> QuerySet:
    if as_of is None:
        return decisions
    # Decisions that existed then, about what was known then.
    return decisions.filter(as_of__lte=as_of, created_at__lte=as_of)


def _latest_decision_ids(*, as_of: datetime | None) -> QuerySet:
    """The id of each invoice's latest decision: none later (``as_of``, then id) is known."""
    known = _known(Decision.objects.order_by(), as_of=as_of)
    later = known.filter(invoice_id=OuterRef("invoice_id")).filter(
        Q(as_of__gt=OuterRef("as_of")) | Q(as_of=OuterRef("as_of"), pk__gt=OuterRef("pk"))
    )
    return known.filter(~Exists(later)).values("pk")


def _with_latest_decision(failures: QuerySet, *, as_of: datetime | None) -> QuerySet:
    """``failures`` annotated with their latest decision's ``segment`` and the ``score`` of
    their latest scored decision (null without one).

    The latest decision is joined once per row: an annotated subquery would be repeated by
    the SQL at each use of the score (three in the sums, one in the fallback count). When the
    latest decision has a score it is also the latest scored one; only for the few without
    does the database look further back (COALESCE evaluates the subquery only then).
    """
    latest_ids = Subquery(_latest_decision_ids(as_of=as_of))
    latest_score = _decisions_latest_first(as_of=as_of, scored=True).values("recovery_score")
    return failures.annotate(
        latest=FilteredRelation("decisions", condition=Q(decisions__pk__in=latest_ids)),
    ).annotate(
        score=Coalesce(F("latest__recovery_score"), Subquery(latest_score[:1])),
        segment=Coalesce(F("latest__segment"), Value(NO_SEGMENT)),
    )


def _with_latest_pointer(failures: QuerySet) -> QuerySet:
    """``_with_latest_decision(failures, as_of=None)`` from the invoice's pointers (the
    latest decision and the latest scored one, kept as decisions are recorded): two joins by
    primary key instead of a search of each open invoice's decisions."""
    return failures.annotate(
        score=F("invoice__latest_scored_decision__recovery_score"),
        segment=Coalesce(F("invoice__latest_decision__segment"), Value(NO_SEGMENT)),
    )


def _outcome(*, as_of: datetime | None, horizon_days: int) -> dict:
    """For a past day: what was recovered within the horizon (in the same query)."""
    if as_of is None:
        return {}
    within = Q(is_recovered=True, paid_at__gte=as_of)
    within &= Q(paid_at__lt=as_of + timedelta(days=horizon_days))
    return {
        "recovered": Sum("amount", filter=within),
        "recovered_invoices": Count("pk", filter=within),
    }


def forecast_compute(
    *,
    as_of: datetime | None = None,
    now: datetime | None = None,
    rates_as_of: datetime | None = None,
) -> Forecast:
    """The forecast now (``as_of`` None), or as it would have been made at ``as_of``.

    ``rates_as_of`` (at or before ``as_of``): take the fallback rates as known then (a
    backfill of many days reuses a week's rates instead of recomputing them every day).
    """
    moment = as_of or now or timezone.now()
    window = guardrails_active().dunning_window_days
    if rates_as_of is not None:
        rates, overall = _rates_of_day(as_of=min(rates_as_of, moment), window_days=window)
    elif as_of is None:  # from failures settled weeks ago: they move slowly, keep them an hour
        key = f"analytics:forecast_rates:{window}:{moment:%Y%m%d%H}"
        rates, overall = cache.get_or_set(
            key, lambda: fallback_rates(as_of=moment, window_days=window), RATES_CACHE_SECONDS
        )
    else:
        rates, overall = fallback_rates(as_of=moment, window_days=window)
    fallback = _fallback_expression(as_of=moment, rates=rates, overall=overall)
    if as_of is None:
        failures = _with_latest_pointer(_open_in_dunning())
    else:
        failures = _with_latest_decision(
            open_failures(as_of=as_of, window_days=window), as_of=as_of
        )
    rows = (
        failures.annotate(p=Coalesce(F("score"), fallback), a=Cast("amount", FloatField()))
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
    return Forecast(
        as_of=moment,
        horizon_days=window,
        currencies=_by_currency(rows),
        category_rates=rates,
        overall_rates=overall,
        live=as_of is None,
    )


def _by_currency(rows) -> dict[str, CurrencyForecast]:
    """Add up the grouped rows (sums and variances of independent invoices add up)."""
    totals: dict[str, Estimate] = {}
    segments: dict[str, dict[str, Estimate]] = {}
    categories: dict[str, dict[str, Estimate]] = {}
    for row in rows:
        currency = row["currency_code"] or "—"
        estimate = Estimate(
            invoices=row["invoices"],
            at_stake=row["at_stake"] or 0,
            expected=row["expected"] or 0.0,
            variance=row["variance"] or 0.0,
            fallback=row["fallback"],
            recovered=row.get("recovered") or 0,
            recovered_invoices=row.get("recovered_invoices") or 0,
        )
        totals[currency] = totals.get(currency, Estimate()).plus(estimate)
        for groups, key in (
            (segments, row["segment"]),
            (categories, row["decline_category"] or NO_CATEGORY),
        ):
            group = groups.setdefault(currency, {})
            group[key] = group.get(key, Estimate()).plus(estimate)
    order = sorted(totals, key=lambda c: (-totals[c].at_stake, c))
    return {
        c: CurrencyForecast(
            currency=c,
            total=totals[c],
            by_segment=dict(sorted(segments[c].items(), key=lambda kv: -kv[1].at_stake)),
            by_category=dict(sorted(categories[c].items(), key=lambda kv: -kv[1].at_stake)),
        )
        for c in order
    }
