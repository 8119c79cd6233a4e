"""The decision policy: from one context to scores, proposed actions and one sentence.

Pure: it reads a ``DecisionContext``, the guardrails and the scorers, and touches nothing
else, so a replay of history, the policy evaluation and the benchmark run exactly what
production runs. Order: the invoice's state, network rules, gateway health, the models
and slot search, then the guardrails decide who must approve what
(``approval_rules``). What it returns is in ``plan``.

Longer than 400 lines on purpose: it is one procedure whose steps read and extend one draft
(``_Draft``), in the order above; split, each step would need the whole draft anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dunning.decisions.approval_rules import action_with_approval
from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.retry_prior import PRIOR_VERSION_LABEL, PriorRetryScorer
from dunning.decisions.plan import GuardrailSnapshot, Plan, ProposedAction, Scorers
from dunning.decisions.policy_settings.offline_reminders import (
    STEP_LABELS,
    final_notice_next_step,
    offline_steps_plan,
)
from dunning.decisions.policy_settings.segments import segment_of
from dunning.decisions.policy_settings.sequence import OFFERS, SequenceParams
from dunning.decisions.rules.network_rules import Decline, RuleResult, Verdict, network_rules
from dunning.decisions.timing.exploration import RetryChoice, retry_choose
from dunning.decisions.timing.retry_timing import (
    RetryScorer,
    Slot,
    chargebee_default_next,
    planned_slot,
)
from dunning.enrichment.card_updater.answers import finding_described
from dunning.enrichment.signals.describe import signals_described
from dunning.models.decisions import ActionKind, AutomationMode

GATEWAY_RECHECK = timedelta(hours=2)
MIN_RETRY_GAP = timedelta(hours=1)
# Between two declines of one invoice: a day, unless the issuer or gateway was only briefly
# unavailable. Without it the next-best slot is often an hour after a fresh decline.
RETRY_SPACING = timedelta(days=1)
LINK_REMINDER = timedelta(days=3)
TEMPORARY_DECLINES = frozenset({"91", "96", "processing_error", "gateway_error"})


def _decider_words(label: str) -> str:
    if label == PRIOR_VERSION_LABEL:
        return "what is known about when cards recover; no site model is active yet"
    return f"decided by {label}"


def local_label(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime("%a %d %b %H:%M")


CONTACT_KINDS = frozenset(
    {ActionKind.MESSAGE, ActionKind.PAYMENT_METHOD_LINK, ActionKind.AUTHENTICATION_LINK}
)


def plan_decide(
    *,
    context: DecisionContext,
    guardrails: GuardrailSnapshot,
    scorers: Scorers,
    sequence: SequenceParams | None = None,
) -> Plan:
    """``sequence``: the dunning sequence for this invoice (the settings document, or the
    experiment variant it was assigned to); channel, tone, timing and offer come from it."""
    sequence = sequence or SequenceParams()
    segment = segment_of(context)
    mode = guardrails.mode_for(segment)
    if context.card_updater is not None and context.card_updater.updated:
        # The updater put a newer card on file: decide as for any new card (clean rules,
        # a retry soon), without asking the customer for one.
        context = replace(context, card_changed_since_failure=True)
    recovery = None
    if scorers.recovery is not None and context.recovery_features:
        recovery = float(scorers.recovery(context.recovery_features))
    draft = _Draft(
        context=context,
        guardrails=guardrails,
        recovery=recovery,
        sequence=sequence,
        exploration_share=guardrails.exploration_for(mode),
    )
    draft.choose(scorers.retry)
    actions = [
        action_with_approval(
            a,
            context=draft.context,
            guardrails=draft.guardrails,
            recovery=draft.recovery,
            mode=mode,
            segment=segment,
        )
        for a in draft.actions
    ]
    return Plan(
        segment=segment,
        mode=mode,
        recovery_score=recovery,
        retry_score=draft.retry_score,
        model_version=scorers.version_label,
        rules_fired=draft.fired,
        reasoning=draft.sentence,
        actions=actions,
        explanation={
            **draft.notes,
            "recovery_score": recovery,
            "segment": segment,
            "mode": mode,
            "guardrail_version": guardrails.version,
            "signals": signals_described(context.signals),
            "sequence": sequence.as_dict(),
        },
    )


@dataclass
class _Draft:
    context: DecisionContext
    guardrails: GuardrailSnapshot
    recovery: float | None
    sequence: SequenceParams = field(default_factory=SequenceParams)
    fired: list[str] = field(default_factory=list)
    actions: list[ProposedAction] = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    sentence: str = ""
    retry_score: float | None = None
    contacts: int = 0
    exploration_share: float = 0.0

    # --- the steps --------------------------------------------------------------------
    def choose(self, retry_scorer: RetryScorer | None) -> None:
        ctx = self.context
        if not ctx.invoice_open:
            self.sentence = "Nothing to do: the invoice is no longer due."
            return
        if ctx.hold_until is not None and ctx.hold_until > ctx.at:
            until = local_label(ctx.hold_until, ctx.time_zone)
            self.sentence = (
                f"Held until {until} customer time: {ctx.hold_reason}. "
                "No retry and no message until then."
            )
            self.notes["hold"] = {"until": ctx.hold_until.isoformat(), "reason": ctx.hold_reason}
            return
        if not ctx.auto_collection:
            self._offline_reminder()
        elif ctx.decline is None:
            self._keep_chargebee("no declined payment is known yet")
        else:
            self._after_decline(retry_scorer)
        self._offer()
        self._route_to_humans()

    def _after_decline(self, retry_scorer: RetryScorer | None) -> None:
        ctx = self.context
        rules = self._rules()
        self.fired.extend(rules.fired)
        if rules.sources:  # the citations stay out of the sentence, beside it for the curious
            self.notes["rule_sources"] = dict(zip(rules.fired, rules.sources, strict=False))
        updater = f"; {finding_described(ctx.card_updater)}" if ctx.card_updater else ""
        if ctx.card_updater is not None:
            self.notes["card_updater"] = {
                **ctx.card_updater.as_dict(),
                "said": finding_described(ctx.card_updater),
            }
        if rules.verdict is Verdict.NEVER:
            self._ask_for_payment_method(
                ActionKind.PAYMENT_METHOD_LINK, f"No retry: {rules.fired[0]}{updater}"
            )
            return
        if rules.verdict is Verdict.AUTHENTICATE:
            self._ask_for_payment_method(
                ActionKind.AUTHENTICATION_LINK,
                "No off-session retry: the bank wants the customer to authenticate",
            )
            return
        if rules.verdict is Verdict.UPDATE_PAYMENT_METHOD:
            self._ask_for_payment_method(
                ActionKind.PAYMENT_METHOD_LINK,
                f"No retry until the card details are updated{updater}",
            )
            return
        temporary = {ctx.decline.decline_code, ctx.decline.error_category} & TEMPORARY_DECLINES
        spacing = MIN_RETRY_GAP if temporary else RETRY_SPACING
        earliest = max(
            rules.earliest or ctx.at,
            ctx.at + MIN_RETRY_GAP,
            (ctx.last_failed_at or ctx.at) + spacing,
        )
        if ctx.card_changed_since_failure:
            earliest = max(rules.earliest or ctx.at, ctx.at + timedelta(minutes=5))
        if ctx.gateway_down:
            self.fired.append(ctx.gateway_reason)
            earliest = max(earliest, ctx.at + GATEWAY_RECHECK)
            self._add(
                ActionKind.GATEWAY_PAUSE,
                ctx.at,
                f"Retries held: {ctx.gateway_reason}",
                params={"gateway": ctx.gateway, "until_at_least": earliest.isoformat()},
            )
        new_card = ctx.card_changed_since_failure
        if not ctx.chargebee_dunning_active and not ctx.subscription_active:
            # Charging for a subscription already cancelled is a person's call, not a retry's.
            self._end_of_dunning("Chargebee's dunning has ended and the subscription is cancelled")
            return
        if ctx.dunwell_retries >= self.guardrails.max_retries and not new_card:
            self._stop_retrying(
                f"all {self.guardrails.max_retries} retries allowed are used", end=True
            )
            return
        scorer = retry_scorer or PriorRetryScorer()
        self.notes["retry_scorer"] = scorer.version_label
        window_end = (ctx.first_failed_at or ctx.at) + timedelta(
            days=self.guardrails.dunning_window_days
        )
        plan, choice = None, None
        if new_card:
            # A new card is charged straight away: its chance hardly depends on the hour.
            [chance] = scorer.slot_probabilities(context=ctx, slots=[earliest])
            slot = Slot(earliest, float(chance), "")
            top = [slot]
        elif self.sequence.timing == "fixed_delay":
            slot, top = self._fixed_slot(earliest, window_end, scorer)
        else:
            budget = max(self.guardrails.max_retries - ctx.dunwell_retries, 1)
            search = planned_slot(
                context=ctx,
                earliest=earliest,
                window_end=window_end,
                scorer=scorer,
                budget=budget,
                spacing=spacing,
                floor=self.guardrails.confidence_floor,
            )
            slot, top, plan = search.slot, search.top, search.plan
            if slot is not None and slot.probability >= self.guardrails.confidence_floor:
                choice = self._explore(slot, search.options)
                # The search itself, so an off-policy estimate can ask another model the
                # same question (off_policy.py).
                self.notes["exploration"]["search"] = {
                    "earliest": earliest.isoformat(),
                    "window_end": window_end.isoformat(),
                    "budget": budget,
                    "spacing_hours": spacing.total_seconds() / 3600,
                    "floor": self.guardrails.confidence_floor,
                }
        self.notes["slots_considered"] = [
            {"at": s.at.isoformat(), "probability": round(s.probability, 4), "because": s.because}
            for s in top
        ]
        if slot is None and not top:
            self._end_of_dunning(f"the {self.guardrails.dunning_window_days}-day window is over")
            return
        if slot is None or slot.probability < self.guardrails.confidence_floor:
            best = max((s.probability for s in top), default=0.0)
            self._stop_retrying(
                f"no retry left in the window has the {self.guardrails.confidence_floor:.0%} "
                f"chance a retry needs (best {best:.0%})"
            )
            return
        best = slot
        if choice is not None and choice.explored:
            slot = Slot(
                choice.at, choice.probability, scorer.slot_reason(context=ctx, slot=choice.at)
            )
        self.retry_score = slot.probability
        when = local_label(slot.at, ctx.time_zone)
        because = f"{slot.because} and " if slot.because else ""
        decided_by = _decider_words(scorer.version_label)
        self.sentence = (
            f"Retry {when} customer time: {because}{slot.probability:.0%} predicted success "
            f"({decided_by})."
        )
        if choice is not None and choice.explored:
            self.sentence = (
                f"Retry {when} customer time, a slot explored at random among {choice.allowed} "
                f"allowed ones so Dunwell learns from its own retries (its best guess was "
                f"{local_label(best.at, ctx.time_zone)}, {best.probability:.0%}): "
                f"{slot.probability:.0%} predicted success ({decided_by})."
            )
        elif plan is not None and plan.retries > 1:
            self.notes["plan"] = {
                "retries": plan.retries,
                "expected_recovery": round(plan.value, 4),
            }
            self.sentence = (
                f"{self.sentence[:-1]}; with up to {plan.retries} retries, "
                f"{plan.value:.0%} expected recovery."
            )
        if new_card:
            self.sentence = f"{self.sentence[:-1]}, on the new card{updater}."
        if new_card and not ctx.dunwell_in_charge:
            # One charge on the new card; Chargebee's own schedule stays for what follows.
            self.sentence = f"{self.sentence[:-1]}; Chargebee's schedule stays for what follows."
        elif not ctx.dunwell_in_charge:
            self._add(
                ActionKind.TAKE_OVER,
                ctx.at,
                "Pause Chargebee's dunning for this invoice: Dunwell times the retries",
            )
        self._add(
            ActionKind.RETRY,
            slot.at,
            self.sentence,
            params={"probability": round(slot.probability, 4), "amount": ctx.amount_due},
            propensity=choice.propensity if choice is not None else 1.0,
            explored=choice is not None and choice.explored,
        )
        if not ctx.card_changed_since_failure and self._may_contact():
            # After every decline, as Chargebee's dunning emails do, within the contact limit;
            # the email carries a link to update the card (pointless once it has changed).
            self._add(
                ActionKind.MESSAGE,
                ctx.at,
                f"Tell the customer the payment failed and that we will try again {when}",
                channel=self.sequence.channel,
                params={
                    "template": "payment_failed_retry_scheduled",
                    "retry_at": slot.at.isoformat(),
                    "payment_method_link": True,
                },
            )

    def _explore(self, best: Slot, options: list[tuple[datetime, float]]) -> RetryChoice:
        """The best slot, or (a share of auto's retries) a random allowed one."""
        ctx = self.context
        choice = retry_choose(
            greedy=(best.at, best.probability),
            options=options,
            share=self.exploration_share,
            invoice_id=ctx.invoice_id,
            attempt=ctx.dunwell_retries + 1,
            floor=self.guardrails.confidence_floor,
            time_zone=ctx.time_zone,
            quiet=ctx.quiet_hours,
        )
        self.notes["exploration"] = {
            "share": self.exploration_share,
            "explored": choice.explored,
            "propensity": round(choice.propensity, 6),
            "allowed_slots": choice.allowed,
            "best_allowed": choice.best_allowed,
            "best_at": best.at.isoformat(),
        }
        return choice

    def _fixed_slot(
        self, earliest: datetime, window_end: datetime, scorer: RetryScorer
    ) -> tuple[Slot | None, list[Slot]]:
        """The sequence's fixed delay after the decline, never before the rules allow."""
        hours = self.sequence.delay_hours
        at = max(
            earliest, (self.context.last_failed_at or self.context.at) + timedelta(hours=hours)
        )
        if at > window_end:
            return None, []
        [probability] = scorer.slot_probabilities(context=self.context, slots=[at])
        slot = Slot(at, float(probability), f"a fixed {hours} h after the decline (sequence)")
        return slot, [slot]

    def _offer(self) -> None:
        """The sequence's offer, beside a customer contact; a person always approves it."""
        name = self.sequence.offer
        if name == "none" or not any(a.kind in CONTACT_KINDS for a in self.actions):
            return
        self._add(
            ActionKind.OFFER,
            self.context.at,
            f"Proposed offer: {OFFERS.get(name, name).lower()} (needs approval)",
            params={"offer": name},
        )

    def _rules(self) -> RuleResult:
        ctx = self.context
        decline = ctx.decline
        if ctx.card_changed_since_failure:
            # The decline was about the old card; the new one starts clean (ceilings still count).
            decline = Decline(brand=decline.brand)
        return network_rules(
            decline=decline,
            failed_at=ctx.last_failed_at or ctx.at,
            attempts=list(ctx.card_attempts),
        )

    def _ask_for_payment_method(self, kind: str, why: str) -> None:
        if self._may_contact():
            self.sentence = f"{why}; sending the customer a link to fix it."
            self._add(kind, self.context.at, self.sentence, channel=self.sequence.channel)
            if self._may_contact():
                self._add(
                    kind,
                    self.context.at + LINK_REMINDER,
                    "Reminder with the same link, unless the card has changed by then",
                    channel=self.sequence.channel,
                    params={"reminder": True},
                )
        else:
            self.sentence = f"{why}; the weekly contact limit is reached, so a person follows up."
            self.notes["contact_limit_reached"] = True
            self._escalate("weekly contact limit reached and the card must change")

    def _stop_retrying(self, why: str, *, end: bool = False) -> None:
        """The retry budget or the chances are spent: ask for another card, and with the
        budget spent a person decides what happens next (end-of-dunning proposals)."""
        asked = self._may_contact()
        if asked:
            self._add(
                ActionKind.PAYMENT_METHOD_LINK,
                self.context.at,
                f"Stop retrying: {why}; asking the customer for another payment method.",
                channel=self.sequence.channel,
            )
        if end:
            self._end_of_dunning(why)
        elif not asked:
            self.notes["contact_limit_reached"] = True
            self._escalate(f"retries stopped ({why}) and the contact limit is reached")
        link = (
            "asking the customer for another payment method"
            if asked
            else ("the contact limit is reached")
        )
        then = "; a person decides what happens next" if end or not asked else ""
        self.sentence = f"Stop retrying: {why}; {link}{then}."

    def _keep_chargebee(self, why: str) -> None:
        if not self.context.chargebee_dunning_active:
            self._end_of_dunning(f"Chargebee's dunning has ended and {why}")
            return
        following = chargebee_default_next(context=self.context)
        next_try = (
            f"next try {local_label(following, self.context.time_zone)}"
            if following
            else "its schedule is done"
        )
        self.sentence = f"Chargebee's own schedule kept ({next_try}): {why}."
        self._add(ActionKind.KEEP_CHARGEBEE_SCHEDULE, self.context.at, self.sentence)

    def _offline_reminder(self) -> None:
        """Offline payers get the reminder sequence (due, +7, +14, final), never a retry."""
        ctx = self.context
        shadow = self.guardrails.mode_for(segment_of(ctx)) == AutomationMode.SHADOW
        taken = frozenset(
            step
            for step, mode in ctx.offline_steps_taken
            if shadow or mode != AutomationMode.SHADOW
        )
        planned, skipped = offline_steps_plan(
            due_at=ctx.due_at or ctx.at, at=ctx.at, schedule=ctx.offline_schedule, taken=taken
        )
        if skipped:
            self.notes["offline_steps_skipped"] = skipped
        if not planned:
            self.sentence = "Offline payer: every reminder of the sequence is already planned."
            return
        if planned[0].at <= ctx.at and not self._may_contact():
            self.sentence = (
                "Offline payer and the weekly contact limit is reached: a person follows up."
            )
            self.notes["contact_limit_reached"] = True
            self._escalate("offline payer past the contact limit")
            planned = planned[1:]
        else:
            steps = ", ".join(
                f"{STEP_LABELS[p.step]} {local_label(p.at, ctx.time_zone)}" for p in planned
            )
            self.sentence = f"Offline payer: no card retry; reminders planned ({steps})."
        next_step = final_notice_next_step(ctx)
        for step in planned:
            params = {"template": step.template, "offline_step": step.step}
            if step.step == "final":
                params["next_step"] = next_step
            self._add(
                ActionKind.MESSAGE,
                step.at,
                f"Offline payer: {STEP_LABELS[step.step]} for the invoice due "
                f"{local_label(ctx.due_at or ctx.at, ctx.time_zone)}",
                channel=ctx.offline_schedule.channel,
                params=params,
            )

    def _end_of_dunning(self, why: str) -> None:
        self.sentence = f"End of Dunwell's dunning: {why}; a person decides what happens next."
        self._escalate(why)
        for kind in self.context.final_actions:
            if kind == ActionKind.CANCEL_SUBSCRIPTION and (
                not self.context.subscription_active or self.context.cancellation_pending
            ):
                continue
            if kind == ActionKind.STOP_DUNNING and not self.context.chargebee_dunning_active:
                continue  # Chargebee's dunning already ended: the invoice is left unpaid
            label = ActionKind(kind).label.lower()
            self._add(
                kind, self.context.at, f"Proposed end-of-dunning action: {label} (needs approval)"
            )

    def _route_to_humans(self) -> None:
        if self.context.signals.cancel_intent and self.actions:
            # Dunning someone who asked to leave costs goodwill: a person talks to them first.
            self._escalate("the customer asked to cancel in a recent support ticket")
        threshold = self.guardrails.review_threshold
        if self.recovery is not None and self.recovery < threshold:
            self._escalate(
                f"recovery score {self.recovery:.0%} is under the {threshold:.0%} review threshold"
            )

    def _escalate(self, why: str) -> None:
        if any(a.kind == ActionKind.ESCALATE for a in self.actions):
            return
        self._add(ActionKind.ESCALATE, self.context.at, f"Escalated to collections: {why}")

    def _may_contact(self) -> bool:
        if self.context.contacts_last_7d + self.contacts >= self.guardrails.contacts_per_week:
            return False
        self.contacts += 1
        return True

    def _add(
        self,
        kind: str,
        at: datetime | None,
        reasoning: str,
        *,
        channel: str = "",
        params: dict | None = None,
        propensity: float | None = None,
        explored: bool = False,
    ) -> None:
        params = dict(params or {})
        if kind in CONTACT_KINDS and self.sequence.tone:
            params["tone"] = self.sequence.tone
        self.actions.append(
            ProposedAction(
                kind=kind,
                scheduled_for=at,
                reasoning=reasoning,
                channel=channel,
                params=params,
                propensity=propensity,
                explored=explored,
            )
        )
