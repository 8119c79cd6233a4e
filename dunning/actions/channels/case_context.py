"""What a message about an action needs to know, split by who may see it.

``case_read`` gathers it from the mirror: the ``DraftBrief`` (non-identifying: what any
drafter, an external LLM included, may see) and the placeholder values (the customer's
name, the amount, the link, the card: filled in by Dunwell after drafting, never shown to
a drafter).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from dunning.actions.channels.drafting import PLACEHOLDERS, DraftBrief
from dunning.actions.channels.redaction import text_redact
from dunning.decisions.enrichment import UNKNOWN_ZONE_FALLBACK
from dunning.decisions.policy_settings.offline_reminders import offline_payment_instructions
from dunning.decisions.rules.network_rules import AUTHENTICATION_CODES, VISA_CATEGORY_1
from dunning.decisions.timing.time_zones import billing_time_zone
from dunning.helpers.errors import ApplicationError
from dunning.helpers.money import amount_text
from dunning.models import (
    Action,
    ActionKind,
    Channel,
    Customer,
    Invoice,
    PaymentSource,
    Purpose,
    SupportTicket,
    Transaction,
)

MESSAGE_KINDS = (ActionKind.MESSAGE, ActionKind.PAYMENT_METHOD_LINK, ActionKind.AUTHENTICATION_LINK)
TEMPLATE_PURPOSES = {
    "payment_failed_retry_scheduled": Purpose.RETRY_SCHEDULED,
    "offline_payment_reminder": Purpose.OFFLINE_REMINDER,
    "final_notice": Purpose.FINAL_NOTICE,
    "payment_method_update": Purpose.PAYMENT_METHOD_UPDATE,
    "authentication_needed": Purpose.AUTHENTICATION_NEEDED,
    # A person's requests from the invoice page (collections_desk/manual_collection.py).
    "request_payment": Purpose.OFFLINE_REMINDER,  # "your invoice is due; pay it here"
    "request_payment_method": Purpose.PAYMENT_METHOD_UPDATE,
    # After a case resolved (collections_desk/csat.py): the invoice is paid, no pay link.
    "csat_survey": Purpose.CSAT_SURVEY,
    # An offline payer's reminder sequence (dunning/decisions/policy_settings/offline_reminders.py).
    "offline_due": Purpose.OFFLINE_DUE,
    "offline_follow_up": Purpose.OFFLINE_FOLLOW_UP,
    "offline_second_follow_up": Purpose.OFFLINE_SECOND_FOLLOW_UP,
    "offline_final_notice": Purpose.OFFLINE_FINAL_NOTICE,
    # Before a renewal likely to fail (analytics/at_risk/campaigns.py): nothing is owed yet.
    "pre_dunning_card_update": Purpose.PRE_DUNNING_CARD_UPDATE,
}
OFFLINE_PURPOSES = frozenset(
    {
        Purpose.OFFLINE_DUE,
        Purpose.OFFLINE_FOLLOW_UP,
        Purpose.OFFLINE_SECOND_FOLLOW_UP,
        Purpose.OFFLINE_FINAL_NOTICE,
    }
)
# Messages that ask for nothing owed: sent whatever the status of the invoice they hang on.
NOTHING_OWED = (Purpose.CSAT_SURVEY, Purpose.PRE_DUNNING_CARD_UPDATE)
TICKETS_SHOWN = 3
TICKET_WINDOW = timedelta(days=30)
TICKET_CHARS = 600
PERIOD_WORDS = {"monthly", "yearly", "annual", "annually", "quarterly", "weekly"}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}

# The decline, as a customer would want it explained: each a clause that reads after "but"
# or a colon. Codes first, then the category.
PLAIN_REASONS = (
    ({"51", "insufficient_funds"}, "your bank declined it because the card had insufficient funds"),
    ({"54", "expired_card"}, "the card on file has expired"),
    (
        AUTHENTICATION_CODES | {"authentication_required"},
        "your bank asked for an extra security check before approving it",
    ),
    (
        {"91", "96", "processing_error", "gateway_error", "gateway_timeout"},
        "a temporary problem at the bank or the payment processor stopped it",
    ),
    ({"R0", "R1", "R3"}, "the bank says recurring payments on this card were stopped"),
    ({"41", "43"}, "the bank reports that this card can no longer be used"),
    ({"59", "suspected_fraud"}, "the bank's fraud checks stopped the payment"),
    ({"14", "15", "55", "82", "N7", "6P"}, "the bank could not verify the card details"),
    ({"05", "do_not_honor"}, "your bank declined it without giving us a reason"),
)


class DeliveryRefused(ApplicationError):
    """This action cannot become a message, and trying again will not change that."""


@dataclass(frozen=True)
class Case:
    customer: Customer
    invoice: Invoice
    purpose: str
    channel: str
    recipient: str
    time_zone: str
    retry_at: datetime | None
    brief: DraftBrief
    values: dict[str, str]  # placeholder -> value; PII, never given to a drafter


def purpose_of(action: Action) -> str:
    template = action.params.get("template", "")
    if template:
        if template not in TEMPLATE_PURPOSES:
            raise DeliveryRefused(f"unknown message template {template!r}")
        return TEMPLATE_PURPOSES[template]
    if action.kind == ActionKind.AUTHENTICATION_LINK:
        return Purpose.AUTHENTICATION_NEEDED
    return Purpose.PAYMENT_METHOD_UPDATE


def decline_in_plain_words(transaction: Transaction | None) -> str:
    if transaction is None:
        return ""
    said = {
        transaction.decline_code,
        transaction.network_error_code,
        transaction.error_code,
        transaction.error_category,
    } - {""}
    for codes, words in PLAIN_REASONS:
        if said & codes:
            return words
    if said & VISA_CATEGORY_1:
        return "the bank says this card can no longer be charged"
    return "your bank declined the payment" if said else ""


def amount_label(minor: int, currency: str) -> str:
    currency = (currency or "").upper()
    value = amount_text(minor, currency)
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}".strip()


def plan_label(plan_id: str) -> str:
    """``pro-USD-monthly`` -> ``Pro``: the plan's name without currency or billing period."""
    words = [
        word
        for word in re.split(r"[-_\s]+", plan_id)
        if word and not (len(word) == 3 and word.isupper()) and word.lower() not in PERIOD_WORDS
    ]
    return " ".join(word.capitalize() for word in words)[:40]


def date_label(at: datetime, time_zone: str) -> str:
    local = at.astimezone(ZoneInfo(time_zone))
    return f"{local:%A} {local.day} {local:%B}"


@dataclass(frozen=True)
class CaseFacts:
    """What ``case_read`` reads from the mirror for one invoice, read for a page at once."""

    invoice: Invoice  # with its customer and subscription
    failed: Transaction | None  # the latest failed payment
    sources: dict[str, PaymentSource]  # the cards the reading may name, by Chargebee id
    tickets: tuple[tuple[str, str], ...]  # recent (subject, body), at most TICKETS_SHOWN


def _latest_failure(invoice_id) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        invoice_id=invoice_id, type="payment", status="failure"
    ).order_by("-date", "-id")


def case_facts_read(*, invoice_ids: list[str]) -> dict[str, CaseFacts]:
    """``CaseFacts`` for each invoice, in four queries however many invoices."""
    invoices = list(
        Invoice.objects.filter(cb_id__in=set(invoice_ids))
        .select_related("customer", "subscription")
        .annotate(latest_failure=Subquery(_latest_failure(OuterRef("cb_id")).values("pk")[:1]))
    )
    failures = {
        t.invoice_id: t
        for t in Transaction.objects.filter(
            pk__in=[i.latest_failure for i in invoices if i.latest_failure]
        )
    }
    wanted = {failures[i.cb_id].payment_source_cb_id for i in invoices if i.cb_id in failures}
    wanted |= {i.customer.primary_payment_source_id for i in invoices}
    sources = {s.cb_id: s for s in PaymentSource.objects.filter(cb_id__in=wanted - {"", None})}
    tickets: dict[str, list[tuple[str, str]]] = {}
    recent = SupportTicket.objects.filter(
        customer_cb_id__in={i.customer_id for i in invoices},
        created_at__gte=timezone.now() - TICKET_WINDOW,
    ).values_list("customer_cb_id", "subject", "body")
    for customer_id, subject, body in recent:
        tickets.setdefault(customer_id, []).append((subject, body))
    return {
        i.cb_id: CaseFacts(
            i, failures.get(i.cb_id), sources, tuple(tickets.get(i.customer_id, ())[:TICKETS_SHOWN])
        )
        for i in invoices
    }


def case_read(
    *, action: Action, links: dict[str, str], channel: str = "", facts: CaseFacts | None = None
) -> Case:
    """``channel`` overrides the action's (the channel settings switched its own off);
    ``facts``: the mirror's rows already read for a page (``case_facts_read``)."""
    if action.kind not in MESSAGE_KINDS:
        raise DeliveryRefused(f"a {action.kind} action sends no message")
    invoice = (
        facts.invoice
        if facts
        else Invoice.objects.select_related("customer", "subscription").get(cb_id=action.invoice_id)
    )
    customer = invoice.customer
    purpose = purpose_of(action)
    survey = purpose == Purpose.CSAT_SURVEY
    ahead = purpose == Purpose.PRE_DUNNING_CARD_UPDATE
    if purpose not in NOTHING_OWED and (invoice.status in ("paid", "voided") or invoice.deleted):
        raise DeliveryRefused(f"the invoice is {invoice.status or 'deleted'}: nothing to ask for")
    channel = channel or action.channel or Channel.EMAIL
    recipient = _recipient(customer, channel)
    zone = billing_time_zone(customer).zone or UNKNOWN_ZONE_FALLBACK
    needs_link = not survey and (
        action.kind != ActionKind.MESSAGE
        or bool(action.params.get("payment_method_link") or purpose != Purpose.RETRY_SCHEDULED)
    )
    if needs_link and not links.get("pay_link"):
        raise DeliveryRefused("the action needs a payment link and none was given")
    if survey and not links.get("survey_link"):
        raise DeliveryRefused("the survey needs its answer link and none was given")
    retry_at = _retry_at(action) if purpose == Purpose.RETRY_SCHEDULED else None
    failed = facts.failed if facts else _latest_failure(invoice.cb_id).first()
    if ahead:  # no failure yet: the card is the one on file, the amount the next renewal's
        failed = None
    values = {
        "first_name": customer.first_name or "there",
        "amount": amount_label(invoice.amount_due or invoice.total, invoice.currency_code),
        "pay_link": links.get("pay_link", ""),
        "retry_date": date_label(retry_at, zone) if retry_at else "",
        "card": _source_label(
            customer.primary_payment_source_id if ahead else _failed_source(failed),
            known=facts.sources if facts else None,
        ),
        "survey_link": links.get("survey_link", ""),
    }
    required = _required(purpose=purpose, channel=channel, needs_link=needs_link)
    brief = DraftBrief(
        purpose=purpose,
        channel=channel,
        segment=action.decision.segment,
        tone=str(action.params.get("tone", "")),
        plan=plan_label(invoice.subscription.plan_id) if invoice.subscription else "",
        decline_reason=_reason(action=action, purpose=purpose, failed=failed),
        tenure_months=_tenure_months(customer),
        reminder=bool(action.params.get("reminder")),
        needs_link=needs_link,
        tickets=_tickets(customer, rows=facts.tickets if facts else None),
        required=required,
        filled_lengths={name: len(values[name]) for name in PLACEHOLDERS},
        variant=zlib.crc32(str(action.pk).encode()),
        payment_instructions=offline_payment_instructions() if purpose in OFFLINE_PURPOSES else "",
        next_step=str(action.params.get("next_step") or "")[:300],
    )
    return Case(customer, invoice, purpose, channel, recipient, zone, retry_at, brief, values)


def _reason(*, action: Action, purpose: str, failed: Transaction | None) -> str:
    """Why the message is sent, in plain words: the decline, or the renewal risk ahead."""
    if purpose == Purpose.PRE_DUNNING_CARD_UPDATE:
        return str(action.params.get("risk_reason") or "")
    if purpose in (Purpose.OFFLINE_REMINDER, Purpose.CSAT_SURVEY) or purpose in OFFLINE_PURPOSES:
        return ""
    return decline_in_plain_words(failed)


def _recipient(customer: Customer, channel: str) -> str:
    if channel == Channel.EMAIL:
        recipient = customer.email
    elif channel == Channel.SMS:
        recipient = str(customer.raw.get("phone") or "")
    elif channel == Channel.IN_APP:
        recipient = customer.cb_id
    else:
        raise DeliveryRefused(f"unknown channel {channel!r}")
    if not recipient:
        raise DeliveryRefused(f"the customer has no {Channel(channel).label} contact")
    return recipient


def _retry_at(action: Action) -> datetime:
    try:
        return datetime.fromisoformat(action.params["retry_at"])
    except (KeyError, TypeError, ValueError):
        raise DeliveryRefused("the message announces a retry but names no retry time") from None


def _required(*, purpose: str, channel: str, needs_link: bool) -> tuple[str, ...]:
    if purpose == Purpose.CSAT_SURVEY:  # nothing is owed any more: no amount, no pay link
        return ("first_name", "survey_link") if channel == Channel.EMAIL else ("survey_link",)
    if purpose == Purpose.PRE_DUNNING_CARD_UPDATE:  # nothing is owed: no amount
        return ("first_name", "pay_link") if channel == Channel.EMAIL else ("pay_link",)
    required = ["first_name", "amount"] if channel == Channel.EMAIL else []
    if purpose == Purpose.RETRY_SCHEDULED:
        required.append("retry_date")
    if needs_link:
        required.append("pay_link")
    return tuple(required)


def _failed_source(failed: Transaction | None) -> str:
    return failed.payment_source_cb_id if failed is not None else ""


def _source_label(source_id: str, *, known: dict[str, PaymentSource] | None = None) -> str:
    if known is not None:
        source = known.get(source_id)
    else:
        source = PaymentSource.objects.filter(cb_id=source_id).first() if source_id else None
    if source is None or not source.card_last4:
        return "your card"
    brand = (source.card_brand or "").replace("_", " ").title()
    return f"your {brand} card ending in {source.card_last4}".replace("  ", " ")


def _tenure_months(customer: Customer) -> int:
    if customer.cb_created_at is None:
        return 0
    return max(0, (timezone.now() - customer.cb_created_at).days // 30)


def _tickets(customer: Customer, *, rows=None) -> tuple[str, ...]:
    """Recent tickets, redacted: what the customer told support matters to the tone."""
    names = [customer.first_name, customer.last_name, customer.company]
    names.append(customer.email.split("@")[0])
    if rows is None:
        rows = SupportTicket.objects.filter(
            customer_cb_id=customer.cb_id, created_at__gte=timezone.now() - TICKET_WINDOW
        ).values_list("subject", "body")[:TICKETS_SHOWN]
    return tuple(
        text_redact(f"{subject}\n{body}", known_names=names)[:TICKET_CHARS]
        for subject, body in rows
    )
