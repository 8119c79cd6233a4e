"""Offline payers in the sandbox: customers with ``auto_collection`` off.

Chargebee never charges them. Their renewal invoice is generated ``payment_due`` (due after
their net terms); they pay by bank transfer or cheque and the merchant's finance team (or
Dunwell, for an agent) records the payment with ``record_payment``, which Chargebee
announces as ``payment_succeeded``. A part payment leaves the invoice ``payment_due``.
"""

from __future__ import annotations

from sandbox.store import Sandbox, SandboxError


def offline_customer_create(
    sandbox: Sandbox,
    *,
    first_name: str,
    last_name: str,
    email: str,
    country: str = "US",
    currency: str = "USD",
    company: str = "",
    created_at: int | None = None,
    source: str = "api",
) -> dict:
    return sandbox.create_customer(
        first_name=first_name,
        last_name=last_name,
        email=email,
        country=country,
        currency=currency,
        company=company,
        auto_collection="off",
        created_at=created_at,
        source=source,
    )


def offline_subscription_create(
    sandbox: Sandbox, *, customer_id: str, plan_id: str, unit_price: int, **kwargs
) -> dict:
    """A subscription that follows its customer's offline collection."""
    with sandbox.lock:
        subscription = sandbox.create_subscription(
            customer_id=customer_id, plan_id=plan_id, unit_price=unit_price, **kwargs
        )
        subscription["auto_collection"] = "off"
        sandbox._touch(subscription)
        sandbox.emit(
            "subscription_changed",
            kwargs.get("source", "api"),
            subscription=subscription,
            customer=sandbox.customers[customer_id],
        )
        return subscription


def offline_invoice_create(
    sandbox: Sandbox, *, subscription_id: str, net_term_days: int = 0, source: str = "scheduled_job"
) -> dict:
    """The renewal invoice of an offline payer: due, never charged."""
    with sandbox.lock:
        subscription = sandbox.get(sandbox.subscriptions, subscription_id, "subscription")
        customer = sandbox.customers[subscription["customer_id"]]
        if customer.get("auto_collection") != "off":
            raise SandboxError(
                400, "invalid_state_for_request", "the customer pays automatically (card)"
            )
        invoice = sandbox.create_invoice(
            subscription_id=subscription_id,
            source=source,
            status="payment_due",
            net_term_days=net_term_days,
        )
        sandbox._refresh_dues(subscription)
        return invoice


def offline_payment_received(
    sandbox: Sandbox,
    *,
    invoice_id: str,
    amount: int | None = None,
    method: str = "bank_transfer",
    reference: str = "",
) -> dict:
    """The finance team records a transfer or cheque in Chargebee (all that is due by default)."""
    with sandbox.lock:
        invoice = sandbox.get(sandbox.invoices, invoice_id, "invoice")
        invoice, _txn = sandbox.record_payment(
            invoice_id=invoice_id,
            amount=amount or invoice["amount_due"],
            payment_method=method,
            reference_number=reference,
        )
        subscription = sandbox.subscriptions.get(invoice.get("subscription_id") or "")
        if subscription is not None:
            sandbox._refresh_dues(subscription)
        return invoice


def offline_routes(server) -> None:
    """``POST /__sandbox/offline_payment`` (invoice_id, amount in minor units, optional):
    in the demo, a customer's transfer arrives and the finance team records it."""

    def received(params: dict) -> dict:
        invoice_id = (params.get("invoice_id") or [""])[0]
        raw = (params.get("amount") or [""])[0]
        if not invoice_id or (raw and not raw.isdigit()):
            raise SandboxError(400, "param_wrong_value", "invoice_id and a whole amount needed")
        invoice = offline_payment_received(
            server.sandbox, invoice_id=invoice_id, amount=int(raw) if raw else None
        )
        return {"invoice": invoice}

    server.add_route("POST", "/__sandbox/offline_payment", received)
