"""Gateway pauses: while a gateway is down, retries on it wait; on recovery they are re-decided.

A decision that finds its gateway down (``outages.gateway_health``) opens a pause; while
a pause is open, every decision on that gateway holds its retries, even once the burst
has slid out of the health window. A periodic check (``gateway_pauses_check``) ends a
pause when the gateway has recovered and decides again about the invoices it held.

Replay-safe: a decision at ``at`` sees the pauses that were open at ``at`` (begun by
then and not yet ended), and health is read from transactions up to ``at`` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from dunning.decisions.rules.outages import gateway_health
from dunning.governance.audit import audit_record
from dunning.models import Action, ActionKind, GatewayPause, Invoice, Transaction
from dunning.models.mirror import DUE_STATUSES

logger = logging.getLogger("dunwell.decisions")

ACTOR = "dunwell (gateway outage detection)"
RECENT_LIMIT = 10


@dataclass(frozen=True)
class GatewayState:
    gateway: str
    down: bool
    reason: str
    pause: GatewayPause | None


def gateway_pause_covering(*, gateway: str, at: datetime) -> GatewayPause | None:
    """The pause that was open on ``gateway`` at ``at``, if any."""
    return (
        GatewayPause.objects.filter(gateway=gateway, started_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .order_by("-started_at")
        .first()
    )


def gateway_state_at(*, gateway: str, at: datetime) -> GatewayState:
    """Whether retries on ``gateway`` must wait at ``at``; opens a pause for a new outage."""
    health = gateway_health(gateway=gateway, at=at)
    pause = gateway_pause_covering(gateway=gateway, at=at)
    if health.down and pause is None:
        pause = gateway_pause_open(gateway=gateway, at=at)
    if health.down:
        return GatewayState(gateway, True, health.reason, pause)
    if pause is not None:
        since = pause.started_at.strftime("%Y-%m-%d %H:%M UTC")
        return GatewayState(
            gateway, True, f"{gateway} paused since {since} ({pause.reason})", pause
        )
    return GatewayState(gateway, False, health.reason, None)


def gateway_pause_open(*, gateway: str, at: datetime) -> GatewayPause | None:
    """Open a pause on ``gateway`` from ``at`` (audited); the one already open if another
    worker got there first. None if the gateway is not down at ``at``."""
    health = gateway_health(gateway=gateway, at=at)
    if not health.down:
        return None
    try:
        with transaction.atomic():
            pause = GatewayPause.objects.create(
                gateway=gateway, started_at=at, reason=health.reason[:300]
            )
            audit_record(
                action="gateway.paused",
                actor_label=ACTOR,
                target=pause,
                data={**health.numbers, "started_at": at, "reason": health.reason},
            )
    except IntegrityError:
        # One open pause per gateway (a partial unique index): a concurrent decision opened it.
        return GatewayPause.objects.filter(gateway=gateway, ended_at__isnull=True).first()
    logger.warning("retries on %s paused: %s", gateway, health.reason)
    return pause


def gateway_recovery(*, pause: GatewayPause, at: datetime) -> str | None:
    """Why ``pause`` may end at ``at``, or None while the gateway is still failing."""
    health = gateway_health(gateway=pause.gateway, at=at)
    if health.down:
        return None
    if health.gateway_failures == 0:
        return f"no gateway-side failures on {pause.gateway} in the last window"
    success = (
        Transaction.objects.filter(
            gateway=pause.gateway,
            type="payment",
            status="success",
            date__gt=pause.started_at,
            date__lte=at,
        )
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    if success is None:
        return None
    return f"a payment on {pause.gateway} succeeded at {success:%Y-%m-%d %H:%M:%S} UTC"


def gateway_pause_close(*, pause: GatewayPause, at: datetime, why: str) -> bool:
    """End ``pause`` at ``at`` (audited). False if another checker ended it first."""
    with transaction.atomic():
        closed = GatewayPause.objects.filter(pk=pause.pk, ended_at__isnull=True).update(
            ended_at=at, end_reason=why[:300]
        )
        if not closed:
            return False
        pause.refresh_from_db()
        health = gateway_health(gateway=pause.gateway, at=at)
        audit_record(
            action="gateway.resumed",
            actor_label=ACTOR,
            target=pause,
            data={
                **health.numbers,
                "started_at": pause.started_at,
                "ended_at": at,
                "paused_minutes": round((at - pause.started_at).total_seconds() / 60, 1),
                "reason": why,
            },
        )
    logger.warning("retries on %s resumed: %s", pause.gateway, why)
    return True


def invoices_held_by(*, gateway: str) -> list[str]:
    """Invoices still due whose latest decision held its retries for ``gateway``."""

    held = Action.objects.filter(
        decision_id=OuterRef("latest_decision_id"),
        kind=ActionKind.GATEWAY_PAUSE,
        params__gateway=gateway,
    )
    return list(
        Invoice.objects.filter(Exists(held), status__in=DUE_STATUSES)
        # In the order decisions are listed, as when this was read from the decisions.
        .order_by("-latest_decision__as_of", "-latest_decision_id")
        .values_list("cb_id", flat=True)
    )


def gateway_pauses_for_status() -> dict:
    """Open pauses and the most recent ended ones, for the system status page."""
    return {
        "open": list(GatewayPause.objects.filter(ended_at__isnull=True).order_by("-started_at")),
        "recent": list(
            GatewayPause.objects.filter(ended_at__isnull=False).order_by("-ended_at")[:RECENT_LIMIT]
        ),
    }


def gateway_paused(*, gateway: str, at: datetime | None = None) -> bool:
    """For the executor: must a retry on ``gateway`` wait right now?"""
    return gateway_pause_covering(gateway=gateway, at=at or timezone.now()) is not None
