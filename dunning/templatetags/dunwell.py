from __future__ import annotations

import json

from django import template

from dunning.money import amount_text, decimals

register = template.Library()


@register.filter
def money(amount: int | None, currency: str | None = "") -> str:
    """Minor units to a readable amount: 123456, "EUR" -> "EUR 1,234.56"."""
    if amount is None:
        return "—"
    currency = (currency or "").upper()
    return f"{currency} {amount_text(amount, currency)}".strip()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@register.filter
def major(value: float | None, currency: str | None = "") -> str:
    """An amount already in major units, as precise as its currency: 22000.0, "JPY" -> "22,000"."""
    if value is None:
        return "—"
    return f"{value:,.{decimals(currency)}f}"


@register.simple_tag
def message_life_of(action):
    """Where a message action's message is in its life (None for other actions)."""
    from dunning.channels.case_context import MESSAGE_KINDS
    from dunning.channels.message_life import message_life

    if action is None or action.kind not in MESSAGE_KINDS:
        return None
    return message_life(action=action)
