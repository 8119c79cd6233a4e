"""What a customer message may not carry on its own: links, amounts of money, offers.

Plain patterns, shared by the check of every draft (``dunning.actions.channels.validation``)
and of the offline reminder texts an admin writes
(``dunning.decisions.policy_settings.offline_reminders``).
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
LINK = re.compile(
    r"(?i)\b(?:https?://|ftp://|www\.|mailto:|tel:)|\]\(|<\s*a\s|"
    r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|ly|me|app|dev|info|biz|link|xyz|ai|gg|to)\b"
)
MONEY = re.compile(
    r"(?i)[$€£¥₹]\s*\d|\d\s*[$€£¥₹]|"
    r"\b(?:usd|eur|gbp|jpy|aud|cad|chf|inr)\s*\d|\d\s*(?:usd|eur|gbp|jpy|aud|cad|chf|inr)\b|"
    r"\b\d+[.,]\d{2}\b|\b\d+\s*(?:dollars?|euros?|pounds?|cents?)\b|\d\s*%|\bpercent\b"
)
OFFER = re.compile(
    r"(?i)\b(?:discount\w*|coupon\w*|promo\w*|voucher\w*|refund\w*|rebate\w*|waiv\w*|"
    r"free\s+(?:month|week|year|period|upgrade)\w*|(?:\w+\s+)?off\s+your|credit\s+(?:note|to\s+your))\b"
)
