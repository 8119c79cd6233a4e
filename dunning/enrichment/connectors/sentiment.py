"""A small word-list sentiment score for ticket text, in [-1, 1], computed here.

Ticket text is customer-written: it is scored on this machine and never stored or sent on
(no model, no LLM). Topic words say whether a ticket is about the payment or asks to cancel.
"""

from __future__ import annotations

import re

NEGATIVE = frozenset(
    [
        "angry",
        "annoyed",
        "awful",
        "bad",
        "broken",
        "cancel",
        "charged",
        "complaint",
        "disappointed",
        "frustrated",
        "furious",
        "hate",
        "horrible",
        "impossible",
        "never",
        "outrageous",
        "poor",
        "problem",
        "refund",
        "ridiculous",
        "scam",
        "terrible",
        "unacceptable",
        "unhappy",
        "upset",
        "useless",
        "worst",
        "wrong",
    ]
)
POSITIVE = frozenset(
    [
        "appreciate",
        "awesome",
        "excellent",
        "fantastic",
        "glad",
        "good",
        "great",
        "happy",
        "helpful",
        "love",
        "nice",
        "perfect",
        "pleased",
        "quick",
        "resolved",
        "satisfied",
        "thank",
        "thanks",
        "wonderful",
    ]
)
PAYMENT_WORDS = frozenset(
    [
        "payment",
        "card",
        "charge",
        "charged",
        "invoice",
        "billing",
        "declined",
        "bank",
    ]
)
CANCEL_PHRASES = ("cancel", "close my account", "unsubscribe", "terminate")
_WORD = re.compile(r"[a-z']+")


def sentiment_score(text: str) -> float | None:
    """(positive - negative) / (their sum); None when the text has no word of either list."""
    words = _WORD.findall(text.lower())
    negative = sum(word in NEGATIVE for word in words)
    positive = sum(word in POSITIVE for word in words)
    if not negative and not positive:
        return None
    return round((positive - negative) / (positive + negative), 3)


def about_payment(text: str) -> bool:
    return any(word in PAYMENT_WORDS for word in _WORD.findall(text.lower()))


def asks_to_cancel(text: str) -> bool:
    lowered = text.lower()
    return any(phrase in lowered for phrase in CANCEL_PHRASES)
