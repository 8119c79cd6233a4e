"""Who must approve a proposed action: always (it changes a subscription or money), never
(it only records or routes), or as the segment's mode and the review thresholds say."""

from __future__ import annotations

from dataclasses import replace

from dunning.decisions.context import DecisionContext
from dunning.decisions.plan import GuardrailSnapshot, ProposedAction
from dunning.decisions.policy_settings.segments import segment_name
from dunning.helpers.money import amount_text
from dunning.models.decisions import ALWAYS_NEEDS_APPROVAL, ActionKind, AutomationMode

# Actions that only record or route: nothing reaches the customer or Chargebee's money.
NO_APPROVAL_KINDS = frozenset(
    {ActionKind.ESCALATE, ActionKind.KEEP_CHARGEBEE_SCHEDULE, ActionKind.GATEWAY_PAUSE}
)


def _high_risk_reason(
    *, context: DecisionContext, guardrails: GuardrailSnapshot, recovery: float | None
) -> str:
    ctx, g = context, guardrails
    if ctx.amount_due >= g.review_amount:
        amount = f"{amount_text(ctx.amount_due, ctx.currency)} {ctx.currency}"
        return f"invoice amount {amount} is at or above the review amount"
    if ctx.lifetime_value >= g.review_ltv:
        return "customer lifetime value is at or above the review level"
    if recovery is not None and recovery < g.review_threshold:
        return f"recovery score {recovery:.0%} is under the review threshold"
    return ""


def action_with_approval(
    action: ProposedAction,
    *,
    context: DecisionContext,
    guardrails: GuardrailSnapshot,
    recovery: float | None,
    mode: str,
    segment: str,
) -> ProposedAction:
    """``action`` with who must approve it, and why, under ``mode`` and the guardrails."""
    if action.kind in ALWAYS_NEEDS_APPROVAL:
        return replace(
            action,
            needs_approval=True,
            risk="high",
            approval_reason="always needs an approved person: it changes a subscription or money",
        )
    if action.kind in NO_APPROVAL_KINDS:
        return replace(action, needs_approval=False, risk="low", approval_reason="")
    if action.params.get("offline_step") == "final":
        # It announces what happens if the invoice stays unpaid: a person signs it off.
        return replace(
            action,
            needs_approval=True,
            risk="high",
            approval_reason=(
                f"segment {segment_name(segment)} is in shadow mode: logged, never run"
                if mode == AutomationMode.SHADOW
                else "a final notice announces the end of dunning: a manager approves it"
            ),
        )
    high = _high_risk_reason(context=context, guardrails=guardrails, recovery=recovery)
    risk = "high" if high else "low"
    if mode == AutomationMode.SHADOW:
        return replace(
            action,
            needs_approval=False,
            risk=risk,
            approval_reason=f"segment {segment_name(segment)} is in shadow mode: logged, never run",
        )
    if mode == AutomationMode.APPROVE:
        return replace(
            action,
            needs_approval=True,
            risk=risk,
            approval_reason=high or f"segment {segment_name(segment)} is in approve mode",
        )
    if high:
        return replace(action, needs_approval=True, risk=risk, approval_reason=high)
    return replace(action, needs_approval=False, risk=risk, approval_reason="")
