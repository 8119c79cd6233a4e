"""Building a decision's context from the mirror, as it stood at one moment.

Transactions, tickets and usage are read up to ``at`` only, so deciding again about a past
event (a replay) sees what the first decision saw. The invoice's own status is read as
"open at ``at``": due now, or paid/voided only after ``at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, Sum

from dunning.decisions.context import DecisionContext
from dunning.decisions.declines import card_attempts, decline_of
from dunning.decisions.outages import gateway_health
from dunning.decisions.recovery_data import failure_features
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    Invoice,
    PaymentSource,
    Transaction,
)
from dunning.signals.providers import signals_merged

DUE_STATUSES = ("payment_due", "not_paid")
ENDED_DUNNING = ("exhausted", "stopped")
CONTACT_KINDS = (
    ActionKind.MESSAGE,
    ActionKind.PAYMENT_METHOD_LINK,
    ActionKind.AUTHENTICATION_LINK,
)
COMMITTED_STATES = (ActionState.APPROVED, ActionState.SCHEDULED, ActionState.EXECUTED)

# Chargebee keeps no time zone for a customer; the billing country's main zone stands in.
COUNTRY_TIME_ZONES = {
    "US": "America/Chicago", "CA": "America/Toronto", "GB": "Europe/London",
    "IE": "Europe/Dublin", "DE": "Europe/Berlin", "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam", "ES": "Europe/Madrid", "IT": "Europe/Rome",
    "SE": "Europe/Stockholm", "AU": "Australia/Sydney", "NZ": "Pacific/Auckland",
    "BR": "America/Sao_Paulo", "MX": "America/Mexico_City", "JP": "Asia/Tokyo",
    "IN": "Asia/Kolkata", "SG": "Asia/Singapore",
}  # fmt: skip


def time_zone_of(country: str) -> str:
    return COUNTRY_TIME_ZONES.get(country, "UTC")


def invoice_open_at(invoice: Invoice, at: datetime) -> bool:
    if invoice.status in DUE_STATUSES:
        return True
    closed_at = invoice.paid_at or invoice.voided_at
    return closed_at is not None and closed_at > at


def decision_context_build(*, invoice: Invoice, at: datetime, trigger: str) -> DecisionContext:
    customer = invoice.customer
    failures = list(
        Transaction.objects.filter(
            invoice_id=invoice.cb_id, type="payment", status="failure", date__lte=at
        ).order_by("date", "id")
    )
    first, last = (failures[0], failures[-1]) if failures else (None, None)
    decline = decline_of(transaction=last) if last else None
    gateway = last.gateway if last else ""
    health = gateway_health(gateway=gateway, at=at) if gateway else None
    card_changed = last is not None and (
        PaymentSource.objects.filter(
            customer_id=customer.cb_id, cb_updated_at__gt=last.date, cb_updated_at__lte=at,
            status="valid",
        ).exists()
    )  # fmt: skip
    paid = Transaction.objects.filter(
        customer_id=customer.cb_id, type="payment", status="success", date__lte=at
    ).aggregate(total=Sum("amount"))["total"]
    own_actions = Action.objects.filter(invoice_id=invoice.cb_id, state__in=COMMITTED_STATES)
    contacts = Action.objects.filter(
        customer_id=customer.cb_id,
        kind__in=CONTACT_KINDS,
        state__in=COMMITTED_STATES,
        scheduled_for__gt=at - timedelta(days=7),
        scheduled_for__lte=at,
    ).count()
    recovery_features = {}
    if first is not None:
        source = PaymentSource.objects.filter(cb_id=first.payment_source_cb_id).first()
        prior = (
            Transaction.objects.filter(
                customer_id=customer.cb_id, type="payment", status="failure",
                date__gte=first.date - timedelta(days=365), date__lt=first.date,
            ).exclude(invoice_id=invoice.cb_id).count()
        )  # fmt: skip
        recovery_features = failure_features(
            transaction=first, invoice=invoice, source=source, prior_failures=prior
        )
    return DecisionContext(
        invoice_id=invoice.cb_id,
        customer_id=customer.cb_id,
        at=at,
        trigger=trigger,
        currency=invoice.currency_code,
        amount_due=invoice.amount_due or invoice.total,
        invoice_open=invoice_open_at(invoice, at),
        auto_collection=(customer.auto_collection or "on") != "off",
        decline=decline,
        first_failed_at=first.date if first else None,
        last_failed_at=last.date if last else None,
        invoice_failures=len(failures),
        card_attempts=tuple(card_attempts(transaction=last, before=last.date)) if last else (),
        gateway=gateway,
        gateway_down=bool(health and health.down),
        gateway_reason=health.reason if health else "",
        card_changed_since_failure=card_changed,
        country=customer.country,
        time_zone=time_zone_of(customer.country),
        lifetime_value=int(paid or 0),
        tenure_days=(at - customer.cb_created_at).days if customer.cb_created_at else 0,
        other_unpaid_invoices=Invoice.objects.filter(
            Q(customer_id=customer.cb_id) & Q(status__in=DUE_STATUSES)
        )
        .exclude(pk=invoice.pk)
        .count(),
        contacts_last_7d=contacts,
        dunwell_retries=own_actions.filter(kind=ActionKind.RETRY).count(),
        dunwell_in_charge=own_actions.filter(kind=ActionKind.TAKE_OVER).exists(),
        signals=signals_merged(customer_id=customer.cb_id, at=at),
        recovery_features=recovery_features,
        chargebee_dunning_active=invoice.dunning_status not in ENDED_DUNNING,
        subscription_active=invoice.subscription is None
        or invoice.subscription.status not in ("cancelled", "non_renewing"),
    )
