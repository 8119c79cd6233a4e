"""What a card updater says, as plain values the decision policy can read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class UpdateKind(StrEnum):
    NEW_EXPIRY = "new_expiry"  # the same card, reissued with a later expiry date
    NEW_CARD = "new_card"  # a replacement card (new last four digits) on the same account
    CLOSED = "closed"  # the account is closed: only the customer can give a new card


@dataclass(frozen=True)
class CardUpdate:
    """A newer card the network knows (never a card number: last four and expiry only)."""

    kind: str  # UpdateKind
    reference: str  # the updater's own reference for this answer
    last4: str = ""
    expiry_month: int | None = None
    expiry_year: int | None = None


class Outcome(StrEnum):
    UPDATED = "updated"  # a newer card exists and is on file now
    CLOSED = "closed"  # the account is closed
    NO_UPDATE = "no_update"  # the updater knows nothing newer
    UNAVAILABLE = "unavailable"  # the updater failed or timed out: decided without it
    NOT_CONFIGURED = "not_configured"  # no updater is set up


@dataclass(frozen=True)
class CardUpdaterFinding:
    """The answer as a decision records it (features, explanation, audit)."""

    outcome: str  # Outcome
    adapter: str
    payment_source_id: str
    reference: str = ""
    kind: str = ""  # UpdateKind, when there was an update
    last4: str = ""
    detail: str = ""  # why it was unavailable
    asked_at: str = ""  # ISO 8601: when the updater answered
    cached: bool = False

    @property
    def updated(self) -> bool:
        return self.outcome == Outcome.UPDATED

    @property
    def closed(self) -> bool:
        return self.outcome == Outcome.CLOSED

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def of(cls, data: dict) -> CardUpdaterFinding:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def finding_described(finding: CardUpdaterFinding) -> str:
    """The updater's answer in words, for the decision's sentence and explanation."""
    ref = f" (ref {finding.reference})" if finding.reference else ""
    if finding.updated:
        what = (
            f"a replacement card ending {finding.last4}"
            if finding.kind == "new_card"
            else ("a new expiry date for the same card")
        )
        return f"the card updater found {what}{ref}"
    if finding.closed:
        return f"the card updater says the card's account is closed{ref}"
    if finding.outcome == Outcome.NO_UPDATE:
        return "the card updater knows no newer card"
    if finding.outcome == Outcome.UNAVAILABLE:
        return f"the card updater could not be asked ({finding.detail})"
    return "no card updater is set up"
