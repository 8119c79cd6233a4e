"""Shadow is auto, logged: which of Dunwell's own actions a decision counts as done.

A decision counts what Dunwell already did about an invoice (retries against the retry
cap, the last attempt for the spacing, a take-over, contacts against the weekly limit).
Both modes count the same way, so a shadow decision is the decision auto would make:

- **auto / approve**: an action counts once it ran, or is committed and its time has come
  (approved or scheduled, due by the decision time: the executor is about to run it). A
  committed action whose time has not come does not: the decision being made supersedes
  it (``actions_cancel_pending``) and plans again.
- **shadow**: nothing runs, so a proposal counts as if executed when auto would have run
  it by the decision time: its time has come and no later decision about the invoice came
  before it (auto would have cancelled it then). A take-over and an offline reminder step
  are never superseded, nor is what a person asked for, as in auto.

A shadow retry that would have run counts as a declined attempt on the card: its time
becomes the invoice's last attempt (spacing) and joins the card's attempts (network
ceilings). Nothing is invented about its outcome: the invoice is still open when decided
about, so as far as anyone knows the attempt would have failed like the one before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from dunning.helpers.compiled_queries import CompiledQuery
from dunning.models import Action, ActionKind, ActionState, AutomationMode, Decision

CARD_ATTEMPT_WINDOW = timedelta(days=30)
NEVER_SUPERSEDED = (ActionKind.TAKE_OVER,)


def superseded_before_due() -> Exists:
    """A later decision about the same invoice was made before the action's time came."""
    later = Decision.objects.filter(
        invoice_id=OuterRef("invoice_id"),
        as_of__gt=OuterRef("decision__as_of"),
        as_of__lt=OuterRef("scheduled_for"),
    )
    return Exists(later)


def shadow_would_have_run(*, at: datetime) -> Q:
    """Shadow proposals auto would have executed by ``at``."""
    return Q(mode=AutomationMode.SHADOW, state=ActionState.PROPOSED, scheduled_for__lte=at) & (
        Q(kind__in=NEVER_SUPERSEDED)
        | Q(params__has_key="offline_step")
        | Q(decision__trigger=Decision.Trigger.MANUAL)
        | Q(superseded=False)
    )


def auto_has_run(*, at: datetime) -> Q:
    """Actions of the other modes that ran, or are committed and due by ``at``."""
    due = Q(scheduled_for__lte=at) | Q(scheduled_for__isnull=True) | Q(claimed_at__isnull=False)
    return ~Q(mode=AutomationMode.SHADOW) & (
        Q(state=ActionState.EXECUTED)
        | (Q(state__in=(ActionState.APPROVED, ActionState.SCHEDULED)) & due)
    )


def actions_done_by(*, at: datetime) -> QuerySet:
    """Every action a decision at ``at`` counts as done (either mode; see the module)."""
    return Action.objects.annotate(superseded=superseded_before_due()).filter(
        auto_has_run(at=at) | shadow_would_have_run(at=at)
    )


def shadow_retries_would_run() -> QuerySet:
    """Shadow retries auto would have run once their time came (none superseded before)."""
    return Action.objects.annotate(superseded=superseded_before_due()).filter(
        mode=AutomationMode.SHADOW,
        kind=ActionKind.RETRY,
        state=ActionState.PROPOSED,
        superseded=False,
    )


def _shadow_retries_statement(*, invoice_id: str, at: datetime) -> QuerySet:
    return (
        actions_done_by(at=at)
        .filter(invoice_id=invoice_id, kind=ActionKind.RETRY, mode=AutomationMode.SHADOW)
        .order_by("scheduled_for")
        .values("scheduled_for")
    )


# Asked by every decision; its superseding subquery costs more to compile than to run.
_SHADOW_RETRIES = CompiledQuery(_shadow_retries_statement)


def shadow_retries_run(*, invoice_id: str, at: datetime) -> list[datetime]:
    """When the invoice's shadow retries would have run, by ``at`` (oldest first)."""
    return [row["scheduled_for"] for row in _SHADOW_RETRIES.rows(invoice_id=invoice_id, at=at)]


def attempts_with_shadow(
    *, last_failed_at: datetime, card_attempts: tuple[datetime, ...], shadow_retries: list
) -> tuple[datetime, tuple[datetime, ...]]:
    """The last attempt and the card's attempts before it, shadow retries counted as made."""
    moments = sorted({*card_attempts, last_failed_at, *shadow_retries})
    last = moments[-1]
    return last, tuple(t for t in moments[:-1] if t >= last - CARD_ATTEMPT_WINDOW)
