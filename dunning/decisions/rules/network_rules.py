"""What the card networks allow before any model has a say.

One table (``RULES``) says, for each code a decline can carry, what it means, which card
brands it applies to, what follows for an off-session retry and where that comes from.
Precedence follows ``research/peers.md`` §4.7: a "never" code wins over everything (lost,
stolen, pick-up, fraud, closed or revoked account, restricted card; Mastercard advice 03/21;
the same meanings in Stripe's and Chargebee's vocabularies), then authentication (no
off-session retry can succeed), then "new card details first", then the issuers' waits,
then the reattempt ceilings per brand (``CEILINGS``).

A brand Dunwell does not read specifically (empty, ``other``, a local scheme such as elo or
rupay) gets every rule and every ceiling: such a card may run on any network, and stopping
costs less than a retry the network forbids. What people read (``RuleResult.fired``) is
plain words; the citation behind each sentence is in ``RuleResult.sources``, same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Verdict(StrEnum):
    RETRY = "retry"  # an off-session retry is allowed from ``earliest``
    UPDATE_PAYMENT_METHOD = "update_payment_method"  # retry only once the card has changed
    AUTHENTICATE = "authenticate"  # the customer must authenticate (send a link)
    NEVER = "never"  # do not retry this credential


NEVER, AUTH, UPDATE, WAIT = (
    Verdict.NEVER, Verdict.AUTHENTICATE, Verdict.UPDATE_PAYMENT_METHOD, Verdict.RETRY
)  # fmt: skip
PRECEDENCE = (NEVER, AUTH, UPDATE, WAIT)  # the strongest matching verdict decides

# --- where each rule comes from -------------------------------------------------------------
VISA = (
    "Visa Core Rules, 18 Apr 2026 edition, category 1: the issuer will never approve "
    "(peers.md §4.1 [N1])"
)
# The same codes on other brands: ISO 8583 gives them one meaning on every network.
EVERY_NETWORK = (
    f"{VISA}; the meaning is ISO 8583 field 39 on every network (decline-codes "
    "iso8583.json), so Dunwell stops it on every brand (issue 15)"
)
VISA_DATA = (
    "Visa Core Rules, 18 Apr 2026 edition, category 3: revalidate the data (peers.md §4.1 [N1])"
)
VISA_LIMIT = (
    "Visa Core Rules, 18 Apr 2026 edition: at most 20 reattempts in 30 days, 15 before "
    "that edition (peers.md §4.1 [N1][N4][N13])"
)
STRICTER = (
    "Dunwell rule (issue 15), stricter than Visa's 2026 category 2 (peers.md §4.1 [N1]): "
    "the issuer blocked the card, so the customer must act; meaning from ISO 8583 "
    "field 39 (decline-codes iso8583.json)"
)
ISO = (
    "ISO 8583:1987 response codes, field 39 (IanFoxDev/decline-codes data/iso8583.json; "
    "peers.md §4.6)"
)
ISO_1993 = (
    "ISO 8583:1993 action codes, as American Express answers (developer.nexigroup.com ISO "
    "response codes; First Data FDL response codes)"
)
MASTERCARD = "Mastercard Merchant Advice Codes (peers.md §4.2 [N2][N14][N15][N21][N25])"
MASTERCARD_LIMIT = (
    "Mastercard excessive-attempt rules: 10 declines in 24 h from 1 Oct 2022, "
    "35 in 30 days from 2024 (peers.md §4.2 [N2][N18][N19])"
)
STRIPE = (
    "Stripe decline codes (docs.stripe.com/declines/codes, via decline-codes stripe.json; "
    "peers.md §4.3 [N3])"
)
STRIPE_ADVICE = "Stripe advice_code (docs.stripe.com/declines/card; peers.md §4.3 [N3][S8])"
CHARGEBEE_FRAUD = (
    "Chargebee error cause gateway.fraud.account_fraud (apidocs.chargebee.com/docs/"
    "api/errors/gateway.fraud.account_fraud; peers.md §4.3 [C12])"
)
CHARGEBEE_HARD = "Chargebee: hard declines wait for a payment-method update (peers.md §4.3 [C2])"
SCA = "SCA/PSD2: an off-session retry cannot authenticate (peers.md §4.4 [C21][CK3])"

# --- brands (Chargebee's card.brand values) ----------------------------------------------------
ALL: frozenset[str] = frozenset()  # every brand
VISA_BRANDS = frozenset({"visa"})
MASTERCARD_BRANDS = frozenset({"mastercard", "maestro"})  # Maestro runs on Mastercard's rules
OTHER_NETWORKS = frozenset({"american_express", "discover", "jcb", "diners_club"})
AMEX = frozenset({"american_express"})
# Brands read specifically; any other brand is unknown, and every rule applies to it.
KNOWN_BRANDS = VISA_BRANDS | MASTERCARD_BRANDS | OTHER_NETWORKS

# --- what the codes mean, in the words a decision sentence uses ----------------------------------
LOST = "the card was reported lost"
STOLEN = "the card was reported stolen"
PICK_UP = "the issuer asked for the card to be picked up"
FRAUD = "the issuer suspects fraud on this card"
RESTRICTED = "the card is restricted by its issuer"
CLOSED = "the card's account is closed"
NO_SUCH_CARD = "the card number does not exist at the issuer"
NOT_PERMITTED = "the issuer does not permit this payment on the card"
STOPPED = "the cardholder stopped this payment"
REVOKED = "the cardholder revoked this merchant's authorisation"
REVOKED_ALL = "the cardholder revoked every recurring authorisation on the card"
DO_NOT_TRY = "the issuer said not to try this card again"
AUTHENTICATE = "the bank wants the customer to authenticate"
EXPIRED = "the card has expired"
NEW_DETAILS = "the issuer has new account information for this card"
WRONG_DATA = "the card details were wrong"


@dataclass(frozen=True)
class CodeRule:
    """One row of the table: a code read from one part of the decline, and what follows."""

    part: str  # the Decline field the code is read from
    code: str
    verdict: Verdict
    meaning: str  # plain words, for the decision sentence
    source: str
    brands: frozenset[str] = ALL
    wait: timedelta | None = None  # RETRY rows: the issuer's wait before the next try

    def applies_to(self, brand: str) -> bool:
        return not self.brands or brand in self.brands or brand not in KNOWN_BRANDS

    @property
    def sentence(self) -> str:
        label = {"decline_code": "decline", "advice_code": "advice code",
                 "error_cause_id": "error cause", "recommendation_code": "recommendation",
                 "error_category": "category"}[self.part]  # fmt: skip
        return f"{self.meaning} ({label} {self.code})"


def _waits() -> list[CodeRule]:
    waits = {"02": (72, "72 hours"), "24": (1, "1 hour"), "25": (24, "24 hours"),
             "26": (48, "2 days"), "27": (96, "4 days"), "28": (144, "6 days"),
             "29": (192, "8 days"), "30": (240, "10 days")}  # fmt: skip
    return [
        CodeRule(
            "advice_code",
            mac,
            WAIT,
            f"the issuer asks to wait {label} before the next try",
            MASTERCARD,
            MASTERCARD_BRANDS,
            timedelta(hours=hours),
        )
        for mac, (hours, label) in waits.items()
    ]


RULES: tuple[CodeRule, ...] = tuple(CodeRule(*row) for row in (
    # Never: the credential will not work again, on any brand (Visa category 1 and its ISO twins).
    ("decline_code", "04", NEVER, PICK_UP, EVERY_NETWORK),
    ("decline_code", "07", NEVER, f"{PICK_UP} (suspected fraud)", EVERY_NETWORK),
    ("decline_code", "14", NEVER, NO_SUCH_CARD, EVERY_NETWORK),
    ("decline_code", "15", NEVER, "the card's issuer does not exist", EVERY_NETWORK),
    ("decline_code", "41", NEVER, LOST, EVERY_NETWORK),
    ("decline_code", "43", NEVER, STOLEN, EVERY_NETWORK),
    ("decline_code", "46", NEVER, CLOSED, EVERY_NETWORK),
    ("decline_code", "57", NEVER, NOT_PERMITTED, EVERY_NETWORK),
    ("decline_code", "R0", NEVER, STOPPED, EVERY_NETWORK),
    ("decline_code", "R1", NEVER, REVOKED, EVERY_NETWORK),
    ("decline_code", "R3", NEVER, REVOKED_ALL, EVERY_NETWORK),
    ("decline_code", "12", NEVER, "the issuer calls the payment invalid", VISA, VISA_BRANDS),
    ("decline_code", "59", NEVER, FRAUD, STRICTER),
    ("decline_code", "62", NEVER, RESTRICTED, STRICTER),
    # American Express, Discover, JCB, Diners: the ISO 8583 codes Visa and Mastercard leave unused.
    ("decline_code", "34", NEVER, FRAUD, ISO, OTHER_NETWORKS),
    ("decline_code", "36", NEVER, RESTRICTED, ISO, OTHER_NETWORKS),
    ("decline_code", "102", NEVER, FRAUD, ISO_1993, AMEX),
    ("decline_code", "104", NEVER, RESTRICTED, ISO_1993, AMEX),
    # The same meanings as gateways such as Stripe word them (Chargebee passes them through).
    ("decline_code", "lost_card", NEVER, LOST, STRIPE),
    ("decline_code", "stolen_card", NEVER, STOLEN, STRIPE),
    ("decline_code", "pickup_card", NEVER, PICK_UP, STRIPE),
    ("decline_code", "fraudulent", NEVER, FRAUD, STRIPE),
    ("decline_code", "security_violation", NEVER, FRAUD, STRIPE),
    ("decline_code", "restricted_card", NEVER, RESTRICTED, STRIPE),
    ("decline_code", "merchant_blacklist", NEVER, "the card is blocked for this merchant", STRIPE),
    ("decline_code", "invalid_account", NEVER, CLOSED, STRIPE),
    ("decline_code", "incorrect_number", NEVER, NO_SUCH_CARD, STRIPE),
    ("decline_code", "invalid_number", NEVER, NO_SUCH_CARD, STRIPE),
    ("decline_code", "transaction_not_allowed", NEVER, NOT_PERMITTED, STRIPE),
    ("decline_code", "stop_payment_order", NEVER, STOPPED, STRIPE),
    ("decline_code", "revocation_of_authorization", NEVER, REVOKED, STRIPE),
    ("decline_code", "revocation_of_all_authorizations", NEVER, REVOKED_ALL, STRIPE),
    ("decline_code", "do_not_try_again", NEVER, DO_NOT_TRY, STRIPE),
    # Advice that comes with the decline. Mastercard's 03/21 stop every brand: a processor that
    # sends them for another network means the same thing, and a wrong stop costs one retry.
    ("advice_code", "03", NEVER, DO_NOT_TRY, MASTERCARD),
    ("advice_code", "21", NEVER, "the cardholder cancelled recurring payments here", MASTERCARD),
    ("advice_code", "do_not_try_again", NEVER, DO_NOT_TRY, STRIPE_ADVICE),
    ("recommendation_code", "do_not_try_again", NEVER, DO_NOT_TRY, STRIPE_ADVICE),
    ("error_cause_id", "gateway.fraud.account_fraud", NEVER,
     "the account is flagged for fraudulent use", CHARGEBEE_FRAUD),
    # Authentication: only the customer, on session, can complete it.
    ("decline_code", "1A", AUTH, AUTHENTICATE, SCA),
    ("decline_code", "65", AUTH, AUTHENTICATE, SCA),
    ("decline_code", "70", AUTH, AUTHENTICATE, SCA),
    ("decline_code", "authentication_required", AUTH, AUTHENTICATE, SCA),
    ("error_category", "authentication_required", AUTH, AUTHENTICATE, SCA),
    # New details first: the same card details will keep failing.
    ("advice_code", "01", UPDATE, NEW_DETAILS, MASTERCARD),
    ("advice_code", "confirm_card_data", UPDATE, WRONG_DATA, STRIPE_ADVICE),
    ("decline_code", "54", UPDATE, EXPIRED, VISA_DATA),
    ("decline_code", "55", UPDATE, WRONG_DATA, VISA_DATA),
    ("decline_code", "82", UPDATE, WRONG_DATA, VISA_DATA),
    ("decline_code", "6P", UPDATE, WRONG_DATA, VISA_DATA),
    ("decline_code", "N7", UPDATE, "the card's security code was wrong", VISA_DATA),
    ("decline_code", "33", UPDATE, EXPIRED, ISO, OTHER_NETWORKS),
    ("decline_code", "101", UPDATE, EXPIRED, ISO_1993, AMEX),
    ("decline_code", "expired_card", UPDATE, EXPIRED, STRIPE),
    ("decline_code", "incorrect_cvc", UPDATE, "the card's security code was wrong", STRIPE),
    ("decline_code", "new_account_information_available", UPDATE, NEW_DETAILS, STRIPE),
    ("error_category", "hard_decline", UPDATE, "the gateway reports a hard decline",
     CHARGEBEE_HARD),
)) + tuple(_waits())  # fmt: skip

_BY_CODE: dict[tuple[str, str], list[CodeRule]] = {}
for _rule in RULES:
    _BY_CODE.setdefault((_rule.part, _rule.code.upper()), []).append(_rule)


@dataclass(frozen=True)
class Ceiling:
    """At most ``limit`` attempts (the first included) on one card within ``window``."""

    limit: int
    window: timedelta
    sentence: str
    source: str


VISA_REATTEMPTS_PER_30_DAYS = 20
MASTERCARD_DECLINES_PER_24_HOURS = 10
MASTERCARD_DECLINES_PER_30_DAYS = 35
VISA_CEILINGS = (
    Ceiling(VISA_REATTEMPTS_PER_30_DAYS + 1, timedelta(days=30),
            f"Visa allows at most {VISA_REATTEMPTS_PER_30_DAYS} reattempts in 30 days", VISA_LIMIT),
)  # fmt: skip
MASTERCARD_CEILINGS = (
    Ceiling(MASTERCARD_DECLINES_PER_24_HOURS, timedelta(hours=24),
            f"Mastercard allows at most {MASTERCARD_DECLINES_PER_24_HOURS} declines in 24 h",
            MASTERCARD_LIMIT),
    Ceiling(MASTERCARD_DECLINES_PER_30_DAYS, timedelta(days=30),
            f"Mastercard allows at most {MASTERCARD_DECLINES_PER_30_DAYS} declines in 30 days",
            MASTERCARD_LIMIT),
)  # fmt: skip
# peers.md documents no reattempt ceiling for American Express, Discover, JCB or Diners; an
# unknown brand may be Visa or Mastercard, so both apply to it.
CEILINGS: dict[str, tuple[Ceiling, ...]] = {
    "visa": VISA_CEILINGS, "mastercard": MASTERCARD_CEILINGS, "maestro": MASTERCARD_CEILINGS,
}  # fmt: skip
UNKNOWN_BRAND_CEILINGS = VISA_CEILINGS + MASTERCARD_CEILINGS

# Read by other modules (the customer-facing reason wording).
AUTHENTICATION_CODES = frozenset(
    r.code for r in RULES if r.verdict is AUTH and r.part == "decline_code"
)
VISA_CATEGORY_1 = frozenset(r.code for r in RULES if r.source in (VISA, EVERY_NETWORK))


@dataclass(frozen=True)
class Decline:
    brand: str  # Chargebee's card brand: "visa", "mastercard", "american_express", ...
    decline_code: str = ""
    advice_code: str = ""  # processor_advice_code (Mastercard MAC, Stripe advice_code)
    error_category: str = ""
    error_cause_id: str = ""  # Chargebee's error cause, e.g. gateway.fraud.account_fraud
    recommendation_code: str = ""


@dataclass(frozen=True)
class RuleResult:
    verdict: Verdict
    earliest: datetime | None
    fired: list[str] = field(default_factory=list)  # plain sentences, what people read
    sources: list[str] = field(default_factory=list)  # the citation of each sentence, same order

    @property
    def reason(self) -> str:
        return "; ".join(self.fired) or "no network rule restricts a retry"


def rules_matching(decline: Decline) -> list[CodeRule]:
    """Every row of the table that this decline's codes hit, for its brand."""
    brand = decline.brand.strip().lower()
    found: list[CodeRule] = []
    for part in ("decline_code", "advice_code", "recommendation_code", "error_cause_id",
                 "error_category"):  # fmt: skip
        code = getattr(decline, part).strip().upper()
        if code:
            found.extend(r for r in _BY_CODE.get((part, code), ()) if r.applies_to(brand))
    return found


def network_rules(*, decline: Decline, failed_at: datetime, attempts: list[datetime]) -> RuleResult:
    """The verdict for retrying after ``decline``.

    ``attempts`` are the times of earlier declined attempts on the same card at this merchant
    (Chargebee's retries, Dunwell's and manual ones all count).
    """
    matched = rules_matching(decline)
    verdict = next((v for v in PRECEDENCE if any(r.verdict is v for r in matched)), WAIT)
    deciding = [r for r in matched if r.verdict is verdict]
    fired = [r.sentence for r in deciding]
    sources = [r.source for r in deciding]
    if verdict is not WAIT:
        return RuleResult(verdict, None, fired, sources)

    earliest = max([failed_at, *(failed_at + r.wait for r in deciding if r.wait)])
    brand = decline.brand.strip().lower()
    ceilings = CEILINGS.get(brand, ()) if brand in KNOWN_BRANDS else UNKNOWN_BRAND_CEILINGS
    history = sorted([*attempts, failed_at])
    for ceiling in ceilings:
        pushed = _ceiling(history, earliest, limit=ceiling.limit, window=ceiling.window)
        if pushed != earliest:
            earliest = pushed
            fired.append(ceiling.sentence)
            sources.append(ceiling.source)
    return RuleResult(WAIT, earliest, fired, sources)


def _ceiling(history: list[datetime], earliest: datetime, *, limit: int, window: timedelta):
    """Push ``earliest`` until fewer than ``limit`` attempts fall in the window before it."""
    candidate = earliest
    while True:
        recent = [t for t in history if candidate - window < t <= candidate]
        if len(recent) < limit:
            return candidate
        # The window frees up once the oldest attempt in it is ``window`` old.
        candidate = min(recent) + window + timedelta(seconds=1)


# The verdicts after which the policy would ask the customer for a new card: only then is
# the card updater asked first (dunning.enrichment.card_updater.lookup).
ASKING_VERDICTS = (Verdict.NEVER, Verdict.UPDATE_PAYMENT_METHOD)


def card_updater_wanted(*, decline: Decline | None, failed_at, attempts) -> bool:
    """Would the policy ask the customer for a new card because of this decline?"""
    if decline is None:
        return False
    verdict = network_rules(decline=decline, failed_at=failed_at, attempts=list(attempts)).verdict
    return verdict in ASKING_VERDICTS
