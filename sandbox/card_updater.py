"""The sandbox's card updater: the "network" knows a newer card for some customers.

Serves ``POST /card_updater/v1/lookup`` (docs/card_updater.md) with the same Basic auth as
the sandbox's Chargebee API. Tests and the simulator plant what the network knows with
``network_knows``. A lookup that finds a newer card also puts it on the payment source in
the sandbox's Chargebee and fires ``payment_source_updated``, because that is how a real
account updater reaches Chargebee: the gateway's vault updates and Chargebee emits the event.
"""

from __future__ import annotations

import json
import re

from sandbox.store import Sandbox, SandboxError

PATH = "/card_updater/v1/lookup"


def network_knows(
    sandbox: Sandbox,
    *,
    payment_source_id: str,
    expiry_month: int | None = None,
    expiry_year: int | None = None,
    last4: str | None = None,
    closed: bool = False,
    behaviour: list | None = None,
) -> None:
    """Plant what the network knows about a card: a newer one, or that the account closed.

    ``behaviour`` is what charges on the updated card do (default: they succeed).
    """
    with sandbox.lock:
        sandbox.get(sandbox.payment_sources, payment_source_id, "payment_source")
        sandbox.updater_cards[payment_source_id] = {
            "closed": closed,
            "expiry_month": expiry_month,
            "expiry_year": expiry_year,
            "last4": last4,
            "behaviour": list(behaviour or []),
        }


def json_params(raw: str) -> dict[str, list[str]]:
    """A JSON request body as the server's form-style params (its SDK routes post forms)."""
    try:
        body = json.loads(raw or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"_invalid_json": ["1"]}
    return {k: ["" if v is None else str(v)] for k, v in body.items()}


def _one(params: dict, key: str) -> str:
    values = params.get(key) or [""]
    return values[0]


def lookup(sandbox: Sandbox, params: dict) -> dict:
    if params.get("_invalid_json"):
        raise SandboxError(400, "param_wrong_value", "the body must be a JSON object")
    payment_source_id = _one(params, "payment_source_id")
    if not payment_source_id:
        raise SandboxError(
            400, "param_wrong_value", "payment_source_id cannot be blank", param="payment_source_id"
        )
    source = sandbox.get(sandbox.payment_sources, payment_source_id, "payment_source")
    customer_id = _one(params, "customer_id")
    if customer_id and customer_id != source["customer_id"]:
        raise SandboxError(400, "param_wrong_value", "the card is not this customer's")
    reference = sandbox.new_id("au")
    known = sandbox.updater_cards.get(payment_source_id)
    if known is None:
        return {"result": "no_update", "reference": reference}
    if known["closed"]:
        return {"result": "closed", "reference": reference}
    del sandbox.updater_cards[payment_source_id]  # delivered: the vault has it now
    card = source["card"]
    updated = sandbox.update_card(
        payment_source_id=payment_source_id,
        expiry_month=known["expiry_month"] or card["expiry_month"],
        expiry_year=known["expiry_year"] or card["expiry_year"],
        last4=known["last4"],
        source="external_service",
    )
    sandbox.behaviours[payment_source_id] = list(known["behaviour"])
    new = updated["card"]
    return {
        "result": "updated",
        "reference": reference,
        "card": {k: new[k] for k in ("last4", "expiry_month", "expiry_year", "brand")},
        "updated_at": updated["updated_at"],
    }


def routes(sandbox: Sandbox) -> list[tuple]:
    """The route(s) for ``SandboxAPI`` (registered in sandbox/server.py)."""
    return [("POST", re.compile(f"^{re.escape(PATH)}$"), lambda params: lookup(sandbox, params))]
