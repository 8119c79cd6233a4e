"""What a decision may know: everything read at one moment, in one plain value.

The decision policy (``policy.py``) reads only this, so the same policy runs on the live
mirror (``enrichment.py`` builds the context), in a replay of history and in the policy
evaluation (which build it from the simulation), and in the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dunning.decisions.policy_settings.offline_reminders import OfflineSchedule
from dunning.decisions.rules.network_rules import Decline
from dunning.decisions.timing.quiet_hours import QuietHours
from dunning.enrichment.card_updater.answers import CardUpdaterFinding
from dunning.enrichment.signals.values import Signals


@dataclass(frozen=True)
class DecisionContext:
    invoice_id: str
    customer_id: str
    at: datetime  # the moment decided at; nothing later is known
    trigger: str
    currency: str
    amount_due: int  # minor units
    invoice_open: bool  # payment due and not paid, voided or written off
    auto_collection: bool  # False: the customer pays offline (no retries)
    decline: Decline | None  # the most recent decline on this invoice
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    invoice_failures: int  # declined attempts on this invoice so far
    card_attempts: tuple[datetime, ...]  # this card's declines in the 30 days before
    gateway: str
    gateway_down: bool
    gateway_reason: str
    card_changed_since_failure: bool  # a new or updated payment method after the decline
    country: str
    time_zone: str
    lifetime_value: int  # paid so far, minor units
    tenure_days: int
    other_unpaid_invoices: int
    contacts_last_7d: int  # messages Dunwell sent this customer in the week before
    dunwell_retries: int  # retries Dunwell already scheduled/ran for this invoice
    dunwell_in_charge: bool  # Chargebee's own dunning is paused for this invoice
    signals: Signals = field(default_factory=Signals)
    recovery_features: dict = field(default_factory=dict)  # as recovery_data.failure_features
    chargebee_dunning_active: bool = True  # False once Chargebee's dunning is exhausted/stopped
    subscription_active: bool = True  # False once the subscription is cancelled
    # End of dunning: the action kinds a manager is asked to approve (the site's settings).
    final_actions: tuple[str, ...] = ("cancel_subscription",)
    # A cancellation of this invoice's subscription already waits for a person (proposed for
    # another of the customer's invoices): one subscription is cancelled once.
    cancellation_pending: bool = False
    # Offline payers (``auto_collection`` off): the invoice's due date, the reminder steps
    # already taken on it as (step, mode) pairs, and the schedule in force.
    due_at: datetime | None = None
    offline_steps_taken: tuple[tuple[str, str], ...] = ()
    offline_schedule: OfflineSchedule = field(default_factory=OfflineSchedule)
    # What the gateway's card updater said about the declined card (None: not asked, because
    # nothing asked for a new card). See dunning/enrichment/card_updater/.
    card_updater: CardUpdaterFinding | None = None
    # Which payday the customer is likely on, from their own earlier lack-of-funds declines
    # and when those were paid (``paydays.payday_shares``); empty: the pooled shares.
    payday_shares: tuple[tuple[str, float], ...] = ()
    # How ``time_zone`` was known (time_zones.ZoneSource): "state", "postal_code", "country",
    # "country_guess", or "unknown" (then ``time_zone`` is only a fallback, not the customer's).
    time_zone_known_by: str = "country"
    # A hold a person placed on the invoice (a promise to pay, a payment plan): until then
    # Dunwell neither retries nor messages. See dunning/models/holds.py.
    hold_until: datetime | None = None
    hold_reason: str = ""
    # The site's quiet hours (customer's local time); an explored retry never lands in them
    # (None: none set, then the local night; see exploration.py).
    quiet_hours: QuietHours | None = None
