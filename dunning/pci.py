"""Keep card numbers and security codes out of everything Dunwell stores.

Chargebee never sends a full card number, but payloads pass through proxies, sandboxes
and humans; this is the last line before the database.
"""

from __future__ import annotations

import re
from typing import Any

FORBIDDEN_KEYS = frozenset({"number", "card_number", "cvv", "cvc", "cvv2", "cvc2", "pan"})
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_match(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "*" * (len(digits) - 4) + digits[-4:]
    return match.group(0)


def mask_card_numbers(text: str) -> str:
    return _DIGIT_RUN.sub(_mask_match, text)


def scrub_card_data(value: Any) -> Any:
    """Return ``value`` with card-number/CVV keys dropped and card-like numbers masked."""
    if isinstance(value, dict):
        return {
            key: scrub_card_data(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.lower() in FORBIDDEN_KEYS)
        }
    if isinstance(value, list):
        return [scrub_card_data(item) for item in value]
    if isinstance(value, str) and len(value) >= 13:
        return mask_card_numbers(value)
    return value
