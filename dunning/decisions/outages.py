"""Gateway outages: a burst of failures on one gateway is the gateway's fault, not the cards'.

A gateway is "down" when, in the last window, enough payments on it failed and most of its
attempts failed (one busy bank's bad morning is not an outage). Retries on a down gateway
wait; the verdict says why, so the pause can be shown and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from dunning.models import Transaction

WINDOW = timedelta(minutes=30)
MIN_FAILURES = 8
MIN_FAILURE_SHARE = 0.6
# Declines that say nothing about the gateway (the issuer answered) never count.
GATEWAY_CATEGORIES = ("gateway_error", "processing_error")


@dataclass(frozen=True)
class GatewayHealth:
    gateway: str
    attempts: int
    gateway_failures: int
    down: bool

    @property
    def reason(self) -> str:
        share = self.gateway_failures / self.attempts if self.attempts else 0.0
        state = "down" if self.down else "up"
        return (
            f"{self.gateway} looks {state}: {self.gateway_failures} of {self.attempts} attempts "
            f"in the last {int(WINDOW.total_seconds() // 60)} min failed at the gateway "
            f"({share:.0%})"
        )


def gateway_health(*, gateway: str, at: datetime) -> GatewayHealth:
    """Health of ``gateway`` judged only from what happened before ``at`` (replay-safe)."""
    counts = Transaction.objects.filter(
        gateway=gateway, type="payment", date__gt=at - WINDOW, date__lte=at
    ).aggregate(
        attempts=Count("id"),
        gateway_failures=Count(
            "id", filter=Q(status="failure", error_category__in=GATEWAY_CATEGORIES)
        ),
    )
    attempts, failures = counts["attempts"], counts["gateway_failures"]
    down = failures >= MIN_FAILURES and failures >= MIN_FAILURE_SHARE * attempts
    return GatewayHealth(gateway, attempts, failures, down)
