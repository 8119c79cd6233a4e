"""Card updater adapters: ``lookup(*, customer_id, payment_source) -> CardUpdate | None``.

``HttpCardUpdater`` speaks the JSON interface of docs/card_updater.md (a small service in
front of Stripe's card updater, Adyen's Account Updater or Visa/Mastercard's updater
services). Unconfigured, Dunwell asks the Chargebee sandbox, which serves that interface
(the sandbox default); in production without ``CARD_UPDATER_URL`` and with no sandbox,
``NoCardUpdater`` answers that nothing is set up. Only ids, the gateway's token reference,
the brand, the last four digits and the expiry leave Dunwell: never a card number.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from django.conf import settings

from dunning.enrichment.card_updater.answers import CardUpdate, UpdateKind
from dunning.enrichment.connectors.registry import card_updater_connector
from dunning.models import PaymentSource

SANDBOX_PATH = "/card_updater/v1/lookup"


class CardUpdaterUnavailable(Exception):
    """The updater could not answer (down, slow, or an answer Dunwell cannot read)."""


class CardUpdater(Protocol):
    name: str

    def lookup(self, *, customer_id: str, payment_source: PaymentSource) -> CardUpdate | None: ...


class NoCardUpdater:
    name = "none"

    def lookup(self, *, customer_id: str, payment_source: PaymentSource) -> CardUpdate | None:
        return None


def _month(value: object, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CardUpdaterUnavailable(f"{name} must be a whole number from {low} to {high}")
    return value


def card_update_from_answer(body: object, *, current_last4: str = "") -> CardUpdate | None:
    """Read an updater's answer (docs/card_updater.md); raises on anything else."""
    if not isinstance(body, dict) or body.get("result") not in ("updated", "closed", "no_update"):
        raise CardUpdaterUnavailable('the answer needs "result": updated, closed or no_update')
    reference = body.get("reference") or ""
    if not isinstance(reference, str):
        raise CardUpdaterUnavailable("reference must be a string")
    if body["result"] == "no_update":
        return None
    if body["result"] == "closed":
        return CardUpdate(kind=UpdateKind.CLOSED, reference=reference[:100])
    card = body.get("card")
    if not isinstance(card, dict):
        raise CardUpdaterUnavailable('an "updated" answer needs a "card" object')
    last4 = card.get("last4") or ""
    if not isinstance(last4, str) or (last4 and not (len(last4) == 4 and last4.isdigit())):
        raise CardUpdaterUnavailable("card.last4 must be four digits")
    month = _month(card.get("expiry_month"), "card.expiry_month", 1, 12)
    year = _month(card.get("expiry_year"), "card.expiry_year", 2000, 2100)
    kind = UpdateKind.NEW_CARD if last4 and last4 != current_last4 else UpdateKind.NEW_EXPIRY
    return CardUpdate(
        kind=kind, reference=reference[:100], last4=last4, expiry_month=month, expiry_year=year
    )


class HttpCardUpdater:
    name = "http"

    def __init__(self, url: str, token: str = "", *, timeout: float | None = None):
        self.url = url
        self.token = token
        self.timeout = timeout if timeout is not None else settings.CARD_UPDATER_TIMEOUT_SECONDS

    def lookup(self, *, customer_id: str, payment_source: PaymentSource) -> CardUpdate | None:
        request = {
            "customer_id": customer_id,
            "payment_source_id": payment_source.cb_id,
            "gateway": payment_source.gateway,
            "gateway_account_id": payment_source.gateway_account_id,
            "reference_id": (payment_source.raw or {}).get("reference_id", ""),
            "card_brand": payment_source.card_brand,
            "card_last4": payment_source.card_last4,
            "card_expiry_month": payment_source.card_expiry_month,
            "card_expiry_year": payment_source.card_expiry_year,
        }
        try:
            response = httpx.post(
                self.url,
                json=request,
                auth=(self.token, "") if self.token else None,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as error:
            raise CardUpdaterUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code == 404:
            return None  # the updater does not know this card: nothing newer to say
        if response.status_code != 200:
            raise CardUpdaterUnavailable(f"the updater answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise CardUpdaterUnavailable("the answer is not JSON") from None
        return card_update_from_answer(body, current_last4=payment_source.card_last4)


def card_updater_configured() -> CardUpdater:
    """Stripe when the Connections page chose it; else ``CARD_UPDATER_URL`` if set; else the
    sandbox's updater when Chargebee is the sandbox."""
    if stripe := card_updater_connector():
        return stripe
    if settings.CARD_UPDATER_URL:
        return HttpCardUpdater(settings.CARD_UPDATER_URL, settings.CARD_UPDATER_TOKEN)
    if settings.CHARGEBEE_API_BASE:
        base = settings.CHARGEBEE_API_BASE.rstrip("/")
        return HttpCardUpdater(base + SANDBOX_PATH, settings.CHARGEBEE_API_KEY)
    return NoCardUpdater()
