"""What the signal providers (support desk, product usage, CRM) say, as one plain value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signals:
    """What sources outside Chargebee say about the customer (see ``signals/``)."""

    open_tickets: int = 0
    payment_tickets_30d: int = 0
    cancel_intent: bool = False  # a recent ticket asks to cancel
    worst_sentiment_30d: float | None = None  # -1 .. 1
    usage_trend: float | None = None  # last month's sessions / the 3 months before (1 = flat)
    crm_tier: str = ""
    crm_lifetime_value: int | None = None
    sources: tuple[str, ...] = ()  # which providers answered
