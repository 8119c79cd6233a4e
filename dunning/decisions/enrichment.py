"""Building a decision's context from the mirror, as it stood at one moment.

Transactions, tickets and usage are read up to ``at`` only, so deciding again about a past
event (a replay) sees what the first decision saw. The invoice's own status is read as
"open at ``at``": due now, or paid/voided only after ``at``.

Where the mirror is incomplete (the invoice or customer only a stub, the failed payment or
its card never sent), the missing objects are read from Chargebee through the SDK and
written into the mirror the way webhook processing writes them, before the context is built.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chargebee import APIError
from django.db.models import Exists, F, Func, QuerySet, Subquery
from django.utils import timezone

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.recovery_data import failure_features
from dunning.decisions.learning.retry_prior import FUNDS_CODES
from dunning.decisions.learning.shadow_counting import (
    actions_done_by,
    attempts_with_shadow,
    shadow_retries_run,
)
from dunning.decisions.policy_settings.channel_settings import channel_settings_read
from dunning.decisions.policy_settings.offline_reminders import offline_schedule_current
from dunning.decisions.rules.declines import card_attempts, decline_of
from dunning.decisions.rules.final_actions import final_action_kinds
from dunning.decisions.rules.gateway_pauses import gateway_state_at
from dunning.decisions.rules.holds import invoice_hold_active
from dunning.decisions.rules.network_rules import card_updater_wanted
from dunning.decisions.timing.paydays import payday_shares
from dunning.decisions.timing.time_zones import (
    CustomerTimeZone,
    billing_time_zone,
    customer_time_zone,
)
from dunning.enrichment.card_updater.answers import CardUpdaterFinding
from dunning.enrichment.card_updater.lookup import card_update_lookup
from dunning.enrichment.signals.providers import signals_merged
from dunning.helpers.compiled_queries import CompiledQuery
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    Invoice,
    PaymentSource,
    Transaction,
)
from dunning.models.mirror import DUE_STATUSES
from dunning.sync.chargebee_budget import Priority
from dunning.sync.chargebee_calls import call_with_backoff
from dunning.sync.chargebee_client import chargebee_client
from dunning.sync.mirror.resources import SPECS, resource_version
from dunning.sync.mirror.upsert import mirror_stubs_ensure, mirror_upsert

logger = logging.getLogger("dunwell.decisions")

ENDED_DUNNING = ("exhausted", "stopped")
CONTACT_KINDS = (
    ActionKind.MESSAGE,
    ActionKind.PAYMENT_METHOD_LINK,
    ActionKind.AUTHENTICATION_LINK,
)

# Where the billing address places no clock at all, a decision still needs one; the context
# says so (``time_zone_known_by`` "unknown") so the sentence can tell.
UNKNOWN_ZONE_FALLBACK = "UTC"


def time_zone_of(country: str) -> str:
    """The billing country's zone (its likeliest one if it spans several), else UTC.

    For callers that know only the country; ``customer_time_zone`` also reads the state and
    postcode and says how the zone was known.
    """
    return customer_time_zone(country=country).zone or UNKNOWN_ZONE_FALLBACK


def _time_zone_fields(zone: CustomerTimeZone) -> dict:
    return {"time_zone": zone.zone or UNKNOWN_ZONE_FALLBACK, "time_zone_known_by": zone.known_by}


def invoice_pays_offline(invoice: Invoice) -> bool:
    """Chargebee collects nothing automatically from this customer (``auto_collection`` off)."""
    return (invoice.customer.auto_collection or "on") == "off"


def invoice_open_at(invoice: Invoice, at: datetime) -> bool:
    if invoice.status in DUE_STATUSES:
        return True
    closed_at = invoice.paid_at or invoice.voided_at
    return closed_at is not None and closed_at > at


SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


def mirror_store(*, key: str, obj: dict) -> None:
    """Write one Chargebee object (as the API returns it) into the mirror, version-guarded."""
    spec = SPEC_BY_KEY[key]
    if problem := spec.problem(obj):
        raise ValueError(f"Chargebee answered an object Dunwell cannot mirror: {problem}")
    for model, cb_id, stub_fields in spec.references(obj):
        mirror_stubs_ensure(model=model, cb_ids={cb_id: stub_fields})
    mirror_upsert(
        model=spec.model,
        cb_id=obj[spec.id_key],
        version=resource_version(obj, int(timezone.now().timestamp() * 1000)),
        fields=spec.fields(obj, deleted=False),
    )


def _missing_transaction_ids(invoice: Invoice) -> set[str]:
    attempts = invoice.dunning_attempts if isinstance(invoice.dunning_attempts, list) else []
    named = {
        a["transaction_id"]
        for a in attempts
        if isinstance(a, dict) and isinstance(a.get("transaction_id"), str)
    }
    known = Transaction.objects.filter(cb_id__in=named, resource_version__gt=0)
    return named - set(known.values_list("cb_id", flat=True))


def mirror_fill_gaps(*, invoice: Invoice) -> Invoice:
    """Read from Chargebee what the mirror lacks for deciding about ``invoice``.

    A 429 or 5xx waits and retries (``call_with_backoff``); if Chargebee stays unavailable
    the error propagates, the decision job fails and the decisions relay tries again later,
    so nothing is decided on a half-known invoice. An object Chargebee no longer has (404)
    is left as the mirror knows it.
    """
    client = chargebee_client()
    reads = []
    if invoice.is_stub:
        reads.append(("invoice", lambda: client.Invoice.retrieve(invoice.cb_id).invoice))
    if invoice.customer.is_stub:
        reads.append(("customer", lambda: client.Customer.retrieve(invoice.customer_id).customer))
    for key, read in reads:
        _store_read(key=key, read=read)
    if reads:
        invoice = Invoice.objects.select_related("customer").get(pk=invoice.pk)
    if _missing_transaction_ids(invoice):
        page = _read(lambda: client.Transaction.payments_for_invoice(invoice.cb_id, {"limit": 100}))
        for entry in page.list if page is not None else []:
            mirror_store(key="transaction", obj=entry.transaction.raw_data)
    used = set(
        Transaction.objects.filter(invoice_id=invoice.cb_id, status="failure")
        .exclude(payment_source_cb_id="")
        .values_list("payment_source_cb_id", flat=True)
    )
    sources = used - set(
        PaymentSource.objects.filter(cb_id__in=used, resource_version__gt=0).values_list(
            "cb_id", flat=True
        )
    )
    for source_id in sorted(sources):
        _store_read(
            key="payment_source",
            read=lambda s=source_id: client.PaymentSource.retrieve(s).payment_source,
        )
    return invoice


def _read(call):
    try:
        return call_with_backoff(call, priority=Priority.ENRICH)
    except APIError as error:
        if getattr(error, "http_status_code", None) != 404:
            raise
        logger.warning("enrichment: Chargebee no longer has it: %s", error)
        return None


def _store_read(*, key: str, read) -> None:
    obj = _read(read)
    if obj is not None:
        mirror_store(key=key, obj=obj.raw_data)


def _card_updater_finding(
    *, invoice: Invoice, last: Transaction | None, decline, card_changed: bool
) -> CardUpdaterFinding | None:
    """Ask the card updater, but only where the policy would otherwise ask the customer."""
    if last is None or card_changed or not last.payment_source_cb_id:
        return None
    if invoice.status not in DUE_STATUSES or (invoice.customer.auto_collection or "on") == "off":
        return None
    if not card_updater_wanted(decline=decline, failed_at=last.date, attempts=()):
        return None
    source = PaymentSource.objects.filter(cb_id=last.payment_source_cb_id).first()
    if source is None or source.type not in ("", "card"):
        return None
    return card_update_lookup(
        customer_id=invoice.customer_id, payment_source=source, failed_at=last.date
    )


def decision_context_build(*, invoice: Invoice, at: datetime, trigger: str) -> DecisionContext:
    invoice = mirror_fill_gaps(invoice=invoice)
    customer = invoice.customer
    failures = list(
        Transaction.objects.filter(
            invoice_id=invoice.cb_id, type="payment", status="failure", date__lte=at
        ).order_by("date", "id")
    )
    first, last = (failures[0], failures[-1]) if failures else (None, None)
    decline = decline_of(transaction=last) if last else None
    gateway = last.gateway if last else ""
    gateway_state = gateway_state_at(gateway=gateway, at=at) if gateway else None
    counted = _counts(invoice=invoice, at=at, first=first, last=last)
    card_changed = counted["card_changed"]
    paid = counted["paid"]
    contacts = counted["contacts"]
    shadow_retries = shadow_retries_run(invoice_id=invoice.cb_id, at=at)
    last_attempt_at, attempts_before = None, ()
    if last is not None:
        last_attempt_at, attempts_before = attempts_with_shadow(
            last_failed_at=last.date,
            card_attempts=tuple(card_attempts(transaction=last, before=last.date)),
            shadow_retries=shadow_retries,
        )
    hold = invoice_hold_active(invoice_id=invoice.cb_id, at=at)
    recovery_features = {}
    if first is not None:
        source = PaymentSource.objects.filter(cb_id=first.payment_source_cb_id).first()
        recovery_features = failure_features(
            transaction=first,
            invoice=invoice,
            source=source,
            prior_failures=counted["prior_failures"],
        )
    zone = billing_time_zone(customer)
    return DecisionContext(
        invoice_id=invoice.cb_id,
        customer_id=customer.cb_id,
        at=at,
        trigger=trigger,
        currency=invoice.currency_code,
        amount_due=invoice.amount_due or invoice.total,
        invoice_open=invoice_open_at(invoice, at),
        auto_collection=not invoice_pays_offline(invoice),
        decline=decline,
        first_failed_at=first.date if first else None,
        last_failed_at=last_attempt_at,
        invoice_failures=len(failures) + len(shadow_retries),
        card_attempts=attempts_before,
        gateway=gateway,
        gateway_down=bool(gateway_state and gateway_state.down),
        gateway_reason=gateway_state.reason if gateway_state else "",
        card_changed_since_failure=card_changed,
        country=customer.country,
        **_time_zone_fields(zone),
        lifetime_value=int(paid or 0),
        tenure_days=(at - customer.cb_created_at).days if customer.cb_created_at else 0,
        other_unpaid_invoices=counted["other_unpaid"],
        contacts_last_7d=contacts,
        dunwell_retries=counted["retries"],
        dunwell_in_charge=counted["take_overs"] > 0,
        signals=signals_merged(customer_id=customer.cb_id, at=at),
        recovery_features=recovery_features,
        chargebee_dunning_active=invoice.dunning_status not in ENDED_DUNNING,
        subscription_active=invoice.subscription is None
        or invoice.subscription.status not in ("cancelled", "non_renewing"),
        final_actions=final_action_kinds(),
        cancellation_pending=counted["cancellation_pending"],
        card_updater=_card_updater_finding(
            invoice=invoice, last=last, decline=decline, card_changed=card_changed
        ),
        due_at=invoice.due_date or invoice.date,
        offline_steps_taken=offline_steps_taken(invoice_id=invoice.cb_id),
        offline_schedule=offline_schedule_current(),
        hold_until=hold.until if hold else None,
        hold_reason=hold.reason if hold else "",
        payday_shares=payday_shares(
            recoveries=funds_recoveries(customer_id=customer.cb_id, before=at),
            time_zone=zone.zone or UNKNOWN_ZONE_FALLBACK,
        ),
        quiet_hours=channel_settings_read().quiet,
    )


def _scalar(queryset, function: str, column: str = "pk") -> Subquery:
    """``function`` (COUNT or SUM) over ``queryset`` as a subquery (a plain function, so the
    outer statement is not grouped by it)."""
    return Subquery(
        queryset.order_by().annotate(value=Func(F(column), function=function)).values("value")
    )


def _counts_statement(
    *,
    customer_id: str,
    invoice_cb_id: str,
    invoice_pk: int,
    at: datetime,
    week_before: datetime,
    first_failed_at: datetime | None = None,
    year_before_first: datetime | None = None,
    last_failed_at: datetime | None = None,
    subscription_id: str | None = None,
) -> QuerySet:
    """What the context counts about the customer and Dunwell's own actions, in one
    statement: each count a subquery on the invoice's row."""
    payments = Transaction.objects.filter(customer_id=customer_id, type="payment")
    # What Dunwell already did, counted the same way in every mode (shadow_counting.py).
    done = actions_done_by(at=at)
    own = done.filter(invoice_id=invoice_cb_id)
    values = {
        # What the customer paid until ``at``.
        "paid": _scalar(payments.filter(status="success", date__lte=at), "SUM", "amount"),
        "contacts": _scalar(
            done.filter(
                customer_id=customer_id,
                kind__in=CONTACT_KINDS,
                scheduled_for__gt=week_before,
                scheduled_for__lte=at,
            ),
            "COUNT",
        ),
        "retries": _scalar(own.filter(kind=ActionKind.RETRY), "COUNT"),
        "take_overs": _scalar(own.filter(kind=ActionKind.TAKE_OVER), "COUNT"),
        "other_unpaid": _scalar(
            Invoice.objects.filter(customer_id=customer_id, status__in=DUE_STATUSES).exclude(
                pk=invoice_pk
            ),
            "COUNT",
        ),
    }
    if first_failed_at is not None:
        # The customer's failures in the year before this invoice's first (other invoices).
        values["prior_failures"] = _scalar(
            payments.filter(
                status="failure", date__gte=year_before_first, date__lt=first_failed_at
            ).exclude(invoice_id=invoice_cb_id),
            "COUNT",
        )
    if last_failed_at is not None:
        values["card_changed"] = Exists(
            PaymentSource.objects.filter(
                customer_id=customer_id,
                cb_updated_at__gt=last_failed_at,
                cb_updated_at__lte=at,
                status="valid",
            )
        )
    if subscription_id is not None:
        values["cancellation_pending"] = Exists(
            Action.objects.filter(
                kind=ActionKind.CANCEL_SUBSCRIPTION,
                invoice__subscription_id=subscription_id,
                state__in=(ActionState.PROPOSED, ActionState.APPROVED, ActionState.SCHEDULED),
            ).exclude(invoice_id=invoice_cb_id)
        )
    return Invoice.objects.filter(pk=invoice_pk).values(**values)


# Compiling its nine subqueries cost a quarter of a decision's CPU, every decision.
_COUNTS = CompiledQuery(_counts_statement)


def _counts(
    *, invoice: Invoice, at: datetime, first: Transaction | None, last: Transaction | None
) -> dict:
    arguments: dict = {
        "customer_id": invoice.customer_id,
        "invoice_cb_id": invoice.cb_id,
        "invoice_pk": invoice.pk,
        "at": at,
        "week_before": at - timedelta(days=7),
    }
    if first is not None:
        arguments["first_failed_at"] = first.date
        arguments["year_before_first"] = first.date - timedelta(days=365)
    if last is not None:
        arguments["last_failed_at"] = last.date
    if invoice.subscription_id is not None:
        arguments["subscription_id"] = invoice.subscription_id
    (counted,) = _COUNTS.rows(**arguments)
    return {"card_changed": False, "cancellation_pending": False, "prior_failures": 0, **counted}


def _failures_before_statement(*, customer_id: str, before: datetime) -> QuerySet:
    return (
        Transaction.objects.filter(
            customer_id=customer_id, type="payment", status="failure", date__lt=before
        )
        .order_by("date")
        .values("invoice_id", "date", "decline_code", "error_code")
    )


_FAILURES_BEFORE = CompiledQuery(_failures_before_statement)


def funds_recoveries(*, customer_id: str, before: datetime) -> list[tuple[float, float]]:
    """(declined, paid) moments of the customer's earlier invoices first declined for lack
    of funds and paid afterwards, all before ``before``."""
    first: dict[str, tuple[datetime, str]] = {}
    for row in _FAILURES_BEFORE.rows(customer_id=customer_id, before=before):
        first.setdefault(row["invoice_id"], (row["date"], row["decline_code"] or row["error_code"]))
    funds = {k: v for k, v in first.items() if v[1] in FUNDS_CODES}
    paid = Transaction.objects.filter(
        invoice_id__in=list(funds), type="payment", status="success", date__lt=before
    ).values_list("invoice_id", "date")
    return [
        (funds[invoice_id][0].timestamp(), date.timestamp())
        for invoice_id, date in paid
        if date > funds[invoice_id][0]
    ]


def _messages_statement(*, invoice_id: str) -> QuerySet:
    return (
        Action.objects.filter(invoice_id=invoice_id, kind=ActionKind.MESSAGE)
        .exclude(state=ActionState.CANCELLED)
        .values("params", "mode")
    )


_MESSAGES = CompiledQuery(_messages_statement)


def offline_steps_taken(*, invoice_id: str) -> tuple[tuple[str, str], ...]:
    """The offline reminder steps already proposed on the invoice (a cancelled one is not)."""
    return tuple(
        (row["params"]["offline_step"], row["mode"])
        for row in _MESSAGES.rows(invoice_id=invoice_id)
        if isinstance(row["params"], dict) and row["params"].get("offline_step")
    )
