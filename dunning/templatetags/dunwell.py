from __future__ import annotations

import json

from django import template

register = template.Library()

# ISO 4217 currencies without minor units; everything else Chargebee sends in cents.
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


@register.filter
def money(amount: int | None, currency: str | None = "") -> str:
    """Minor units to a readable amount: 123456, "EUR" -> "EUR 1,234.56"."""
    if amount is None:
        return "—"
    currency = (currency or "").upper()
    value = amount if currency in ZERO_DECIMAL else amount / 100
    digits = 0 if currency in ZERO_DECIMAL else 2
    return f"{currency} {value:,.{digits}f}".strip()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
