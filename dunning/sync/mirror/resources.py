"""Chargebee JSON objects to mirror rows: one spec per resource, shared by every path.

A spec says which model a content key fills, how to read its fields, and which other
objects it points at (so a stub can exist before Chargebee sends them). Handles Product
Catalog 1.0 (``plan_id``) and 2.0 (``subscription_items``) subscriptions and both the
``payment_source`` and the legacy ``card`` resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model

from dunning.models import Customer, Invoice, PaymentSource, Subscription, Transaction


def ts(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**33:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def text(obj: dict, key: str, limit: int = 100) -> str:
    value = obj.get(key)
    return "" if value is None else str(value)[:limit]


def integer(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**62:
        return None
    return value


def money(obj: dict, key: str) -> int:
    return integer(obj, key) or 0


def nested(obj: dict, key: str) -> dict:
    """A nested object, or an empty one when the payload has something else there."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def listed(obj: dict, key: str) -> list:
    """A nested list, or an empty one when the payload has something else there."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def reference(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def resource_version(obj: dict, fallback_ms: int) -> int:
    """Chargebee's resource_version (ms); else updated_at; else the event time."""
    version = obj.get("resource_version")
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < 2**62:
        return version
    updated = obj.get("updated_at")
    if isinstance(updated, int) and not isinstance(updated, bool) and 0 < updated < 2**33:
        return updated * 1000
    return fallback_ms


# A reference: (model, Chargebee id, the fields a stub of it needs).
Reference = tuple[type[Model], str, dict]


@dataclass(frozen=True)
class ResourceSpec:
    key: str  # the key in an event's ``content``
    model: type[Model]
    id_key: str
    required: tuple[str, ...]
    read: Callable[[dict], dict]
    references: Callable[[dict], list[Reference]]

    def fields(self, obj: dict, *, deleted: bool) -> dict:
        return {
            **self.read(obj),
            "cb_updated_at": ts(obj.get("updated_at")),
            "deleted": deleted or bool(obj.get("deleted")),
            "raw": obj,
        }

    def problem(self, obj: object) -> str | None:
        """Why ``obj`` cannot be mirrored (e.g. "content.invoice.id is missing"), or None."""
        if not isinstance(obj, dict):
            return f"content.{self.key} is not an object"
        for key in self.required:
            if not isinstance(obj.get(key), str) or not obj[key]:
                return f"content.{self.key}.{key} is missing"
        return None


# What the desk shows of a billing address (Chargebee's billing_address attributes).
BILLING_ADDRESS_FIELDS = (
    "company",
    "line1",
    "line2",
    "line3",
    "city",
    "state",
    "state_code",
    "zip",
    "country",
    "phone",
)


def _customer(obj: dict) -> dict:
    payment_method = nested(obj, "payment_method")
    billing = nested(obj, "billing_address")
    return {
        "first_name": text(obj, "first_name", 150),
        "last_name": text(obj, "last_name", 150),
        "email": text(obj, "email", 254),
        "phone": text(obj, "phone", 50),
        "billing_address": {
            key: str(value)[:150]
            for key, value in billing.items()
            if key in BILLING_ADDRESS_FIELDS and value
        },
        "company": text(obj, "company", 250),
        "locale": text(obj, "locale", 50),
        "country": text(billing, "country", 2),
        "billing_state_code": text(billing, "state_code", 50),
        "billing_state": text(billing, "state", 50),
        "billing_zip": text(billing, "zip", 20),
        "auto_collection": text(obj, "auto_collection", 5),
        "net_term_days": money(obj, "net_term_days"),
        "card_status": text(obj, "card_status", 30),
        "payment_method_type": text(payment_method, "type", 40),
        "payment_method_status": text(payment_method, "status", 30),
        "primary_payment_source_id": text(obj, "primary_payment_source_id"),
        "preferred_currency_code": text(obj, "preferred_currency_code", 3),
        "cb_created_at": ts(obj.get("created_at")),
    }


def _payment_source(obj: dict) -> dict:
    card = nested(obj, "card")
    return {
        "customer_id": obj["customer_id"],
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


def _legacy_card(obj: dict) -> dict:
    return {
        "customer_id": obj["customer_id"],
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


def _plan_of(obj: dict) -> tuple[int, str]:
    if "subscription_items" in obj:
        items = [i for i in listed(obj, "subscription_items") if isinstance(i, dict)]
        plans = [i for i in items if i.get("item_type") == "plan"] or items
        return 2, text(plans[0], "item_price_id") if plans else ""
    return 1, text(obj, "plan_id")


def _subscription(obj: dict) -> dict:
    catalog_version, plan_id = _plan_of(obj)
    return {
        "customer_id": obj["customer_id"],
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


def _invoice(obj: dict) -> dict:
    return {
        "customer_id": obj["customer_id"],
        "subscription_id": reference(obj, "subscription_id"),
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
        "expected_payment_date": ts(obj.get("expected_payment_date")),
        "paid_at": ts(obj.get("paid_at")),
        "voided_at": ts(obj.get("voided_at")),
        "dunning_attempts": listed(obj, "dunning_attempts"),
    }


def _linked_invoice_ids(obj: dict) -> list[str]:
    links = listed(obj, "linked_invoices")
    return [
        str(link["invoice_id"])
        for link in links
        if isinstance(link, dict) and link.get("invoice_id")
    ]


def _transaction(obj: dict) -> dict:
    # GatewayErrorDetail; some payloads name the object gateway_error_detail.
    detail = nested(obj, "error_detail") or nested(obj, "gateway_error_detail")
    masked = text(obj, "masked_card_number", 40)
    customer = reference(obj, "customer_id")
    linked = _linked_invoice_ids(obj)
    return {
        "customer_id": customer,
        "invoice_id": linked[0] if linked and customer else None,
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


def _customer_of(obj: dict) -> list[Reference]:
    return [(Customer, obj["customer_id"], {})]


def _invoice_references(obj: dict) -> list[Reference]:
    refs: list[Reference] = [(Customer, obj["customer_id"], {})]
    if subscription := reference(obj, "subscription_id"):
        refs.append((Subscription, subscription, {"customer_id": obj["customer_id"]}))
    return refs


def _transaction_references(obj: dict) -> list[Reference]:
    customer = reference(obj, "customer_id")
    if customer is None:
        return []
    refs: list[Reference] = [(Customer, customer, {})]
    if linked := _linked_invoice_ids(obj):
        refs.append((Invoice, linked[0], {"customer_id": customer}))
    return refs


# In the order they are applied: referenced objects before those pointing at them.
SPECS = (
    ResourceSpec("customer", Customer, "id", ("id",), _customer, lambda obj: []),
    ResourceSpec(
        "payment_source", PaymentSource, "id", ("id", "customer_id"), _payment_source, _customer_of
    ),
    ResourceSpec(
        "card",
        PaymentSource,
        "payment_source_id",
        ("payment_source_id", "customer_id"),
        _legacy_card,
        _customer_of,
    ),
    ResourceSpec(
        "subscription", Subscription, "id", ("id", "customer_id"), _subscription, _customer_of
    ),
    ResourceSpec("invoice", Invoice, "id", ("id", "customer_id"), _invoice, _invoice_references),
    ResourceSpec("transaction", Transaction, "id", ("id",), _transaction, _transaction_references),
)
# Stubs are created in this order, so a stub's own references exist first.
MODEL_ORDER = (Customer, PaymentSource, Subscription, Invoice, Transaction)
