"""Did asking help? Failed first charges at renewal, treated against the hold-out.

Every member is counted in the group the hash put them in, whether or not their request was
sent (intention to treat: a request held in shadow mode or refused by the contact limit is
part of what a campaign does). A member's renewal is the subscription's first recurring invoice
dated after the launch (the next billing date at launch is shown, but a simulated or
rescheduled business may bill earlier or later); it failed if that invoice has a row in the
failure summary. Card updates: a ``payment_source_updated``/``payment_source_added`` (or card)
event for the customer between the launch and the renewal.

The difference of the two failure rates carries a 95% interval by the normal approximation
(Wald), which is rough for small groups: the page says how many renewals it rests on.
"failed charges avoided" = (hold-out rate - treated rate) x treated renewals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.fields.json import KT

from analytics.models import CampaignMember, PreDunningCampaign
from dunning.models import ActionState, ChargebeeEvent, Invoice, InvoiceFailure

CARD_EVENTS = ("payment_source_updated", "payment_source_added", "card_updated", "card_added")
Z95 = 1.96


@dataclass(frozen=True)
class GroupFigures:
    members: int
    renewed: int
    failed: int
    card_updates: int
    requests_sent: int

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.renewed if self.renewed else None


@dataclass(frozen=True)
class CampaignResults:
    treated: GroupFigures
    holdout: GroupFigures
    waiting: int  # members whose renewal has not happened yet
    difference: float | None  # hold-out rate - treated rate
    low: float | None
    high: float | None

    @property
    def avoided(self) -> float | None:
        return None if self.difference is None else self.difference * self.treated.renewed

    @property
    def avoided_low(self) -> float | None:
        return None if self.low is None else self.low * self.treated.renewed

    @property
    def avoided_high(self) -> float | None:
        return None if self.high is None else self.high * self.treated.renewed


def _annotated(campaign: PreDunningCampaign):
    renewal_invoice = (
        Invoice.objects.filter(
            subscription_id=OuterRef("subscription_cb_id"),
            recurring=True,
            date__gte=campaign.created_at,
        )
        .order_by("date", "id")
        .values("cb_id")[:1]
    )
    card_events = (
        ChargebeeEvent.objects.filter(
            event_type__in=CARD_EVENTS,
            occurred_at__gte=campaign.created_at,
            occurred_at__lte=OuterRef("renewal_at"),
        )
        .annotate(customer_id=KT("payload__content__customer__id"))
        .filter(customer_id=OuterRef("customer_cb_id"))
    )
    return (
        CampaignMember.objects.filter(campaign=campaign)
        .annotate(renewal_invoice=Subquery(renewal_invoice))
        .annotate(
            failed=Exists(InvoiceFailure.objects.filter(invoice_cb_id=OuterRef("renewal_invoice"))),
            card_updated=Exists(card_events),
        )
    )


def wald_interval(*, failed_t: int, n_t: int, failed_h: int, n_h: int):
    """(difference, low, high) of hold-out rate - treated rate; Nones without both groups."""
    if not (n_t and n_h):
        return None, None, None
    p_t, p_h = failed_t / n_t, failed_h / n_h
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_h * (1 - p_h) / n_h)
    diff = p_h - p_t
    return diff, diff - Z95 * se, diff + Z95 * se


def campaign_results(*, campaign: PreDunningCampaign) -> CampaignResults:
    """The campaign's figures so far: one aggregate query per group."""
    renewed = Q(renewal_invoice__isnull=False)
    rows = (
        _annotated(campaign)
        .order_by()
        .values("group")
        .annotate(
            members=Count("id"),
            renewed=Count("id", filter=renewed),
            failed=Count("id", filter=renewed & Q(failed=True)),
            card_updates=Count("id", filter=Q(card_updated=True)),
            requests_sent=Count("id", filter=Q(action__state=ActionState.EXECUTED)),
            waiting=Count("id", filter=~renewed),
        )
    )
    by_group = {row.pop("group"): row for row in rows}
    empty = {
        "members": 0,
        "renewed": 0,
        "failed": 0,
        "card_updates": 0,
        "requests_sent": 0,
        "waiting": 0,
    }
    t = dict(by_group.get(CampaignMember.Group.TREATED, empty))
    h = dict(by_group.get(CampaignMember.Group.HOLDOUT, empty))
    waiting = t.pop("waiting") + h.pop("waiting")
    treated, holdout = GroupFigures(**t), GroupFigures(**h)
    diff, low, high = wald_interval(
        failed_t=treated.failed, n_t=treated.renewed, failed_h=holdout.failed, n_h=holdout.renewed
    )
    return CampaignResults(treated, holdout, waiting, diff, low, high)
