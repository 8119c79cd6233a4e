"""The executor's one door to the channels: deliver the message an action asks for.

The executor (``dunning/execution/``) calls ``message_deliver`` for message-like actions
(message, payment-method link, authentication link) with the links it obtained from
Chargebee (``{"pay_link": ...}``). Delivery drafts the text, fills the placeholders,
respects quiet hours and contact limits, sends through the channel adapter and logs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dunning.models import Action


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # "sent", "deferred" (try again at ``retry_at``) or "refused" (never send)
    reason: str = ""
    retry_at: datetime | None = None
    message_id: int | None = None


def message_deliver(*, action: Action, links: dict[str, str]) -> DeliveryResult:
    raise NotImplementedError("channels are being built (issue 6); nothing is sent yet")
