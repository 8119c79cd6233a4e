"""Shadow mode: what Dunwell would have done, what Chargebee did instead, and how it ended.

A decision in shadow mode (``Decision.mode == "shadow"``) proposed actions that were never
run: Chargebee's own dunning kept working the invoice. Comparing the two:

- *Dunwell proposed*: its first retry (time), the channel of its first message or link,
  whether it would have escalated to a person, and how many retries auto would have run on
  the invoice within the window (``shadow_counting``: not every daily proposal, only
  those no newer decision superseded before their time);
- *Chargebee did*: the invoice's payment attempts after the decision (its own retries and
  any payment the customer made), within the dunning window;
- *outcome*: recovered within the window after the decision (the failure summary's
  ``is_recovered`` and ``paid_at``: paid by a payment, nothing written off), and when.

The unit is an invoice: its **first** shadow decision (later decisions about the same
invoice, after further declines, are counted as decisions only). A decision is *settled*
once its invoice was recovered or its window has passed; rates are over settled ones.

"Near Dunwell's slot" compares the invoices where Chargebee's next attempt happened to land
within ``NEAR_SLOT`` of the time Dunwell chose with those where it did not. That is an
observational estimate (nobody assigned the timing at random; the invoices may differ in
other ways), not the result of an experiment: the page says so.

Every figure comes from one aggregate query over the annotated decisions (each decision's
subqueries evaluated once, each segment's figures filtered by segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from dunning.decisions.learning.shadow_counting import shadow_retries_would_run
from dunning.models import (
    Action,
    ActionKind,
    AutomationMode,
    Decision,
    Transaction,
)

NEAR_SLOT = timedelta(hours=12)
DEFAULT_WINDOW_DAYS = 28
# Decisions Dunwell made by itself about a failure (not a person's request, not a survey).
DECIDING_TRIGGERS = (
    Decision.Trigger.PAYMENT_FAILED,
    Decision.Trigger.DUNNING_STARTED,
    Decision.Trigger.PAYMENT_METHOD_CHANGED,
    Decision.Trigger.OPEN_INVOICE,
)
MESSAGE_KINDS = (
    ActionKind.MESSAGE,
    ActionKind.PAYMENT_METHOD_LINK,
    ActionKind.AUTHENTICATION_LINK,
)
RECENT_ROWS = 25


@dataclass(frozen=True)
class ShadowSegment:
    """One segment's shadow-mode record over a period (rates in %, None without data)."""

    segment: str
    decisions: int  # every shadow decision in the period
    invoices: int  # first shadow decision per invoice
    settled: int  # recovered, or the window has passed
    awaiting: int  # neither yet
    recovered: int  # under Chargebee's schedule, within the window
    observed_rate: float | None
    scored: int  # settled invoices with a recovery score
    predicted_rate: float | None  # mean recovery score of those, in %
    observed_rate_scored: float | None  # observed rate of the same scored invoices
    compared: int  # settled, Dunwell proposed a retry and Chargebee attempted one
    near: int  # Chargebee's next attempt within NEAR_SLOT of Dunwell's slot
    near_rate: float | None
    far_rate: float | None
    chargebee_attempts: int  # payment attempts after the decision, within the window
    dunwell_retries: int  # retries auto would have run (shadow_counting), within the window
    would_escalate: int

    @property
    def calibration_gap(self) -> float | None:
        """Predicted minus observed recovery, in percentage points (same invoices)."""
        if self.predicted_rate is None or self.observed_rate_scored is None:
            return None
        return round(self.predicted_rate - self.observed_rate_scored, 1)


def _pct(part, whole) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


def deciding_decisions(*, since: datetime, until: datetime) -> QuerySet:
    return Decision.objects.filter(
        as_of__gte=since, as_of__lt=until, trigger__in=DECIDING_TRIGGERS
    ).order_by()


def first_per_invoice(decisions: QuerySet, *, mode: str | None = None) -> QuerySet:
    """Only the earliest decision about each invoice (of ``mode`` if given)."""
    earlier = Decision.objects.filter(
        invoice_id=OuterRef("invoice_id"), trigger__in=DECIDING_TRIGGERS
    )
    if mode:
        earlier = earlier.filter(mode=mode)
    earlier = earlier.filter(
        Q(as_of__lt=OuterRef("as_of")) | Q(as_of=OuterRef("as_of"), pk__lt=OuterRef("pk"))
    )
    return decisions.filter(~Exists(earlier))


def with_outcome(decisions: QuerySet, *, window_days: int, now: datetime) -> QuerySet:
    """Each decision with its invoice's outcome: ``recovered_at`` (within the window after
    the decision, else null) and ``settled`` (1 when recovered or the window has passed)."""
    window = timedelta(days=window_days)
    return (
        # The failure summary joined once per decision (one row per invoice, if any): the
        # flags below use ``paid_at`` several times each, and a subquery would be repeated.
        decisions.annotate(
            recovered_failure=FilteredRelation("failure", condition=Q(failure__is_recovered=True))
        )
        .annotate(
            window_end=ExpressionWrapper(F("as_of") + Value(window), output_field=DateTimeField()),
            paid_at=F("recovered_failure__paid_at"),
        )
        .annotate(
            recovered_flag=Q(paid_at__gte=F("as_of"), paid_at__lt=F("window_end")),
        )
        .annotate(
            settled_flag=Q(recovered_flag=True) | Q(window_end__lte=Value(now)),
        )
    )


def shadow_rows(
    *,
    since: datetime,
    until: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> QuerySet:
    """Invoices' first shadow decisions in [since, until), each with Dunwell's proposal,
    Chargebee's attempts afterwards and the outcome (annotations, no rows read yet)."""
    now = now or timezone.now()
    shadow = deciding_decisions(since=since, until=until).filter(mode=AutomationMode.SHADOW)
    rows = with_outcome(
        first_per_invoice(shadow, mode=AutomationMode.SHADOW), window_days=window_days, now=now
    )
    actions = Action.objects.filter(decision_id=OuterRef("pk")).order_by()
    retries = actions.filter(kind=ActionKind.RETRY)
    # The retries auto would have run on the invoice, from this decision to the window's end
    # (a proposal superseded by a newer decision before its time never runs).
    would_run = (
        shadow_retries_would_run()
        .filter(
            invoice_id=OuterRef("invoice_id"),
            scheduled_for__gte=OuterRef("as_of"),
            scheduled_for__lt=OuterRef("window_end"),
            scheduled_for__lte=now,
        )
        .order_by()
    )
    attempts = Transaction.objects.filter(
        invoice_id=OuterRef("invoice_id"),
        type="payment",
        date__gt=OuterRef("as_of"),
        date__lt=OuterRef("window_end"),
    ).order_by()
    return rows.annotate(
        dunwell_retry_at=Subquery(
            retries.exclude(scheduled_for=None)
            .order_by("scheduled_for")
            .values("scheduled_for")[:1]
        ),
        dunwell_retries=Coalesce(
            Subquery(
                would_run.values("invoice_id").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        dunwell_channel=Subquery(
            actions.filter(kind__in=MESSAGE_KINDS)
            .exclude(channel="")
            .order_by("scheduled_for", "pk")
            .values("channel")[:1]
        ),
        would_escalate=Exists(actions.filter(kind=ActionKind.ESCALATE)),
        chargebee_first_at=Subquery(attempts.order_by("date").values("date")[:1]),
        chargebee_attempts=Coalesce(
            Subquery(
                attempts.values("invoice_id").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
    ).annotate(
        near_flag=Q(
            chargebee_first_at__gte=F("dunwell_retry_at") - Value(NEAR_SLOT),
            chargebee_first_at__lte=F("dunwell_retry_at") + Value(NEAR_SLOT),
        ),
    )


SETTLED = Q(settled_flag=True)
RECOVERED = Q(recovered_flag=True)
COMPARED = SETTLED & Q(dunwell_retry_at__isnull=False, chargebee_first_at__isnull=False)
# ``near_flag`` spelt out over the two slots: the aggregation reads the slots as columns of
# the annotated rows, where ``near_flag`` would repeat both subqueries inside that row.
WITHIN_NEAR_SLOT = Q(
    chargebee_first_at__gte=F("dunwell_retry_at") - Value(NEAR_SLOT),
    chargebee_first_at__lte=F("dunwell_retry_at") + Value(NEAR_SLOT),
)
# Compared rows have both slots, so outside the near slot is exactly the negation.
NEAR = COMPARED & WITHIN_NEAR_SLOT
FAR = COMPARED & ~WITHIN_NEAR_SLOT
SCORED = SETTLED & Q(recovery_score__isnull=False)
# The columns of the annotated rows the figures read (each per-decision lookup once).
AGGREGATED_COLUMNS = (
    "pk",
    "segment",
    "recovery_score",
    "settled_flag",
    "recovered_flag",
    "dunwell_retry_at",
    "chargebee_first_at",
    "chargebee_attempts",
    "dunwell_retries",
    "would_escalate",
)
SEGMENT_FIGURES = dict(
    invoices=Q(),
    settled=SETTLED,
    recovered=RECOVERED,
    scored=SCORED,
    scored_recovered=SCORED & RECOVERED,
    compared=COMPARED,
    near=NEAR,
    near_recovered=NEAR & RECOVERED,
    far=FAR,
    far_recovered=FAR & RECOVERED,
    escalations=Q(would_escalate=True),
)


def _segment_aggregates(segment: str) -> dict:
    """One segment's counts and sums (the figures ``_segment`` reads), by figure name."""
    of_segment = Q(segment=segment)
    aggregates: dict = {
        name: Count("pk", filter=of_segment & condition)
        for name, condition in SEGMENT_FIGURES.items()
    }
    # A sum, not the mean: the total adds up the segments' sums.
    aggregates["predicted_sum"] = Sum("recovery_score", filter=of_segment & SCORED)
    aggregates["attempts_total"] = Coalesce(
        Sum("chargebee_attempts", filter=of_segment & SETTLED), 0
    )
    aggregates["retries_total"] = Coalesce(Sum("dunwell_retries", filter=of_segment & SETTLED), 0)
    return aggregates


FIGURE_NAMES = tuple(_segment_aggregates(""))


def shadow_by_segment(
    *,
    since: datetime,
    until: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> dict[str, ShadowSegment]:
    """Per segment (with an "all" total under the key ""): the shadow comparison."""
    rows = shadow_rows(since=since, until=until, window_days=window_days, now=now)
    decisions = deciding_decisions(since=since, until=until).filter(mode=AutomationMode.SHADOW)
    counts = dict(decisions.values_list("segment").annotate(n=Count("pk")))
    # One aggregate over the annotated rows, not a GROUP BY: an aggregate that refers to
    # subquery annotations reads them from the rows wrapped as a subquery, so each
    # decision's attempt and retry lookups run once however many figures use them. The
    # segments are those of the period's shadow decisions (each first decision is one).
    segments = sorted(counts)
    aggregates = {
        f"{name}__{index}": aggregate
        for index, segment in enumerate(segments)
        for name, aggregate in _segment_aggregates(segment).items()
    }
    # DISTINCT (a no-op with the primary key selected) keeps PostgreSQL from flattening the
    # wrapped rows into the aggregate, which would copy each subquery into every figure.
    once_per_decision = rows.values(*AGGREGATED_COLUMNS).distinct()
    figures = once_per_decision.aggregate(**aggregates) if aggregates else {}
    grouped: dict[str, dict] = {}
    for index, segment in enumerate(segments):
        of_segment = {name: figures[f"{name}__{index}"] for name in FIGURE_NAMES}
        if of_segment["invoices"]:  # no first decision in the segment: no row, as before
            grouped[segment] = of_segment
    # The total adds up the segments' counts and sums.
    grouped[""] = {name: sum(r[name] or 0 for r in grouped.values()) for name in FIGURE_NAMES}
    counts[""] = sum(counts.values())
    return {
        segment: _segment(segment, r, decisions=counts.get(segment, 0))
        for segment, r in grouped.items()
    }


def _segment(segment: str, r: dict, *, decisions: int) -> ShadowSegment:
    return ShadowSegment(
        segment=segment,
        decisions=decisions,
        invoices=r["invoices"],
        settled=r["settled"],
        awaiting=r["invoices"] - r["settled"],
        recovered=r["recovered"],
        observed_rate=_pct(r["recovered"], r["settled"]),
        scored=r["scored"],
        predicted_rate=round(100 * (r["predicted_sum"] / r["scored"]), 1) if r["scored"] else None,
        observed_rate_scored=_pct(r["scored_recovered"], r["scored"]),
        compared=r["compared"],
        near=r["near"],
        near_rate=_pct(r["near_recovered"], r["near"]),
        far_rate=_pct(r["far_recovered"], r["far"]),
        chargebee_attempts=r["attempts_total"],
        dunwell_retries=r["retries_total"],
        would_escalate=r["escalations"],
    )


def shadow_recent(
    *,
    since: datetime,
    until: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    limit: int = RECENT_ROWS,
) -> list[dict]:
    """The most recent invoices' comparisons, one row each (a page, never every row)."""
    rows = shadow_rows(since=since, until=until, window_days=window_days)
    return list(
        rows.order_by("-as_of", "-pk").values(
            "pk",
            "invoice_id",
            "segment",
            "as_of",
            "recovery_score",
            "dunwell_retry_at",
            "dunwell_channel",
            "would_escalate",
            "chargebee_first_at",
            "chargebee_attempts",
            "paid_at",
            "recovered_flag",
            "settled_flag",
            "near_flag",
        )[:limit]
    )
