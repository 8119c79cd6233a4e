"""What the card networks allow before any model has a say.

Precedence follows ``research/peers.md`` §4.7: hard stops (Visa category 1, Mastercard
Merchant Advice Codes 03/21), authentication-required declines (no off-session retry),
payment-method problems (retry only after a new card), issuer waits (MAC 02, 24-30), then
the reattempt ceilings (Visa 20 in 30 days; Mastercard 10 declines in 24 h and 35 in 30
days). Every rule names the edition it comes from; the result lists the rules that fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

VISA_EDITION = "Visa Core Rules 2026-04-18 (peers.md §4.1 [N1])"
MASTERCARD_EDITION = "Mastercard MAC / excessive-attempt rules 2024 (peers.md §4.2 [N2][N14])"

VISA_CATEGORY_1 = frozenset(
    {"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"}
)
VISA_CATEGORY_3 = frozenset({"54", "55", "82", "6P", "N7"})  # data quality: new details needed
AUTHENTICATION_CODES = frozenset({"1A", "65", "70"})
VISA_REATTEMPTS_PER_30_DAYS = 20
MASTERCARD_DECLINES_PER_24_HOURS = 10
MASTERCARD_DECLINES_PER_30_DAYS = 35
MAC_WAITS = {
    "02": timedelta(hours=72),
    "24": timedelta(hours=1),
    "25": timedelta(hours=24),
    "26": timedelta(days=2),
    "27": timedelta(days=4),
    "28": timedelta(days=6),
    "29": timedelta(days=8),
    "30": timedelta(days=10),
}


# (attempts allowed in the window, counting the first; the window; the rule as cited)
CEILINGS: dict[str, list[tuple[int, timedelta, str]]] = {
    "visa": [
        (VISA_REATTEMPTS_PER_30_DAYS + 1, timedelta(days=30),
         f"Visa: at most {VISA_REATTEMPTS_PER_30_DAYS} reattempts in 30 days [{VISA_EDITION}]"),
    ],
    "mastercard": [
        (MASTERCARD_DECLINES_PER_24_HOURS, timedelta(hours=24),
         f"Mastercard: at most {MASTERCARD_DECLINES_PER_24_HOURS} declines in 24 h "
         f"[{MASTERCARD_EDITION}]"),
        (MASTERCARD_DECLINES_PER_30_DAYS, timedelta(days=30),
         f"Mastercard: at most {MASTERCARD_DECLINES_PER_30_DAYS} declines in 30 days "
         f"[{MASTERCARD_EDITION}]"),
    ],
}  # fmt: skip


class Verdict(StrEnum):
    RETRY = "retry"  # an off-session retry is allowed from ``earliest``
    UPDATE_PAYMENT_METHOD = "update_payment_method"  # retry only once the card has changed
    AUTHENTICATE = "authenticate"  # the customer must authenticate (send a link)
    NEVER = "never"  # do not retry this credential


@dataclass(frozen=True)
class Decline:
    brand: str  # "visa", "mastercard", ...
    decline_code: str = ""
    advice_code: str = ""  # Mastercard Merchant Advice Code (processor_advice_code)
    error_category: str = ""


@dataclass(frozen=True)
class RuleResult:
    verdict: Verdict
    earliest: datetime | None
    fired: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.fired) or "no network rule restricts a retry"


def network_rules(*, decline: Decline, failed_at: datetime, attempts: list[datetime]) -> RuleResult:
    """The verdict for retrying after ``decline``.

    ``attempts`` are the times of earlier declined attempts on the same card at this merchant
    (Chargebee's retries, Dunwell's and manual ones all count).
    """
    code, mac, brand = decline.decline_code.upper(), decline.advice_code, decline.brand.lower()
    fired: list[str] = []

    if brand == "visa" and code in VISA_CATEGORY_1:
        fired.append(f"Visa category 1 code {code}: the issuer will never approve [{VISA_EDITION}]")
        return RuleResult(Verdict.NEVER, None, fired)
    if brand == "mastercard" and mac in ("03", "21"):
        meaning = "do not try again" if mac == "03" else "the cardholder cancelled the payment"
        fired.append(f"Mastercard MAC {mac}: {meaning} [{MASTERCARD_EDITION}]")
        return RuleResult(Verdict.NEVER, None, fired)
    if code in AUTHENTICATION_CODES or decline.error_category == "authentication_required":
        fired.append(f"decline {code or decline.error_category}: authentication required; an "
                     "off-session retry cannot succeed (SCA, peers.md §4.4)")  # fmt: skip
        return RuleResult(Verdict.AUTHENTICATE, None, fired)
    if mac == "01" or code in VISA_CATEGORY_3 or decline.error_category == "hard_decline":
        fired.append(
            f"decline {code} (MAC {mac or '-'}): the card needs new details before a retry"
        )
        return RuleResult(Verdict.UPDATE_PAYMENT_METHOD, None, fired)

    earliest = failed_at
    if brand == "mastercard" and mac in MAC_WAITS:
        earliest = failed_at + MAC_WAITS[mac]
        fired.append(f"Mastercard MAC {mac}: wait {MAC_WAITS[mac]} [{MASTERCARD_EDITION}]")

    history = sorted([*attempts, failed_at])
    for limit, window, rule in CEILINGS.get(brand, ()):
        earliest = _ceiling(history, earliest, limit=limit, window=window, rule=rule, fired=fired)
    return RuleResult(Verdict.RETRY, earliest, fired)


def _ceiling(
    history: list[datetime],
    earliest: datetime,
    *,
    limit: int,
    window: timedelta,
    rule: str,
    fired: list[str],
) -> datetime:
    """Push ``earliest`` until fewer than ``limit`` attempts fall in the window before it."""
    candidate = earliest
    while True:
        recent = [t for t in history if candidate - window < t <= candidate]
        if len(recent) < limit:
            return candidate
        # The window frees up once the oldest attempt in it is ``window`` old.
        candidate = min(recent) + window + timedelta(seconds=1)
        if rule not in fired:
            fired.append(rule)
