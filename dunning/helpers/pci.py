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


# In a JSON text without backslash-u escapes every key and every string's digits appear
# verbatim, so one pass over the raw body tells whether the walk below is needed at all.
_FORBIDDEN_KEY_TEXT = re.compile('"(?:' + "|".join(sorted(FORBIDDEN_KEYS)) + ')"')
# Every stretch of digits, spaces and hyphens that _DIGIT_RUN could match inside (JSON
# text outside the escapes is ASCII where digits are concerned, so [0-9] is enough).
_DIGIT_STRETCH = re.compile(r"[0-9][0-9 -]{11,}[0-9]")


def text_may_hold_card_data(text: str) -> bool:
    """False only when a JSON text certainly holds no card number and no card key.

    A cheap pre-check for the webhook: a forbidden key (or the word as a value), a 13-19
    digit run that passes the Luhn check (anywhere: a number value too, such as a
    resource_version that happens to pass), or any backslash-u escape (which could spell
    either) sends the payload to the full walk of ``scrub_card_data``. A run cannot cross
    a string's quotes, so every run inside a string value is among the runs of the text.
    """
    if "\\u" in text:
        return True
    if _FORBIDDEN_KEY_TEXT.search(text.lower()) is not None:
        return True
    return any(mask_card_numbers(stretch) != stretch for stretch in _DIGIT_STRETCH.findall(text))


def _needs_scrub(value: Any) -> bool:
    """Look for card data without copying anything (nearly every payload is clean)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and key.lower() in FORBIDDEN_KEYS:
                    return True
                if isinstance(child, dict | list):
                    stack.append(child)
                elif isinstance(child, str) and len(child) >= 13 and _DIGIT_RUN.search(child):
                    return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 13 and _DIGIT_RUN.search(item):
            return True
    return False


def scrub_card_data(value: Any) -> Any:
    """Return ``value`` with card-number/CVV keys dropped and card-like numbers masked."""
    if not _needs_scrub(value):
        return value
    return _scrub(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _scrub(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.lower() in FORBIDDEN_KEYS)
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str) and len(value) >= 13:
        return mask_card_numbers(value)
    return value
