"""What each recovery is credited to: the last thing that happened to the invoice before it
was paid, within 7 days.

Touches, each with its moment:

- a message Dunwell sent about the invoice: its moment is the latest of when it was sent,
  opened and its link clicked (an open or a click after the payment does not count), and it
  is told by channel and by what the customer did with it;
- a payment-method link: a message asking for a new card or an authentication, told by
  whether its link was clicked before the payment;
- the card updater: a decision that found a newer card on file (its moment: the decision's);
- a Dunwell retry: an executed retry of the invoice (its moment: when it was done; its own
  payment is dated a moment before that, so up to an hour after the payment still counts).

With no touch in the 7 days, a payment by a new payment method is the customer's own, and
any other is Chargebee's own retry. On a tie the earlier kind in this list wins.

Each touch kind is one correlated subquery per failed-invoice row (by invoice id, indexed),
so the whole split is one aggregate query.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from dunning.models import Action, ActionKind, ActionState, Channel, Decision, OutboundMessage
from dunning.models import Purpose as P

WINDOW = timedelta(days=7)
RETRY_SLACK = timedelta(hours=1)
LINK_PURPOSES = (P.PAYMENT_METHOD_UPDATE, P.AUTHENTICATION_NEEDED, P.PRE_DUNNING_CARD_UPDATE)
# "No such touch": a moment before every real one, a day later for each kind down the list,
# so that in "this kind's moment >= the latest of the kinds after it" a missing touch never
# wins (each kind's moment is then one subquery per comparison, not one per pair).
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
TOUCHES = ("message_at", "link_at", "updater_at", "retry_at")

EMAIL_CLICKED, EMAIL_OPENED, EMAIL_SENT = (
    "Email, link clicked",
    "Email, opened",
    "Email, no open seen",
)
SMS, IN_APP = "SMS", "In-app message"
LINK_CLICKED, LINK_SENT = "Payment-method link, clicked", "Payment-method link, no click seen"
CARD_UPDATER, DUNWELL_RETRY = "Card updater", "Dunwell retry"
OWN_NEW_METHOD, CHARGEBEE_RETRY = "Customer's own new payment method", "Chargebee's own retry"
ATTRIBUTION_LABELS = (
    EMAIL_CLICKED,
    EMAIL_OPENED,
    EMAIL_SENT,
    SMS,
    IN_APP,
    LINK_CLICKED,
    LINK_SENT,
    CARD_UPDATER,
    DUNWELL_RETRY,
    OWN_NEW_METHOD,
    CHARGEBEE_RETRY,
)

ATTRIBUTION_RULE = (
    "Each recovery is credited to the last thing that happened to the invoice before the "
    "payment, within 7 days: a message Dunwell sent (by channel, and whether it was opened "
    "or its link clicked before the payment; its moment is the latest of these), a "
    "payment-method link (clicked or not), a newer card found by the card updater, or a "
    "Dunwell retry. With nothing from Dunwell in those 7 days, a payment by a new payment "
    "method is the customer's own, and any other is Chargebee's own retry."
)


def _dt(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DateTimeField())


def _messages(*, links: bool, paid, invoice) -> QuerySet:
    """The invoice's sent messages with their moment before the payment (``paid``)."""
    rows = OutboundMessage.objects.filter(
        invoice_id=invoice, status=OutboundMessage.Status.SENT, sent_at__lt=paid
    )
    rows = (
        rows.filter(purpose__in=LINK_PURPOSES) if links else rows.exclude(purpose__in=LINK_PURPOSES)
    )
    moment = Greatest(
        "sent_at",
        Case(When(opened_at__lt=paid, then="opened_at"), default="sent_at"),
        Case(When(clicked_at__lt=paid, then="clicked_at"), default="sent_at"),
        output_field=DateTimeField(),
    )
    return rows.annotate(moment=moment).filter(moment__gte=_dt(paid - WINDOW)).order_by()


def _last(rows: QuerySet) -> Subquery:
    """The latest ``moment`` of ``rows`` (one invoice's). A maximum, not an ORDER BY: SQLite
    cannot order a subquery by an expression of the outer row."""
    return Subquery(rows.values("invoice_id").annotate(last=Max("moment")).values("last"))


def _last_or_never(rows: QuerySet, *, touch: str) -> Coalesce:
    never = NEVER + timedelta(days=TOUCHES.index(touch))
    return Coalesce(_last(rows), Value(never), output_field=DateTimeField())


def _last_message_label(*, links: bool) -> Subquery:
    """What the customer did with the invoice's latest message (of the kind), as its label."""
    outer_paid, outer_invoice = OuterRef("paid_at"), OuterRef("invoice_cb_id")
    nested = _messages(links=links, paid=OuterRef(outer_paid), invoice=OuterRef(outer_invoice))
    if links:
        label = Case(
            When(clicked_at__lt=outer_paid, then=Value(LINK_CLICKED)), default=Value(LINK_SENT)
        )
    else:
        label = Case(
            When(channel=Channel.SMS, then=Value(SMS)),
            When(channel=Channel.IN_APP, then=Value(IN_APP)),
            When(clicked_at__lt=outer_paid, then=Value(EMAIL_CLICKED)),
            When(opened_at__lt=outer_paid, then=Value(EMAIL_OPENED)),
            default=Value(EMAIL_SENT),
        )
    latest = (
        _messages(links=links, paid=outer_paid, invoice=outer_invoice)
        .filter(moment=_last(nested))
        .annotate(label=label)
        .order_by("-pk")
    )
    return Subquery(latest.values("label")[:1])


def _touch_moments() -> dict:
    """Each touch kind's latest moment for the outer failed-invoice row (or its "never")."""
    paid, invoice = OuterRef("paid_at"), OuterRef("invoice_cb_id")
    updater = Decision.objects.filter(
        invoice_id=invoice,
        explanation__card_updater__outcome="updated",
        as_of__lt=paid,
        as_of__gte=_dt(paid - WINDOW),
    ).annotate(moment=F("as_of"))
    retries = (
        Action.objects.filter(invoice_id=invoice, kind=ActionKind.RETRY, state=ActionState.EXECUTED)
        .annotate(moment=Coalesce("state_changed_at", "scheduled_for"))
        .filter(moment__lt=_dt(paid + RETRY_SLACK), moment__gte=_dt(paid - WINDOW))
    )
    return {
        "message_at": _last_or_never(
            _messages(links=False, paid=paid, invoice=invoice), touch="message_at"
        ),
        "link_at": _last_or_never(
            _messages(links=True, paid=paid, invoice=invoice), touch="link_at"
        ),
        "updater_at": _last_or_never(updater, touch="updater_at"),
        "retry_at": _last_or_never(retries, touch="retry_at"),
    }


# What came last, in the order of the rule (the first that holds wins).
def _rule() -> list[Q]:
    return [
        _latest_of("message_at", "link_at", "updater_at", "retry_at"),
        _latest_of("link_at", "updater_at", "retry_at"),
        _latest_of("updater_at", "retry_at"),
        _latest_of("retry_at"),
        Q(paid_by_new_method=True),
    ]


def attribution_annotate(rows: QuerySet) -> QuerySet:
    """Recovered failed-invoice rows, each with ``path``: the label its recovery is credited to."""
    message, link, updater, retry, new_method = _rule()
    return rows.alias(**_touch_moments()).annotate(
        path=Case(
            When(message, then=_last_message_label(links=False)),
            When(link, then=_last_message_label(links=True)),
            When(updater, then=Value(CARD_UPDATER)),
            When(retry, then=Value(DUNWELL_RETRY)),
            When(new_method, then=Value(OWN_NEW_METHOD)),
            default=Value(CHARGEBEE_RETRY),
        )
    )


def _path_conditions() -> dict[str, Q]:
    """Label -> the condition, over a row's touch moments and message labels, that credits
    its recovery to that label (exactly one holds for each row, as in the rule's CASE)."""
    message, link, updater, retry, new_method = _rule()
    conditions = {
        label: message & Q(message_label=label)
        for label in (EMAIL_CLICKED, EMAIL_OPENED, EMAIL_SENT, SMS, IN_APP)
    }
    after_message = ~message
    conditions |= {
        label: after_message & link & Q(link_label=label) for label in (LINK_CLICKED, LINK_SENT)
    }
    conditions[CARD_UPDATER] = after_message & ~link & updater
    conditions[DUNWELL_RETRY] = after_message & ~link & ~updater & retry
    conditions[OWN_NEW_METHOD] = after_message & ~link & ~updater & ~retry & new_method
    conditions[CHARGEBEE_RETRY] = after_message & ~link & ~updater & ~retry & ~new_method
    return conditions


def attribution_totals(rows: QuerySet) -> dict[str, dict]:
    """Recovered failed-invoice rows counted and summed (``amount``) by what each recovery is
    credited to: label -> {"recovered", "amount"}, every label.

    One aggregate over the rows with their touch moments: each moment's subquery runs once
    per row (four, and the two message labels), where the rule's CASE
    (``attribution_annotate``) runs it again at each comparison that reads it (up to ten).
    """
    columns = ("pk", "amount", "paid_by_new_method", *TOUCHES, "message_label", "link_label")
    # DISTINCT (a no-op with the primary key selected) keeps PostgreSQL from flattening the
    # rows into the aggregate, which would copy each subquery into every condition.
    once_per_row = (
        rows.annotate(
            **_touch_moments(),
            message_label=_last_message_label(links=False),
            link_label=_last_message_label(links=True),
        )
        .values(*columns)
        .distinct()
    )
    conditions = list(_path_conditions().items())
    aggregates: dict = {}
    for index, (_label, condition) in enumerate(conditions):
        aggregates[f"recovered__{index}"] = Count("pk", filter=condition)
        aggregates[f"amount__{index}"] = Sum("amount", filter=condition)
    figures = once_per_row.aggregate(**aggregates)
    return {
        label: {
            "recovered": figures[f"recovered__{index}"] or 0,
            "amount": figures[f"amount__{index}"] or 0,
        }
        for index, (label, _condition) in enumerate(conditions)
    }


def _latest_of(touch: str, *later_kinds: str) -> Q:
    """``touch`` happened, and not before any of ``later_kinds`` (the kinds after it)."""
    if later_kinds:
        latest = (
            Greatest(*[F(kind) for kind in later_kinds])
            if len(later_kinds) > 1
            else F(later_kinds[0])
        )
        return Q(**{f"{touch}__gte": latest})
    return Q(**{f"{touch}__gt": NEVER + timedelta(days=TOUCHES.index(touch))})
