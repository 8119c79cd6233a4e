"""The sandbox's state: Chargebee objects in Chargebee's JSON shapes, and the events they emit.

Every change bumps the object's ``resource_version`` (milliseconds, as Chargebee does) and
records an event with a snapshot of the objects involved. The clock is injectable so a
simulator can run months of history in minutes.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _decline(code: str, text: str, category: str, network: bool = True) -> tuple[str, str, dict]:
    detail = {"decline_code": code, "error_category": category}
    if network:
        detail["network_error_code"] = code
    return code, text, detail


# behaviour -> (gateway error_code, error_text, error_detail)
DECLINES = {
    "insufficient_funds": _decline("51", "Insufficient funds", "soft_decline"),
    "do_not_honor": _decline("05", "Do not honor", "soft_decline"),
    "expired_card": _decline("54", "Expired card", "hard_decline"),
    "lost_or_stolen": _decline("43", "Stolen card, pick up", "hard_decline"),
    "authentication_required": _decline(
        "1A", "Authentication required", "authentication_required", network=False
    ),
    "processing_error": _decline("96", "System malfunction", "processing_error"),
    "gateway_timeout": ("timeout", "Gateway timeout", {"error_category": "gateway_error"}),
}


# A new Chargebee site's reason codes for cancelling a subscription include these.
DEFAULT_REASON_CODES = ("Not Paid", "No Card")


def _no_retry(invoice: dict) -> None:
    """Dunning is over: Chargebee leaves the retry keys out (never null)."""
    invoice.pop("next_retry_at", None)
    invoice.pop("expected_payment_date", None)


class SandboxError(Exception):
    """An API error in Chargebee's JSON error shape."""

    def __init__(
        self,
        status: int,
        api_error_code: str,
        message: str,
        error_type: str = "invalid_request",
        param: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = {
            "message": message,
            "type": error_type,
            "api_error_code": api_error_code,
            "error_code": api_error_code,
            "error_msg": message,
            "http_status_code": status,
        }
        if param:
            self.body["param"] = param


@dataclass
class Sandbox:
    site: str = "dunwell-test"
    # Distinguishes this sandbox's ids from an earlier run's (the counters restart at 1).
    id_token: str = field(default_factory=lambda: secrets.token_hex(2))
    api_key: str = "test_sandbox_key"
    clock: Callable[[], float] = time.time
    customers: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    transactions: dict[str, dict] = field(default_factory=dict)
    payment_sources: dict[str, dict] = field(default_factory=dict)
    comments: list[dict] = field(default_factory=list)
    hosted_pages: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    # payment source id -> what the next charges on it do ("succeed" or a DECLINES key)
    behaviours: dict[str, list[str]] = field(default_factory=dict)
    # Outside Chargebee: the helpdesk's tickets and the product's usage, per customer.
    tickets: list[dict] = field(default_factory=list)
    invoices_by_subscription: dict[str, list[str]] = field(default_factory=dict)
    usage: dict[str, list[dict]] = field(default_factory=dict)
    idempotent_responses: dict[tuple[str, str], tuple[int, dict]] = field(default_factory=dict)
    injected_failures: list[tuple[int, dict]] = field(default_factory=list)
    # path -> the error Chargebee answers the next request to it with (see ``refuse_next``).
    refusals: dict[str, SandboxError] = field(default_factory=dict)
    request_log: list[tuple[str, str]] = field(default_factory=list)
    event_listeners: list[Callable[[dict], None]] = field(default_factory=list)
    # The card networks' updater: payment source id -> a newer card (see card_updater.py).
    updater_cards: dict[str, dict] = field(default_factory=dict)
    # The site's own settings, as far as Chargebee's API shows them (sandbox/site.py).
    product_catalog_version: str = "v2"
    currencies: list[dict] = field(
        default_factory=lambda: [
            {
                "id": "USD",
                "enabled": True,
                "forex_type": "manual",
                "currency_code": "USD",
                "is_base_currency": True,
                "object": "currency",
            },
        ]
    )
    # Reason codes configured on the site (Settings > Reason codes); the API cannot list them.
    cancel_reason_codes: list[str] = field(default_factory=lambda: list(DEFAULT_REASON_CODES))
    webhook_endpoints: dict[str, dict] = field(default_factory=dict)
    site_found: bool = True  # False: answer as Chargebee does for a site that does not exist
    # Payment schedules (sandbox/payment_schedules.py): schemes, and schedules by id.
    payment_schedule_schemes: dict[str, dict] = field(default_factory=dict)
    payment_schedules: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.events_in_order = True
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._last_version = 0

    # --- plumbing ------------------------------------------------------------------
    def now(self) -> int:
        return int(self.clock())

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.id_token}{next(self._ids):06d}"

    def _version(self) -> int:
        # Strictly increasing even when the simulated clock does not move.
        version = max(int(self.clock() * 1000), self._last_version + 1)
        self._last_version = version
        return version

    def _touch(self, obj: dict) -> dict:
        obj["updated_at"] = self.now()
        obj["resource_version"] = self._version()
        return obj

    def emit(self, event_type: str, source: str = "api", **content: dict | None) -> dict:
        event = {
            "id": self.new_id("ev"),
            "occurred_at": self.now(),
            "source": source,
            "object": "event",
            "api_version": "v2",
            "event_type": event_type,
            "webhook_status": "scheduled",
            # A JSON round trip is a deep copy, several times faster than copy.deepcopy.
            "content": json.loads(json.dumps({k: v for k, v in content.items() if v is not None})),
        }
        if self.events and event["occurred_at"] < self.events[-1]["occurred_at"]:
            self.events_in_order = False
        self.events.append(event)
        for listener in list(self.event_listeners):
            listener(event)
        return event

    def reset(self) -> None:
        with self.lock:
            for store in (
                self.customers,
                self.subscriptions,
                self.invoices,
                self.transactions,
                self.payment_sources,
                self.hosted_pages,
                self.behaviours,
                self.idempotent_responses,
                self.invoices_by_subscription,
                self.updater_cards,
                self.webhook_endpoints,
                self.refusals,
                self.payment_schedule_schemes,
                self.payment_schedules,
            ):
                store.clear()
            self.site_found = True
            self.cancel_reason_codes[:] = DEFAULT_REASON_CODES
            self.usage.clear()
            self.events_in_order = True
            for log in (
                self.comments,
                self.events,
                self.injected_failures,
                self.request_log,
                self.tickets,
            ):
                log.clear()

    def inject_failures(
        self, *, status: int, count: int = 1, retry_after: int | None = None
    ) -> None:
        """Make the next ``count`` API requests fail with ``status`` (429 or 5xx)."""
        code = {429: "api_request_limit_exceeded", 503: "internal_temporary_error"}.get(
            status, "internal_error"
        )
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = SandboxError(
            status,
            code,
            f"Injected {status}",
            "operation_failed" if status == 429 else "internal_error",
            headers=headers,
        )
        with self.lock:
            self.injected_failures.extend([(status, {"error": error})] * count)

    def refuse_next(
        self, *, path: str, status: int, api_error_code: str, message: str, param: str | None = None
    ) -> None:
        """Make the next request to ``path`` (e.g. ``/api/v2/comments``) fail the way
        Chargebee refuses a request it will not carry out (a 4xx with its message)."""
        with self.lock:
            self.refusals[path] = SandboxError(status, api_error_code, message, param=param)

    def get(self, store: dict[str, dict], object_id: str, kind: str) -> dict:
        if object_id not in store:
            raise SandboxError(
                404,
                "resource_not_found",
                f"Sorry, we couldn't find that resource: {kind} {object_id}",
            )
        return store[object_id]

    # --- objects -------------------------------------------------------------------
    def create_customer(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        country: str = "US",
        state_code: str = "",
        company: str = "",
        auto_collection: str = "on",
        currency: str = "USD",
        customer_id: str | None = None,
        source: str = "api",
        created_at: int | None = None,
        phone: str = "",
        address: dict | None = None,
    ) -> dict:
        """``address``: more of the billing address (line1, city, zip …) beside the country."""
        with self.lock:
            cid = customer_id or self.new_id("cus")
            customer = self._touch(
                {
                    "id": cid,
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": email,
                    "company": company,
                    "auto_collection": auto_collection,
                    "net_term_days": 0,
                    "allow_direct_debit": False,
                    "created_at": created_at or self.now(),
                    "taxability": "taxable",
                    "deleted": False,
                    "object": "customer",
                    "card_status": "no_card",
                    "billing_address": {
                        "first_name": first_name,
                        "last_name": last_name,
                        **(address or {}),
                        "country": country,
                        **({"state_code": state_code} if state_code else {}),
                        "object": "billing_address",
                    },
                    "promotional_credits": 0,
                    "refundable_credits": 0,
                    "excess_payments": 0,
                    "unbilled_charges": 0,
                    "preferred_currency_code": currency,
                }
            )
            if phone:
                customer["phone"] = phone
            self.customers[cid] = customer
            self.emit("customer_created", source, customer=customer)
            return customer

    def add_card(
        self,
        *,
        customer_id: str,
        brand: str = "visa",
        last4: str = "4242",
        expiry_month: int = 12,
        expiry_year: int = 2030,
        funding_type: str = "credit",
        gateway: str = "stripe",
        behaviour: list[str] | None = None,
        source: str = "api",
    ) -> dict:
        with self.lock:
            customer = self.get(self.customers, customer_id, "customer")
            psid = self.new_id("pm")
            payment_source = self._touch(
                {
                    "id": psid,
                    "customer_id": customer_id,
                    "type": "card",
                    "reference_id": f"tok_{psid}",
                    "status": "valid",
                    "gateway": gateway,
                    "gateway_account_id": f"gw_{gateway}",
                    "issuing_country": customer["billing_address"]["country"],
                    "created_at": self.now(),
                    "deleted": False,
                    "object": "payment_source",
                    "card": {
                        "first_name": customer["first_name"],
                        "last_name": customer["last_name"],
                        "iin": "424242" if brand == "visa" else "555555",
                        "last4": last4,
                        "brand": brand,
                        "funding_type": funding_type,
                        "expiry_month": expiry_month,
                        "expiry_year": expiry_year,
                        "masked_number": f"************{last4}",
                        "object": "card",
                    },
                }
            )
            self.payment_sources[psid] = payment_source
            self.behaviours[psid] = list(behaviour or [])
            customer.update(
                primary_payment_source_id=psid,
                card_status="valid",
                payment_method={
                    "object": "payment_method",
                    "type": "card",
                    "reference_id": f"tok_{psid}",
                    "gateway": gateway,
                    "gateway_account_id": f"gw_{gateway}",
                    "status": "valid",
                },
            )
            self._touch(customer)
            self.emit(
                "payment_source_added", source, customer=customer, payment_source=payment_source
            )
            return payment_source

    def create_subscription(
        self,
        *,
        customer_id: str,
        plan_id: str,
        unit_price: int,
        currency: str = "USD",
        period_unit: str = "month",
        catalog_version: int = 2,
        source: str = "api",
        started_at: int | None = None,
        term_start: int | None = None,
        term_end: int | None = None,
    ) -> dict:
        """A new subscription; ``started_at``/``term_*`` place one that began before today."""
        with self.lock:
            self.get(self.customers, customer_id, "customer")
            sid = self.new_id("sub")
            now = self.now()
            term = 365 * 86400 if period_unit == "year" else 30 * 86400
            begun = started_at or now
            term_start = term_start or now
            term_end = term_end or term_start + term
            subscription = {
                "id": sid,
                "customer_id": customer_id,
                "status": "active",
                "currency_code": currency,
                "billing_period": 1,
                "billing_period_unit": period_unit,
                "created_at": begun,
                "started_at": begun,
                "activated_at": begun,
                "current_term_start": term_start,
                "current_term_end": term_end,
                "next_billing_at": term_end,
                "has_scheduled_changes": False,
                "has_scheduled_advance_invoices": False,
                "deleted": False,
                "decommissioned": False,
                "object": "subscription",
                "due_invoices_count": 0,
                "total_dues": 0,
                "mrr": unit_price if period_unit == "month" else unit_price // 12,
                "exchange_rate": 1.0,
                "base_currency_code": currency,
                "auto_collection": "on",
            }
            if catalog_version == 2:
                subscription["subscription_items"] = [
                    {
                        "item_price_id": plan_id,
                        "item_type": "plan",
                        "quantity": 1,
                        "unit_price": unit_price,
                        "amount": unit_price,
                        "object": "subscription_item",
                    }
                ]
            else:
                subscription.update(plan_id=plan_id, plan_quantity=1, plan_unit_price=unit_price)
            self.subscriptions[sid] = self._touch(subscription)
            customer = self.customers[customer_id]
            self.emit("subscription_created", source, subscription=subscription, customer=customer)
            return subscription

    def _plan_price(self, subscription: dict) -> tuple[str, int]:
        if "subscription_items" in subscription:
            item = subscription["subscription_items"][0]
            return item["item_price_id"], item["unit_price"]
        return subscription["plan_id"], subscription["plan_unit_price"]

    def create_invoice(
        self,
        *,
        subscription_id: str,
        source: str = "scheduled_job",
        status: str = "posted",
        net_term_days: int = 0,
    ) -> dict:
        """A renewal invoice. Offline payers' (``sandbox.offline``) is ``payment_due`` at once,
        due ``net_term_days`` later: Chargebee never charges it."""
        with self.lock:
            subscription = self.get(self.subscriptions, subscription_id, "subscription")
            plan_id, price = self._plan_price(subscription)
            now = self.now()
            invoice = self._touch(
                {
                    "id": self.new_id("inv"),
                    "customer_id": subscription["customer_id"],
                    "subscription_id": subscription_id,
                    "recurring": True,
                    "status": status,
                    "price_type": "tax_exclusive",
                    "date": now,
                    "due_date": now + net_term_days * 86400,
                    "net_term_days": net_term_days,
                    "exchange_rate": 1.0,
                    "total": price,
                    "sub_total": price,
                    "tax": 0,
                    "amount_paid": 0,
                    "amount_adjusted": 0,
                    "write_off_amount": 0,
                    "credits_applied": 0,
                    "amount_due": price,
                    "amount_to_collect": price,
                    "deleted": False,
                    "object": "invoice",
                    "first_invoice": False,
                    "term_finalized": True,
                    "is_gifted": False,
                    "currency_code": subscription["currency_code"],
                    "dunning_attempts": [],
                    "linked_payments": [],
                    "line_items": [
                        {
                            "id": self.new_id("li"),
                            "date_from": now,
                            "date_to": subscription["current_term_end"],
                            "unit_amount": price,
                            "quantity": 1,
                            "amount": price,
                            "entity_type": "plan_item_price",
                            "entity_id": plan_id,
                            "description": plan_id,
                            "object": "line_item",
                        }
                    ],
                }
            )
            self.invoices[invoice["id"]] = invoice
            self.invoices_by_subscription.setdefault(subscription_id, []).append(invoice["id"])
            self.emit("invoice_generated", source, invoice=invoice)
            return invoice

    # --- payments ------------------------------------------------------------------
    def _next_behaviour(self, payment_source_id: str) -> str | dict:
        queue = self.behaviours.get(payment_source_id) or []
        return queue.pop(0) if queue else "succeed"

    def charge(
        self,
        *,
        invoice_id: str,
        amount: int | None = None,
        payment_source_id: str | None = None,
        source: str = "api",
        dunning_retry_after: int | None = 86400,
    ) -> tuple[dict, dict]:
        """Attempt a card payment on an invoice; returns (invoice, transaction)."""
        with self.lock:
            invoice = self.get(self.invoices, invoice_id, "invoice")
            if invoice["status"] not in ("payment_due", "posted", "not_paid"):
                raise SandboxError(
                    409,
                    "invalid_state_for_request",
                    f"Invoice {invoice_id} is {invoice['status']}: nothing to collect",
                )
            customer = self.customers[invoice["customer_id"]]
            psid = payment_source_id or customer.get("primary_payment_source_id")
            if not psid or psid not in self.payment_sources:
                raise SandboxError(
                    400,
                    "payment_method_not_present",
                    "No payment method is present for this customer",
                    "payment",
                )
            amount = amount or invoice["amount_to_collect"]
            if amount <= 0 or amount > invoice["amount_due"]:
                raise SandboxError(
                    400,
                    "param_wrong_value",
                    "amount must be between 1 and the amount due",
                    param="amount",
                )
            payment_source = self.payment_sources[psid]
            behaviour = self._next_behaviour(psid)
            succeeded = behaviour == "succeed"
            txn = {
                "id": self.new_id("txn"),
                "customer_id": customer["id"],
                "subscription_id": invoice.get("subscription_id"),
                "payment_source_id": psid,
                "payment_method": "card",
                "gateway": payment_source["gateway"],
                "gateway_account_id": payment_source["gateway_account_id"],
                "type": "payment",
                "date": self.now(),
                "amount": amount,
                "currency_code": invoice["currency_code"],
                "status": "success" if succeeded else "failure",
                "deleted": False,
                "object": "transaction",
                "masked_card_number": payment_source["card"]["masked_number"],
                "linked_invoices": [
                    {
                        "invoice_id": invoice_id,
                        "applied_amount": amount,
                        "applied_at": self.now(),
                        "invoice_status": invoice["status"],
                    }
                ],
            }
            if isinstance(behaviour, dict):
                # A simulator's exact decline: {"error_code", "error_text", "error_detail"}.
                txn.update(status="failure", **behaviour)
            elif not succeeded:
                error_code, error_text, detail = DECLINES.get(behaviour, DECLINES["do_not_honor"])
                txn.update(
                    error_code=error_code,
                    error_text=error_text,
                    error_detail={**detail, "decline_message": error_text},
                )
            self.transactions[txn["id"]] = self._touch(txn)
            attempt = {
                "attempt": len(invoice["dunning_attempts"]),
                "transaction_id": txn["id"],
                "dunning_type": "auto_collect",
                "created_at": self.now(),
                "txn_status": txn["status"],
                "txn_amount": amount,
                "retry_engine": "chargebee",
            }
            invoice["linked_payments"].append(
                {
                    "txn_id": txn["id"],
                    "applied_amount": amount,
                    "applied_at": self.now(),
                    "txn_status": txn["status"],
                    "txn_date": txn["date"],
                    "txn_amount": amount,
                }
            )
            if succeeded:
                invoice["amount_paid"] += amount
                invoice["amount_due"] -= amount
                invoice["amount_to_collect"] = invoice["amount_due"]
                if invoice["amount_due"] == 0:
                    invoice.update(status="paid", paid_at=self.now())
                    _no_retry(invoice)
                    if invoice.get("dunning_status"):
                        invoice["dunning_status"] = "success"
                else:
                    invoice["status"] = "payment_due"
            else:
                invoice["status"] = "payment_due"
                invoice.setdefault("dunning_status", "in_progress")
                invoice["dunning_status"] = invoice["dunning_status"] or "in_progress"
                if dunning_retry_after and invoice["dunning_status"] == "in_progress":
                    invoice["next_retry_at"] = self.now() + dunning_retry_after
                invoice["dunning_attempts"].append(attempt)
            self._touch(invoice)
            subscription = self.subscriptions.get(invoice.get("subscription_id") or "")
            if subscription is not None:
                self._refresh_dues(subscription)
            self.emit(
                "payment_succeeded" if succeeded else "payment_failed",
                source,
                transaction=txn,
                invoice=invoice,
                customer=customer,
                subscription=subscription,
            )
            return invoice, txn

    def _refresh_dues(self, subscription: dict) -> None:
        invoices = (
            self.invoices[i] for i in self.invoices_by_subscription.get(subscription["id"], ())
        )
        due = [i for i in invoices if i["status"] in ("payment_due", "not_paid")]
        subscription.update(
            due_invoices_count=len(due), total_dues=sum(i["amount_due"] for i in due)
        )
        if due:
            subscription["due_since"] = min(i["due_date"] for i in due)
        else:
            subscription.pop("due_since", None)
        self._touch(subscription)

    def record_payment(
        self,
        *,
        invoice_id: str,
        amount: int,
        payment_method: str,
        reference_number: str = "",
        comment: str = "",
    ) -> tuple[dict, dict]:
        with self.lock:
            invoice = self.get(self.invoices, invoice_id, "invoice")
            if invoice["status"] not in ("payment_due", "posted", "not_paid"):
                raise SandboxError(
                    409, "invalid_state_for_request", f"Invoice {invoice_id} is {invoice['status']}"
                )
            if amount <= 0 or amount > invoice["amount_due"]:
                raise SandboxError(
                    400,
                    "param_wrong_value",
                    "transaction[amount] must be between 1 and the amount due",
                    param="transaction[amount]",
                )
            txn = self._touch(
                {
                    "id": self.new_id("txn"),
                    "customer_id": invoice["customer_id"],
                    "subscription_id": invoice.get("subscription_id"),
                    "payment_method": payment_method,
                    "gateway": "not_applicable",
                    "type": "payment",
                    "date": self.now(),
                    "amount": amount,
                    "currency_code": invoice["currency_code"],
                    "status": "success",
                    "reference_number": reference_number,
                    "deleted": False,
                    "object": "transaction",
                    "linked_invoices": [{"invoice_id": invoice_id, "applied_amount": amount}],
                }
            )
            self.transactions[txn["id"]] = txn
            invoice["amount_paid"] += amount
            invoice["amount_due"] -= amount
            invoice["amount_to_collect"] = invoice["amount_due"]
            if invoice["amount_due"] == 0:
                invoice.update(status="paid", paid_at=self.now())
                _no_retry(invoice)
                if invoice.get("dunning_status") == "in_progress":
                    invoice["dunning_status"] = "stopped"
            self._touch(invoice)
            if comment:
                self.add_comment(entity_type="invoice", entity_id=invoice_id, notes=comment)
            customer = self.customers[invoice["customer_id"]]
            self.emit(
                "payment_succeeded", "api", transaction=txn, invoice=invoice, customer=customer
            )
            return invoice, txn

    def set_dunning(
        self,
        *,
        invoice_id: str,
        action: str,
        expected_payment_date: int | None = None,
        comment: str = "",
    ) -> dict:
        with self.lock:
            invoice = self.get(self.invoices, invoice_id, "invoice")
            if invoice["status"] not in ("payment_due", "not_paid"):
                raise SandboxError(
                    409,
                    "invalid_state_for_request",
                    f"Dunning cannot be changed on a {invoice['status']} invoice",
                )
            if action == "pause":
                # Chargebee has no "paused" dunning status: a paused invoice stays
                # in_progress and carries the expected_payment_date it waits for.
                if invoice.get("expected_payment_date"):
                    raise SandboxError(
                        409, "invalid_state_for_request", "Dunning is already paused"
                    )
                if not expected_payment_date or expected_payment_date <= self.now():
                    raise SandboxError(
                        400,
                        "param_wrong_value",
                        "expected_payment_date must be in the future",
                        param="expected_payment_date",
                    )
                invoice.update(
                    dunning_status="in_progress",
                    expected_payment_date=expected_payment_date,
                    next_retry_at=expected_payment_date,
                )
            elif action == "resume":
                invoice.update(dunning_status="in_progress", next_retry_at=self.now() + 86400)
                invoice.pop("expected_payment_date", None)
            elif action == "stop":
                invoice.update(dunning_status="stopped", status="not_paid")
                _no_retry(invoice)
            self._touch(invoice)
            if comment:
                self.add_comment(entity_type="invoice", entity_id=invoice_id, notes=comment)
            self.emit(
                "dunning_updated" if action == "pause" else "invoice_updated",
                "api",
                invoice=invoice,
            )
            return invoice

    def exhaust_dunning(self, *, invoice_id: str) -> dict:
        """Chargebee's end of dunning: retries used up, invoice not paid."""
        with self.lock:
            invoice = self.get(self.invoices, invoice_id, "invoice")
            invoice.update(status="not_paid", dunning_status="exhausted")
            _no_retry(invoice)
            self._touch(invoice)
            self.emit("invoice_updated", "scheduled_job", invoice=invoice)
            return invoice

    def update_card(
        self,
        *,
        payment_source_id: str,
        expiry_month: int,
        expiry_year: int,
        last4: str | None = None,
        source: str = "external_service",
    ) -> dict:
        """A new card on the same payment source: the gateway's account updater, or the customer."""
        with self.lock:
            payment_source = self.get(self.payment_sources, payment_source_id, "payment_source")
            card = payment_source["card"]
            card.update(expiry_month=expiry_month, expiry_year=expiry_year)
            if last4:
                card.update(last4=last4, masked_number=f"************{last4}")
            payment_source["status"] = "valid"
            self._touch(payment_source)
            customer = self._card_status(payment_source, "valid")
            self.emit(
                "payment_source_updated", source, customer=customer, payment_source=payment_source
            )
            return payment_source

    def _card_status(self, payment_source: dict, status: str) -> dict:
        """Reflect a card's status on its customer, as Chargebee does; returns the customer."""
        customer = self.customers[payment_source["customer_id"]]
        customer["card_status"] = status
        customer.get("payment_method", {})["status"] = status
        return self._touch(customer)

    def expire_card(self, *, payment_source_id: str) -> dict:
        with self.lock:
            payment_source = self.get(self.payment_sources, payment_source_id, "payment_source")
            payment_source["status"] = "expired"
            self._touch(payment_source)
            customer = self._card_status(payment_source, "expired")
            self.emit(
                "payment_source_expired",
                "scheduled_job",
                customer=customer,
                payment_source=payment_source,
            )
            return payment_source

    def cancel_subscription(
        self,
        *,
        subscription_id: str,
        reason: str | None = None,
        reason_code: str | None = None,
        source: str = "scheduled_job",
    ) -> dict:
        with self.lock:
            subscription = self.get(self.subscriptions, subscription_id, "subscription")
            subscription.update(status="cancelled", cancelled_at=self.now())
            subscription.pop("next_billing_at", None)
            if reason:
                subscription["cancel_reason"] = reason
            if reason_code:
                subscription["cancel_reason_code"] = reason_code
            self._touch(subscription)
            customer = self.customers[subscription["customer_id"]]
            self.emit(
                "subscription_cancelled", source, subscription=subscription, customer=customer
            )
            return subscription

    def renew_term(self, *, subscription_id: str, term_end: int) -> dict:
        with self.lock:
            subscription = self.get(self.subscriptions, subscription_id, "subscription")
            subscription.update(
                current_term_start=subscription["current_term_end"],
                current_term_end=term_end,
                next_billing_at=term_end,
            )
            return self._touch(subscription)

    def close_invoice(self, *, invoice_id: str, action: str, source: str = "scheduled_job") -> dict:
        """End-of-dunning invoice action: ``write_off`` or ``void`` (``not_paid`` leaves it)."""
        with self.lock:
            invoice = self.get(self.invoices, invoice_id, "invoice")
            if action == "write_off":
                invoice.update(
                    status="paid",
                    write_off_amount=invoice["amount_due"],
                    amount_due=0,
                    amount_to_collect=0,
                    paid_at=self.now(),
                )
            elif action == "void":
                invoice.update(
                    status="voided",
                    voided_at=self.now(),
                    amount_due=0,
                    amount_to_collect=0,
                    void_reason_code="dunning_final_action",
                )
            self._touch(invoice)
            self.emit("invoice_updated", source, invoice=invoice)
            return invoice

    def add_comment(
        self, *, entity_type: str, entity_id: str, notes: str, added_by: str = ""
    ) -> dict:
        with self.lock:
            comment = {
                "id": self.new_id("cmt"),
                "entity_type": entity_type,
                "entity_id": entity_id,
                "notes": notes,
                "added_by": added_by or "api",
                "created_at": self.now(),
                "type": "user",
                "object": "comment",
            }
            self.comments.append(comment)
            return comment

    def hosted_page(
        self, *, kind: str, customer_id: str, redirect_url: str = "", base_url: str = ""
    ) -> dict:
        with self.lock:
            self.get(self.customers, customer_id, "customer")
            hpid = self.new_id("hp")
            page = {
                "id": hpid,
                # Chargebee's page types: update_payment_method opens manage_payment_sources.
                "type": "manage_payment_sources" if kind == "update_payment_method" else kind,
                "url": f"{base_url}/pages/v3/{hpid}/",
                "state": "created",
                "embed": False,
                "created_at": self.now(),
                "expires_at": self.now() + 5 * 86400,
                "object": "hosted_page",
            }
            # The sandbox remembers whom the page is for; Chargebee does not show it.
            self.hosted_pages[hpid] = {
                **page,
                "kind": kind,
                "customer_id": customer_id,
                "redirect_url": redirect_url,
            }
            return page

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(
                {
                    "customers": self.customers,
                    "subscriptions": self.subscriptions,
                    "invoices": self.invoices,
                    "transactions": self.transactions,
                    "payment_sources": self.payment_sources,
                    "comments": self.comments,
                }
            )
