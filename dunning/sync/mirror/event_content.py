"""Read one stored event into the objects it can mirror, each judged on its own.

An event's content holds several objects (a ``payment_succeeded`` carries the transaction,
invoice, customer and subscription). One that cannot be mirrored (no id, not an object, an
older site's ``card`` without ``payment_source_id``) becomes a warning on the event, and the
others are mirrored all the same. The API version is read from the payload; when a payload
lacks ``api_version`` it is told from its shape, never assumed to be v2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dunning.sync.mirror.resources import SPECS, ResourceSpec

SUPPORTED_API_VERSION = "v2"

# Keys only one API version has (chargebee/openapi: the v1 spec beside the v2 models in the
# SDK): v1 events list their ``webhooks``, v2 events have a ``webhook_status``; a v1 invoice
# has ``amount``/``paid_on``/``start_date``, a v2 one ``total``/``paid_at``/``date``.
VERSION_SIGNS = {
    "v1": {
        "": {"webhooks"},
        "invoice": {"paid_on", "start_date", "end_date", "next_retry", "linked_transactions"},
        "customer": {"account_credits"},
    },
    "v2": {
        "": {"webhook_status"},
        "invoice": {"total", "paid_at", "next_retry_at", "linked_payments", "amount_to_collect"},
        "customer": {"promotional_credits", "primary_payment_source_id"},
        "subscription": {"subscription_items", "mrr"},
        "transaction": {"payment_source_id"},
    },
}


@dataclass
class ContentReading:
    """What of an event's content can be mirrored, and why the rest cannot."""

    api_version: str
    mirrorable: list[tuple[ResourceSpec, dict, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unsupported: str = ""  # why nothing of it is mirrored (another API version)


def _signs(payload: dict, version: str) -> list[str]:
    content = payload.get("content") if isinstance(payload.get("content"), dict) else {}
    found = []
    for key, names in VERSION_SIGNS[version].items():
        obj = payload if key == "" else content.get(key)
        if isinstance(obj, dict):
            found += [f"{key + '.' if key else ''}{name}" for name in sorted(names) if name in obj]
    return found


def api_version_read(payload: dict) -> tuple[str, str]:
    """(the payload's API version, or "" when it cannot be told; a warning, or "")."""
    stated = payload.get("api_version")
    if isinstance(stated, str) and stated:
        return stated, ""
    v1, v2 = _signs(payload, "v1"), _signs(payload, "v2")
    if v2 and not v1:
        return "v2", f"no api_version: read as v2 from its shape ({', '.join(v2[:3])})"
    if v1 and not v2:
        return "v1", f"no api_version: its shape is API v1 ({', '.join(v1[:3])})"
    return "", "no api_version, and its shape does not tell v1 from v2"


def _legacy_card_id(card: dict, content: dict) -> str | None:
    """An older site's card has no ``payment_source_id``: the customer's primary source is
    the card when the same event's customer names one."""
    customer = content.get("customer")
    if (
        isinstance(customer, dict)
        and customer.get("id") == card.get("customer_id")
        and isinstance(customer.get("primary_payment_source_id"), str)
        and customer["primary_payment_source_id"]
    ):
        return customer["primary_payment_source_id"]
    return None


def event_content_read(payload: dict) -> ContentReading:
    version, version_warning = api_version_read(payload)
    reading = ContentReading(api_version=version)
    if version_warning:
        reading.warnings.append(version_warning)
    if version != SUPPORTED_API_VERSION:
        reading.unsupported = version_warning or f"unsupported api_version {version!r}"
        return reading
    content = payload.get("content")
    if not isinstance(content, dict):
        reading.warnings.append("content is not an object")
        return reading
    for spec in SPECS:
        obj = content.get(spec.key)
        if obj is None:
            continue
        if spec.key == "card" and isinstance(obj, dict) and not obj.get("payment_source_id"):
            card_id = _legacy_card_id(obj, content)
            if card_id is None:
                reading.warnings.append(
                    "content.card has no payment_source_id (an older site's card) and no "
                    "customer in the event names its payment source: card not mirrored"
                )
                continue
            obj = {**obj, "payment_source_id": card_id}
        if problem := spec.problem(obj):
            reading.warnings.append(f"{problem}: {spec.key} not mirrored")
            continue
        reading.mirrorable.append((spec, obj, obj[spec.id_key]))
    return reading
