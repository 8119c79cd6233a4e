"""Chargebee JSON objects to mirror fields, one function per resource.

Handles Product Catalog 1.0 (``plan_id``) and 2.0 (``subscription_items``) subscriptions
and both the ``payment_source`` and the legacy ``card`` resource.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dunning.mirror.upsert import Applied, mirror_stubs_ensure, mirror_upsert
from dunning.models import Customer, Invoice, PaymentSource, Subscription, Transaction


class References:
    """Stubs for the objects a payload points at, skipping those this event already wrote."""

    def __init__(self) -> None:
        self.known: set[tuple[type, str]] = set()

    def ensure(self, model: type, cb_id: str, **stub_fields: Any) -> str:
        if (model, cb_id) not in self.known:
            mirror_stubs_ensure(model=model, cb_ids={cb_id: stub_fields})
            self.known.add((model, cb_id))
        return cb_id

    def written(self, model: type, cb_id: str) -> None:
        self.known.add((model, cb_id))


def ts(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**33:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def text(obj: dict, key: str, limit: int = 100) -> str:
    value = obj.get(key)
    return "" if value is None else str(value)[:limit]


def money(obj: dict, key: str) -> int:
    return integer(obj, key) or 0


def integer(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**62:
        return None
    return value


def resource_version(obj: dict, fallback_ms: int) -> int:
    """Chargebee's resource_version (ms); else updated_at; else the event time."""
    version = obj.get("resource_version")
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < 2**62:
        return version
    updated = obj.get("updated_at")
    if isinstance(updated, int) and not isinstance(updated, bool):
        return updated * 1000
    return fallback_ms


def _common(obj: dict, deleted: bool) -> dict:
    return {
        "cb_updated_at": ts(obj.get("updated_at")),
        "deleted": deleted or bool(obj.get("deleted")),
        "raw": obj,
    }


def customer_apply(obj: dict, *, version: int, refs: References, deleted: bool = False) -> Applied:
    payment_method = obj.get("payment_method") or {}
    billing = obj.get("billing_address") or {}
    fields = {
        **_common(obj, deleted),
        "first_name": text(obj, "first_name", 150),
        "last_name": text(obj, "last_name", 150),
        "email": text(obj, "email", 254),
        "company": text(obj, "company", 250),
        "locale": text(obj, "locale", 50),
        "country": text(billing, "country", 2),
        "auto_collection": text(obj, "auto_collection", 5),
        "net_term_days": money(obj, "net_term_days"),
        "card_status": text(obj, "card_status", 30),
        "payment_method_type": text(payment_method, "type", 40),
        "payment_method_status": text(payment_method, "status", 30),
        "primary_payment_source_id": text(obj, "primary_payment_source_id"),
        "preferred_currency_code": text(obj, "preferred_currency_code", 3),
        "cb_created_at": ts(obj.get("created_at")),
    }
    refs.written(Customer, obj["id"])
    return mirror_upsert(model=Customer, cb_id=obj["id"], version=version, fields=fields)


def payment_source_apply(
    obj: dict, *, version: int, refs: References, deleted: bool = False
) -> Applied:
    card = obj.get("card") or {}
    fields = {
        **_common(obj, deleted),
        "customer_id": refs.ensure(Customer, obj["customer_id"]),
        "type": text(obj, "type", 40),
        "status": text(obj, "status", 30),
        "gateway": text(obj, "gateway", 50),
        "gateway_account_id": text(obj, "gateway_account_id"),
        "card_brand": text(card, "brand", 30),
        "card_funding_type": text(card, "funding_type", 20),
        "card_last4": text(card, "last4", 4),
        "card_expiry_month": integer(card, "expiry_month"),
        "card_expiry_year": integer(card, "expiry_year"),
        "issuing_country": text(obj, "issuing_country", 2),
    }
    refs.written(PaymentSource, obj["id"])
    return mirror_upsert(model=PaymentSource, cb_id=obj["id"], version=version, fields=fields)


def legacy_card_apply(
    obj: dict, *, version: int, refs: References, deleted: bool = False
) -> Applied:
    """The pre-payment-source ``card`` resource, mirrored onto its payment source."""
    fields = {
        **_common(obj, deleted),
        "customer_id": refs.ensure(Customer, obj["customer_id"]),
        "type": "card",
        "status": text(obj, "status", 30),
        "gateway": text(obj, "gateway", 50),
        "gateway_account_id": text(obj, "gateway_account_id"),
        "card_brand": text(obj, "card_type", 30),
        "card_funding_type": text(obj, "funding_type", 20),
        "card_last4": text(obj, "last4", 4),
        "card_expiry_month": integer(obj, "expiry_month"),
        "card_expiry_year": integer(obj, "expiry_year"),
    }
    refs.written(PaymentSource, obj["payment_source_id"])
    return mirror_upsert(
        model=PaymentSource, cb_id=obj["payment_source_id"], version=version, fields=fields
    )


def _plan_of(obj: dict) -> tuple[int, str]:
    if "subscription_items" in obj:
        items = obj.get("subscription_items") or []
        plans = [i for i in items if i.get("item_type") == "plan"] or items
        return 2, text(plans[0], "item_price_id") if plans else ""
    return 1, text(obj, "plan_id")


def subscription_apply(
    obj: dict, *, version: int, refs: References, deleted: bool = False
) -> Applied:
    catalog_version, plan_id = _plan_of(obj)
    fields = {
        **_common(obj, deleted),
        "customer_id": refs.ensure(Customer, obj["customer_id"]),
        "status": text(obj, "status", 20),
        "catalog_version": catalog_version,
        "plan_id": plan_id,
        "billing_period": integer(obj, "billing_period"),
        "billing_period_unit": text(obj, "billing_period_unit", 10),
        "currency_code": text(obj, "currency_code", 3),
        "mrr": integer(obj, "mrr"),
        "auto_collection": text(obj, "auto_collection", 5),
        "due_invoices_count": money(obj, "due_invoices_count"),
        "due_since": ts(obj.get("due_since")),
        "total_dues": money(obj, "total_dues"),
        "current_term_end": ts(obj.get("current_term_end")),
        "next_billing_at": ts(obj.get("next_billing_at")),
        "cancel_reason": text(obj, "cancel_reason", 50),
        "cancelled_at": ts(obj.get("cancelled_at")),
    }
    refs.written(Subscription, obj["id"])
    return mirror_upsert(model=Subscription, cb_id=obj["id"], version=version, fields=fields)


def invoice_apply(obj: dict, *, version: int, refs: References, deleted: bool = False) -> Applied:
    customer = refs.ensure(Customer, obj["customer_id"])
    subscription = None
    if isinstance(obj.get("subscription_id"), str) and obj["subscription_id"]:
        subscription = refs.ensure(Subscription, obj["subscription_id"], customer_id=customer)
    fields = {
        **_common(obj, deleted),
        "customer_id": customer,
        "subscription_id": subscription,
        "status": text(obj, "status", 20),
        "dunning_status": text(obj, "dunning_status", 20),
        "recurring": bool(obj.get("recurring", True)),
        "currency_code": text(obj, "currency_code", 3),
        "total": money(obj, "total"),
        "amount_paid": money(obj, "amount_paid"),
        "amount_due": money(obj, "amount_due"),
        "amount_to_collect": money(obj, "amount_to_collect"),
        "credits_applied": money(obj, "credits_applied"),
        "write_off_amount": money(obj, "write_off_amount"),
        "date": ts(obj.get("date")),
        "due_date": ts(obj.get("due_date")),
        "next_retry_at": ts(obj.get("next_retry_at")),
        "paid_at": ts(obj.get("paid_at")),
        "voided_at": ts(obj.get("voided_at")),
        "dunning_attempts": obj.get("dunning_attempts") or [],
    }
    refs.written(Invoice, obj["id"])
    return mirror_upsert(model=Invoice, cb_id=obj["id"], version=version, fields=fields)


def transaction_apply(
    obj: dict, *, version: int, refs: References, deleted: bool = False
) -> Applied:
    customer = None
    if isinstance(obj.get("customer_id"), str) and obj["customer_id"]:
        customer = refs.ensure(Customer, obj["customer_id"])
    linked = [
        link.get("invoice_id")
        for link in obj.get("linked_invoices") or []
        if link.get("invoice_id")
    ]
    invoice = None
    if linked and customer is not None:
        invoice = refs.ensure(Invoice, str(linked[0]), customer_id=customer)
    detail = obj.get("error_detail") or {}
    masked = text(obj, "masked_card_number", 40)
    fields = {
        **_common(obj, deleted),
        "customer_id": customer,
        "invoice_id": invoice,
        "subscription_cb_id": text(obj, "subscription_id"),
        "linked_invoice_ids": linked,
        "type": text(obj, "type", 20),
        "status": text(obj, "status", 20),
        "amount": money(obj, "amount"),
        "currency_code": text(obj, "currency_code", 3),
        "date": ts(obj.get("date")),
        "gateway": text(obj, "gateway", 50),
        "gateway_account_id": text(obj, "gateway_account_id"),
        "payment_method": text(obj, "payment_method", 40),
        "payment_source_cb_id": text(obj, "payment_source_id"),
        "card_last4": text(obj, "last4", 4) or (masked[-4:] if masked[-4:].isdigit() else ""),
        "error_code": text(obj, "error_code"),
        "error_text": text(obj, "error_text", 500),
        "error_category": text(detail, "error_category"),
        "decline_code": text(detail, "decline_code"),
        "decline_message": text(detail, "decline_message", 500),
        "network_error_code": text(detail, "network_error_code"),
        "processor_advice_code": text(detail, "processor_advice_code", 20),
        "recommendation_code": text(detail, "recommendation_code"),
        "error_detail": detail,
    }
    refs.written(Transaction, obj["id"])
    return mirror_upsert(model=Transaction, cb_id=obj["id"], version=version, fields=fields)


# Content keys in the order they are applied: referenced objects before those pointing at them.
APPLIERS = (
    ("customer", customer_apply),
    ("payment_source", payment_source_apply),
    ("card", legacy_card_apply),
    ("subscription", subscription_apply),
    ("invoice", invoice_apply),
    ("transaction", transaction_apply),
)

REQUIRED_KEYS = {
    "customer": ("id",),
    "payment_source": ("id", "customer_id"),
    "card": ("payment_source_id", "customer_id"),
    "subscription": ("id", "customer_id"),
    "invoice": ("id", "customer_id"),
    "transaction": ("id",),
}
