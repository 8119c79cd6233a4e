"""Gateway outages: a burst of failures on one gateway is the gateway's fault, not the cards'.

A gateway is "down" when, in the last window, enough payments on it failed and most of its
attempts failed (one busy bank's bad morning is not an outage), and its latest attempt did
not succeed (a success after the burst is the first sign of recovery). Retries on a down
gateway wait; the verdict says why, so the pause can be shown and audited
(``gateway_pauses.py``).
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
    last_attempt_succeeded: bool = False

    @property
    def reason(self) -> str:
        share = self.gateway_failures / self.attempts if self.attempts else 0.0
        state = "down" if self.down else "up"
        latest = "; the latest attempt succeeded" if self.last_attempt_succeeded else ""
        return (
            f"{self.gateway} looks {state}: {self.gateway_failures} of {self.attempts} attempts "
            f"in the last {int(WINDOW.total_seconds() // 60)} min failed at the gateway "
            f"({share:.0%}){latest}"
        )

    @property
    def numbers(self) -> dict:
        """What the audit trail keeps of a verdict."""
        return {
            "gateway": self.gateway,
            "attempts": self.attempts,
            "gateway_failures": self.gateway_failures,
            "last_attempt_succeeded": self.last_attempt_succeeded,
            "window_minutes": int(WINDOW.total_seconds() // 60),
            "min_failures": MIN_FAILURES,
            "min_failure_share": MIN_FAILURE_SHARE,
        }


def gateway_health(*, gateway: str, at: datetime) -> GatewayHealth:
    """Health of ``gateway`` judged only from what happened before ``at`` (replay-safe)."""
    window = Transaction.objects.filter(
        gateway=gateway, type="payment", date__gt=at - WINDOW, date__lte=at
    )
    counts = window.aggregate(
        attempts=Count("id"),
        gateway_failures=Count(
            "id", filter=Q(status="failure", error_category__in=GATEWAY_CATEGORIES)
        ),
    )
    attempts, failures = counts["attempts"], counts["gateway_failures"]
    burst = failures >= MIN_FAILURES and failures >= MIN_FAILURE_SHARE * attempts
    recovering = burst and (
        window.order_by("-date", "-id").values_list("status", flat=True).first() == "success"
    )
    return GatewayHealth(gateway, attempts, failures, burst and not recovering, recovering)
