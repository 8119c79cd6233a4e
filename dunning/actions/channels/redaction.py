"""Removing what identifies a person, or their money, from text before it leaves Dunwell.

Support tickets are written by customers and may hold anything: their email, phone number,
a card number pasted in, their name in a signature, amounts. Pattern matching finds what
has a shape (emails, phones, card-like digit runs, links, amounts); names are removed when
Dunwell knows them (the customer's, the company's) and where a ticket introduces one
("my name is ...", a signature after "Thanks," or "Regards,"). No redactor finds
everything, which is why only short, recent tickets are sent at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
# 12 to 19 digits, optionally grouped by spaces or dashes: card numbers, IBAN-like runs.
CARD_LIKE = re.compile(r"\b(?:\d[ -]?){11,18}\d\b")
# International numbers first (a spaced "+49 151 ..." would otherwise read as a card number).
INTERNATIONAL_PHONE = re.compile(r"(?:\+|\b00)\d[\d ()./-]{6,}\d\b")
PHONE = re.compile(r"\(?\b\d[\d ()./-]{6,}\d\b")
MONEY = re.compile(
    r"(?i)(?:[$€£¥₹]|\b(?:usd|eur|gbp|jpy|aud|cad|chf|inr)\b)\s*\d[\d,.]*|"
    r"\b\d[\d,.]*\s*(?:[$€£¥₹]|(?:usd|eur|gbp|jpy|aud|cad|chf|inr|dollars?|euros?|pounds?)\b)"
)
CVV = re.compile(r"(?i)\b(cvv2?|cvc2?|cid|security code)(\W{0,5})\d{3,4}\b")
LONG_NUMBER = re.compile(r"\b\d{4,}\b")  # last four digits, CVV-like, account numbers
INTRODUCED_NAME = re.compile(r"\b([Mm]y name is|[Nn]ame:)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)")
SIGNATURE = re.compile(
    r"(?im)^(\s*(?:thanks|thank you|regards|best|cheers|sincerely|kind regards|best regards)"
    r"[,!.]?\s*\n?\s*)([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)\s*$"
)


def text_redact(text: str, *, known_names: Iterable[str] = ()) -> str:
    """``text`` with emails, links, card-like numbers, phones, amounts and names replaced."""
    text = EMAIL.sub("[email]", text)
    text = LINK.sub("[link]", text)
    text = INTERNATIONAL_PHONE.sub("[phone]", text)
    text = CARD_LIKE.sub("[card number]", text)
    text = MONEY.sub("[amount]", text)
    text = PHONE.sub("[phone]", text)
    text = CVV.sub(r"\1\2[number]", text)
    text = LONG_NUMBER.sub("[number]", text)
    for name in sorted(
        {n.strip() for n in known_names if len(n.strip()) >= 2}, key=len, reverse=True
    ):
        text = re.sub(rf"(?i)\b{re.escape(name)}\b", "[name]", text)
    text = SIGNATURE.sub(lambda m: f"{m.group(1)}[name]", text)
    text = INTRODUCED_NAME.sub(lambda m: f"{m.group(1)} [name]", text)
    return text
