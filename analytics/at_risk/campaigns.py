"""Pre-emptive card-update campaigns: chosen customers, a hold-out, one request each.

A manager launches a campaign over customers at risk (a pick, or everyone at or above a
score renewing within N days). Each member is held out or treated by sha256(salt, customer):
the same customer in the same campaign always lands in the same group, and about
``holdout_share`` of them receive nothing. Each treated member gets one Decision (trigger
"pre_dunning") and one "payment-method link" Action that goes the way of every action Dunwell
proposes: the segment's automation mode (shadow: logged only; approve: waits in the approval
inbox; auto: runs unless high-risk), the executor's checks, the hosted-page link, quiet
hours and the weekly contact limit in delivery. The action hangs on the subscription's
latest invoice (the next renewal has none yet); the message asks for nothing owed.

Idempotent: a customer whose renewal is already covered by a campaign is not chosen again,
and a member's action is created once (``campaign_actions_create`` may run any number of
times); delivery sends at most one message per action.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from analytics.at_risk.factors import customer_reason, reasons_in_words
from analytics.at_risk.listing import AtRiskFilters, at_risk_subscriptions
from analytics.at_risk.risk_model import renewal_scorer
from analytics.models import CampaignMember, PreDunningCampaign
from dunning.actions.state_machine import action_transition
from dunning.decisions.latest import decision_create
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.policy_settings.segments import (
    ENTERPRISE_FROM,
    GROWTH_FROM,
    SEGMENTS,
    segment_name,
)
from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationError
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    Channel,
    CrmAccount,
    Decision,
    Invoice,
)

LAUNCH_PERMISSION = "analytics.launch_campaign"
TEMPLATE = "pre_dunning_card_update"
HOLDOUT_SHARE = 0.2
MAX_MEMBERS = 2000


class CampaignRefused(ApplicationError, ValueError):
    """The campaign cannot be launched as asked (the reason is shown to the person)."""


def holdout_of(*, salt: str, customer_id: str, share: float = HOLDOUT_SHARE) -> bool:
    """Whether the customer is held out: the first 8 bytes of sha256 as a fraction < share."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _covered_subscriptions(now: datetime):
    """Subscriptions whose coming renewal a campaign already covers."""
    return CampaignMember.objects.filter(renewal_at__gt=now).values("subscription_cb_id")


def campaign_launch(
    *,
    user,
    name: str,
    within_days: int,
    min_score: float | None = None,
    customer_ids: list[str] | None = None,
    channel: str = Channel.EMAIL,
    holdout_share: float = HOLDOUT_SHARE,
    now: datetime | None = None,
) -> PreDunningCampaign:
    """Choose the members, split them, and propose a card-update request for the treated."""
    if not user.has_perm(LAUNCH_PERMISSION):
        raise PermissionDenied("only managers and admins launch campaigns")
    name = name.strip()
    if not name:
        raise CampaignRefused("give the campaign a name")
    if channel not in Channel.values:
        raise CampaignRefused(f"the channel must be one of {', '.join(Channel.values)}")
    if customer_ids is None and min_score is None:
        raise CampaignRefused("pick customers, or give a minimum score for all of them")
    if customer_ids is not None and not customer_ids:
        raise CampaignRefused("no customer was picked")
    now = now or timezone.now()
    scorer = renewal_scorer()
    rows = at_risk_subscriptions(
        filters=AtRiskFilters(within_days=within_days, min_score=min_score),
        scorer=scorer,
        now=now,
    ).exclude(cb_id__in=_covered_subscriptions(now))
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    chosen = list(rows[:MAX_MEMBERS])
    if not chosen:
        raise CampaignRefused(
            "nobody to ask: no chosen customer renews in the window, or each one's renewal "
            "is already covered by a campaign"
        )
    salt = secrets.token_hex(8)
    with transaction.atomic():
        campaign = PreDunningCampaign.objects.create(
            name=name[:120],
            salt=salt,
            holdout_share=holdout_share,
            channel=channel,
            renewing_within_days=within_days,
            min_score=min_score,
            score_source=scorer.source,
            created_by=user,
        )
        CampaignMember.objects.bulk_create(
            CampaignMember(
                campaign=campaign,
                customer_cb_id=row.customer_id,
                subscription_cb_id=row.cb_id,
                renewal_at=row.next_billing_at,
                score=round(float(row.score), 4),
                reasons=reasons_in_words(row),
                customer_reason=customer_reason(row),
                group=CampaignMember.Group.HOLDOUT
                if holdout_of(salt=salt, customer_id=row.customer_id, share=holdout_share)
                else CampaignMember.Group.TREATED,
            )
            for row in chosen
        )
        counts = dict(
            campaign.members.order_by()
            .values("group")
            .annotate(n=Count("id"))
            .values_list("group", "n")
        )
        audit_record(
            action="campaign.launched",
            actor=user,
            target=campaign,
            data={
                "name": campaign.name,
                "within_days": within_days,
                "min_score": min_score,
                "picked": len(customer_ids) if customer_ids is not None else None,
                "members": len(chosen),
                "groups": counts,
                "score_source": scorer.source,
                "holdout_share": holdout_share,
                "channel": channel,
            },
        )
        campaign_actions_create(campaign=campaign, now=now)
    return campaign


def _segment(customer_id: str) -> str:
    """As the decisions engine segments: the CRM's tier, else the lifetime value paid."""
    tier = (
        CrmAccount.objects.filter(customer_cb_id=customer_id).values_list("tier", flat=True).first()
    )
    if tier in SEGMENTS:
        return tier
    paid = (
        Invoice.objects.filter(customer_id=customer_id, status="paid").aggregate(
            v=Sum("amount_paid")
        )["v"]
        or 0
    )
    if paid >= ENTERPRISE_FROM:
        return "enterprise"
    return "growth" if paid >= GROWTH_FROM else "self_serve"


def _approval(*, mode: str, segment: str, lifetime_value: int, review_ltv: int):
    """(needs_approval, risk, reason) as the policy sets them for a payment-method link."""
    high = (
        "customer lifetime value is at or above the review level"
        if (lifetime_value >= review_ltv)
        else ""
    )
    risk = Action.Risk.HIGH if high else Action.Risk.LOW
    if mode == AutomationMode.SHADOW:
        return False, risk, f"segment {segment_name(segment)} is in shadow mode: logged, never run"
    if mode == AutomationMode.APPROVE:
        return True, risk, high or f"segment {segment_name(segment)} is in approve mode"
    return (True, risk, high) if high else (False, risk, "")


def campaign_actions_create(*, campaign: PreDunningCampaign, now: datetime | None = None) -> int:
    """Propose the request for each treated member that has none yet; returns how many."""
    now = now or timezone.now()
    guardrails = guardrails_active()
    made = 0
    with transaction.atomic():
        pending = (
            CampaignMember.objects.select_for_update()
            .filter(
                campaign=campaign,
                group=CampaignMember.Group.TREATED,
                action__isnull=True,
                skipped="",
            )
            .order_by("id")
        )
        for member in pending:
            invoice = (
                Invoice.objects.filter(subscription_id=member.subscription_cb_id, deleted=False)
                .order_by("-date", "-id")
                .first()
            )
            if invoice is None:
                member.skipped = "the subscription has no invoice yet to attach the request to"
                member.save(update_fields=["skipped"])
                continue
            member.action = _propose(
                campaign=campaign, member=member, invoice=invoice, guardrails=guardrails, now=now
            )
            member.save(update_fields=["action"])
            made += 1
    return made


def _propose(*, campaign, member, invoice: Invoice, guardrails, now: datetime) -> Action:
    segment = _segment(member.customer_cb_id)
    mode = guardrails.mode_for(segment)
    lifetime_value = (
        Invoice.objects.filter(customer_id=member.customer_cb_id, status="paid").aggregate(
            v=Sum("amount_paid")
        )["v"]
        or 0
    )
    needs_approval, risk, why = _approval(
        mode=mode,
        segment=segment,
        lifetime_value=lifetime_value,
        review_ltv=guardrails.review_ltv,
    )
    reasons = member.reasons
    told = member.customer_reason or "the card on file may be out of date"
    reasoning = (
        f"The renewal on {member.renewal_at:%d %b %Y} is at risk ({member.score:.0%}): "
        f"{'; '.join(reasons)}. Campaign \u201c{campaign.name}\u201d asks for a card update "
        "before it."
    )
    features = {
        "campaign": campaign.pk,
        "score": member.score,
        "score_source": campaign.score_source,
        "renewal_at": member.renewal_at.isoformat(),
        "subscription": member.subscription_cb_id,
        "reasons": reasons,
        "lifetime_value": lifetime_value,
    }
    decision = decision_create(
        invoice=invoice,
        customer_id=member.customer_cb_id,
        trigger=Decision.Trigger.PRE_DUNNING,
        as_of=now,
        model_version=campaign.score_source,
        segment=segment,
        mode=mode,
        guardrail_version=guardrails.version,
        features=features,
        reasoning=reasoning,
        explanation={
            "campaign": campaign.pk,
            "group": member.group,
            "anchor_invoice": invoice.cb_id,
        },
    )
    audit_record(
        action="decision.made",
        actor_label=campaign.score_source,
        target=decision,
        data={
            "invoice": invoice.cb_id,
            "trigger": decision.trigger,
            "as_of": now,
            "model_version": campaign.score_source,
            "segment": segment,
            "mode": mode,
            "reasoning": reasoning,
            "inputs": features,
        },
    )
    action = Action.objects.create(
        decision=decision,
        invoice=invoice,
        customer_id=member.customer_cb_id,
        kind=ActionKind.PAYMENT_METHOD_LINK,
        channel=campaign.channel,
        scheduled_for=now,
        params={"template": TEMPLATE, "campaign": campaign.pk, "risk_reason": told},
        reasoning=reasoning,
        mode=mode,
        risk=risk,
        needs_approval=needs_approval,
        approval_reason=why[:300],
    )
    audit_record(
        action="action.proposed",
        actor_label=campaign.score_source,
        target=action,
        data={
            "decision": decision.pk,
            "kind": action.kind,
            "invoice": invoice.cb_id,
            "scheduled_for": now,
            "channel": action.channel,
            "campaign": campaign.pk,
            "needs_approval": needs_approval,
            "risk": risk,
            "approval_reason": why,
        },
    )
    if mode != AutomationMode.SHADOW and not needs_approval:
        action_transition(
            action=action,
            to=ActionState.SCHEDULED,
            actor_label=f"dunwell ({mode} mode)",
            data={"why": "low risk in auto mode", "campaign": campaign.pk},
        )
    return action
