"""Stripe's card updater: automatically updated payment methods, read through Stripe's API.

Card networks tell Stripe when a saved card is reissued; Stripe updates the PaymentMethod
and sends ``payment_method.automatically_updated``. Asked about a declined card, Dunwell
retrieves the PaymentMethod (``GET /v1/payment_methods/{id}``; the id is the part of the
Chargebee payment source's ``reference_id`` after the slash, ``cus_…/pm_…`` or
``cus_…/card_…``) and compares the last four and expiry with the mirror. The webhook
(``POST /webhooks/stripe/``) is checked against ``Stripe-Signature`` (HMAC-SHA256 of
``{t}.{payload}`` with the endpoint secret, 5 minutes' tolerance), stored, then processed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from dunning.enrichment.card_updater.answers import CardUpdate, UpdateKind
from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.vendor_http import ConnectorError, bearer_call

CREDENTIAL = "DUNWELL_STRIPE_SECRET_KEY"
SIGNATURE_TOLERANCE_SECONDS = 300
PAYMENT_METHOD_PREFIXES = ("pm_", "card_", "src_")


def stripe_error(body: object) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code') or error.get('type')}: {error.get('message', '')}"
    return ""


def payment_method_id(reference_id: str) -> str:
    """The Stripe PaymentMethod id in a Chargebee ``reference_id`` ("" when there is none)."""
    for part in reversed(str(reference_id or "").split("/")):
        if part.startswith(PAYMENT_METHOD_PREFIXES):
            return part
    return ""


class StripeCardUpdater:
    name = "stripe"

    def __init__(self, *, base_url: str = "https://api.stripe.com", key: str | None = None):
        self.base = base_url.rstrip("/")
        self.key = connector_secret("STRIPE_SECRET_KEY") if key is None else key

    def _call(self, path: str, **params):
        return bearer_call(
            connector=self.name,
            token=self.key,
            credential=CREDENTIAL,
            method="GET",
            url=f"{self.base}{path}",
            detail=stripe_error,
            params=params or None,
        )

    def lookup(self, *, customer_id: str, payment_source) -> CardUpdate | None:
        if payment_source.gateway and payment_source.gateway != "stripe":
            return None  # another gateway's card: Stripe cannot know it
        pm_id = payment_method_id((payment_source.raw or {}).get("reference_id", ""))
        if not pm_id:
            return None
        try:
            method = self._call(f"/v1/payment_methods/{pm_id}")
        except ConnectorError as error:
            if error.status == 404:
                return None  # Stripe does not know this card: nothing newer to say
            raise
        return card_update_of(method, payment_source=payment_source)

    def check(self) -> str:
        answer = self._call("/v1/events", type="payment_method.automatically_updated", limit=1)
        seen = len(answer.get("data") or [])
        return (
            f"Stripe answered: events are readable ({seen} card update event(s) in the last page)."
        )


def card_update_of(method: dict, *, payment_source) -> CardUpdate | None:
    """A newer card when the PaymentMethod's card differs from the mirrored one."""
    card = method.get("card") if isinstance(method, dict) else None
    if not isinstance(card, dict):
        raise ConnectorError("Stripe's PaymentMethod has no card")
    last4, month, year = str(card.get("last4") or ""), card.get("exp_month"), card.get("exp_year")
    same_number = not last4 or last4 == payment_source.card_last4
    same_expiry = (month, year) == (
        payment_source.card_expiry_month,
        payment_source.card_expiry_year,
    )
    if same_number and same_expiry:
        return None
    return CardUpdate(
        kind=UpdateKind.NEW_EXPIRY if same_number else UpdateKind.NEW_CARD,
        reference=str(method.get("id", ""))[:100],
        last4=last4,
        expiry_month=month if isinstance(month, int) else None,
        expiry_year=year if isinstance(year, int) else None,
    )


def stripe_signature_valid(
    *, payload: bytes, header: str, secret: str, now: float | None = None
) -> bool:
    """Stripe's scheme: ``t=<unix>,v1=<hex hmac>[,v1=...]``, within the tolerance."""
    if not secret or not header:
        return False
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value for key, value in parts if key.strip() == "v1"]
    if not timestamps or not signatures or not timestamps[0].isdigit():
        return False
    if abs((now or time.time()) - int(timestamps[0])) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    signed = timestamps[0].encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature.strip()) for signature in signatures)
