"""Every rate the simulator uses, and the published figure it comes from.

Source tags are those of ``../shared/research/peers.md`` §8 (e.g. [R22] = Recurly's 2024
State of Subscriptions via a secondary source). Where no published figure exists the value
is our assumption and says so.
"""

from __future__ import annotations

DAY = 86_400
HOUR = 3_600

# --- failures at renewal -----------------------------------------------------------------
# [R22] 8.3% of renewal invoices failed on the first attempt (2023). [R12] decline rates by
# funding: credit ~6%, debit ~13%. Prepaid is our assumption (higher than debit).
FIRST_ATTEMPT_FAILURE_BY_FUNDING = {"credit": 0.060, "debit": 0.130, "prepaid": 0.200}
FUNDING_MIX = {"credit": 0.60, "debit": 0.37, "prepaid": 0.03}  # assumption

# [R11] generic decline, insufficient funds and temporary hold are >90% of initial failures;
# [T7] roughly half of declines are for lack of funds. The rest is our assumption.
DECLINE_MIX = {
    "insufficient_funds": 0.48,
    "do_not_honor": 0.30,
    "issuer_unavailable": 0.07,  # the "temporary hold / try again" family
    "processing_error": 0.06,
    "authentication_required": 0.03,
    "card_cancelled_by_holder": 0.02,  # Mastercard MAC 21: cardholder stopped the recurring payment
    "lost_or_stolen": 0.02,
    "suspected_fraud": 0.02,
}

# Network codes per reason: Visa categories and Mastercard Merchant Advice Codes ([N1][N2]
# [N14][N15], peers.md §4.1-4.2). (code, text, error_category, Mastercard MAC choices)
DECLINE_CODES = {
    "insufficient_funds": (
        "51",
        "Insufficient funds",
        "soft_decline",
        ["24", "25", "26", "02", None],
    ),
    "do_not_honor": ("05", "Do not honor", "soft_decline", ["02", None, None]),
    "issuer_unavailable": ("91", "Issuer or switch inoperative", "soft_decline", [None]),
    "processing_error": ("96", "System malfunction", "processing_error", ["02", None]),
    "expired_card": ("54", "Expired card", "hard_decline", ["01"]),
    "authentication_required": (
        "1A",
        "Additional customer authentication required",
        "authentication_required",
        [None],
    ),
    "card_cancelled_by_holder": ("R1", "Revocation of authorization order", "hard_decline", ["21"]),
    "lost_or_stolen": ("43", "Stolen card, pick up", "hard_decline", ["03"]),
    "suspected_fraud": ("59", "Suspected fraud", "soft_decline", ["03", None]),
    "gateway_unavailable": ("gateway_timeout", "Gateway timed out", "gateway_error", [None]),
}

# --- recovery ----------------------------------------------------------------------------
# Targets the generated history is tested against ([CB3] native platform tools recover
# roughly 40-50%; [R22] median dunning recovery 49.0%; [R7] 90% of recoveries within 10 days).
# Under smart dunning (12 retries) [R7] reports optimised retries lifting recovery from about
# 53% to 71%.
TARGET_RECOVERY_RATE = {"custom": (0.40, 0.55), "smart": (0.60, 0.75)}
TARGET_SHARE_RECOVERED_WITHIN_10_DAYS = 0.80  # [R7] says 90%; smart dunning runs longer

# Chance that one retry of a soft decline succeeds, before the customer's traits, payday and
# time-of-day effects. Assumptions tuned so the totals above come out.
RETRY_BASE_SUCCESS = {
    "insufficient_funds": 0.14,
    "do_not_honor": 0.22,
    "issuer_unavailable": 0.65,
    "processing_error": 0.60,
    "suspected_fraud": 0.10,
    "authentication_required": 0.02,  # off-session retries cannot authenticate [CK3]
    "gateway_unavailable": 0.90,
}
PAYDAY_BOOST = 3.5
# Hours after a payday's local midnight before the money is spendable (our assumption: same
# day; some employers and banks land it a day later).
FUNDS_LANDING_HOURS = 0
# The customer's local hour and a charge's chance: (from hour, to hour, factor), first match
# wins; debit cards first get the overnight release ([S1]: debit succeeds slightly more at
# 12:01 AM). The factors are our assumption.
DEBIT_OVERNIGHT = (0, 2, 1.35)
TIME_OF_DAY_FACTORS = ((6, 11, 1.2), (1, 5, 0.75))
# How much customers differ in money trouble (beta distribution; our assumption).
FINANCIAL_STRESS_BETA = (1.5, 4.0)
RETRY_FATIGUE = 0.80  # insufficient funds: a payday between the failure and the retry
HARD_DECLINES = {"expired_card", "card_cancelled_by_holder", "lost_or_stolen"}
SUCCESS_AFTER_NEW_CARD = 0.88

# After each failed attempt Chargebee emails the customer; some update their card.
CARD_UPDATE_AFTER_EMAIL = {"hard": 0.26, "soft": 0.07}

# --- Chargebee's dunning -----------------------------------------------------------------
# Dunning V2 "custom": 3 retries (seed 004); the interval is site configuration, and the
# public samples retry 24 h after the failure (research/chargebee.md §6.1).
CUSTOM_RETRY_DAYS = (1, 3, 5)
# Dunning V2 "smart": up to 12 retries ([C1]); hard declines wait for a new card ([C2]).
SMART_RETRY_DAYS = (1, 2, 3, 4, 6, 8, 10, 12, 15, 18, 22, 26)

# End of dunning, per plan (seed 004: keep or cancel the subscription; leave the invoice
# unpaid, write it off or void it). Which plan gets which is our assumption.
FINAL_ACTIONS = {
    "starter": ("cancel", "write_off"),
    "pro": ("cancel", "not_paid"),
    "business": ("keep", "not_paid"),
    "annual": ("cancel", "void"),
}

# --- the business ------------------------------------------------------------------------
PLANS = {"starter": 1_900, "pro": 4_900, "business": 14_900}  # monthly, minor units
PLAN_MIX = {"starter": 0.45, "pro": 0.40, "business": 0.15}
ANNUAL_SHARE = 0.22  # annual price = 10 months
ZERO_DECIMAL_PRICES = {"starter": 2_900, "pro": 7_400, "business": 22_000}  # JPY
# Chargebee renews a subscription at the moment its term began (None); a site whose history
# was recorded at one fixed hour of day sets the UTC hour here.
RENEWAL_HOUR_UTC: int | None = None
MONTHLY_SIGNUP_RATE = 0.035
MONTHLY_VOLUNTARY_CHURN = 0.015
CHURN_INTENT_SHARE = 0.10  # customers who will not fight to keep the subscription

COUNTRIES = {
    # country: (share, currency, time zones, payday weights)
    "US": (
        0.38,
        "USD",
        ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
        "us",
    ),
    "CA": (0.05, "USD", ["America/Toronto", "America/Vancouver"], "us"),
    "GB": (0.12, "GBP", ["Europe/London"], "eu"),
    "DE": (0.10, "EUR", ["Europe/Berlin"], "eu"),
    "FR": (0.07, "EUR", ["Europe/Paris"], "eu"),
    "NL": (0.05, "EUR", ["Europe/Amsterdam"], "eu"),
    "ES": (0.05, "EUR", ["Europe/Madrid"], "eu"),
    "SE": (0.03, "EUR", ["Europe/Stockholm"], "eu"),
    "AU": (0.07, "AUD", ["Australia/Sydney", "Australia/Perth"], "au"),
    "BR": (0.04, "USD", ["America/Sao_Paulo"], "us"),
    "JP": (0.04, "JPY", ["Asia/Tokyo"], "eu"),
}
# The billing state a customer in a zone gives (only where a country spans several zones).
STATE_OF_ZONE = {
    "America/New_York": "NY",
    "America/Chicago": "IL",
    "America/Denver": "CO",
    "America/Los_Angeles": "CA",
    "America/Phoenix": "AZ",
    "America/Toronto": "ON",
    "America/Vancouver": "BC",
    "America/Halifax": "NS",
    "Australia/Sydney": "NSW",
    "Australia/Perth": "WA",
    "Australia/Brisbane": "QLD",
    "America/Manaus": "AM",
    "America/Tijuana": "BCN",
}
PAYDAY_MIX = {
    "us": {
        "biweekly_friday": 0.40,
        "weekly_friday": 0.15,
        "first": 0.15,
        "semi_monthly": 0.20,
        "last_business_day": 0.10,
    },
    "eu": {
        "last_business_day": 0.55,
        "first": 0.20,
        "semi_monthly": 0.10,
        "weekly_friday": 0.05,
        "twenty_fifth": 0.10,
    },
    "au": {"biweekly_friday": 0.45, "weekly_friday": 0.20, "last_business_day": 0.35},
}
BRAND_MIX = {"visa": 0.55, "mastercard": 0.35, "american_express": 0.08, "discover": 0.02}
GATEWAY_MIX = {"stripe": 0.60, "adyen": 0.25, "braintree": 0.15}
# [C7] only Stripe/Braintree run an account updater for Chargebee; [CB4] "Stripe's Card
# Updater fixes 70% of expiring cards automatically". Braintree's (US-only) share is ours.
ACCOUNT_UPDATER_SHARE = {"stripe": 0.70, "braintree": 0.45, "adyen": 0.0}
# Dunwell asking the updater on demand after a decline (dunning/enrichment/card_updater/): the share of
# declined cards for which the network knows a newer one. Expired: [CB4]'s 70% of expiring
# cards; lost/stolen cards are reissued less often through the updater (our assumption); a
# cardholder who revoked the payment has no newer card to find.
ON_DEMAND_UPDATER_HIT = {"expired_card": 0.70, "lost_or_stolen": 0.40}
# Customers who replace an expiring card themselves after the "card expiring" email ([C6]);
# the share is our assumption, scaled by the customer's responsiveness.
PROACTIVE_CARD_UPDATE = 0.35

# Gateway outages: a burst of failures on one gateway (peers.md §0: no peer pauses for them).
OUTAGES_PER_YEAR = 6
OUTAGE_HOURS = (1.0, 6.0)

# Webhook delivery realism (research/chargebee.md §1.2: duplicates and disorder are
# "likely"); the rates are our assumption.
DUPLICATE_DELIVERY_RATE = 0.02
LATE_DELIVERY_RATE = 0.03
