"""Phased rollout: each segment's automation mode, the evidence for the next step, the switch.

A segment moves shadow -> approve -> auto as the evidence allows:

- out of **shadow**, when enough shadow decisions have settled and Dunwell's predicted
  recovery was close to what happened under Chargebee (the score can be trusted);
- out of **approve**, when people agreed with what Dunwell proposed: they approved enough
  actions unchanged rather than editing or rejecting them.

``rollout_recommendation`` is a pure function of the figures and the thresholds below. The
switch goes through the versioned guardrails (``guardrails_edit``): a new version, with who,
when, why and the diff, audited, and rollback-able on the Guardrails page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from analytics.automation import AutomationFigures, automation_by_segment
from analytics.shadow import ShadowSegment, shadow_by_segment
from analytics.tables import cached
from dunning.decisions.policy_settings.guardrail_edits import (
    CHANGE_PERMISSION,
    GuardrailEditRefused,
    GuardrailsChangedMeanwhile,
    guardrails_edit,
)
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.policy_settings.segments import SEGMENT_LABELS, SEGMENTS
from dunning.models import AutomationMode, GuardrailPolicy

M = AutomationMode
ORDER = (M.SHADOW, M.APPROVE, M.AUTO)
MIN_SHADOW_SETTLED = 200  # settled shadow decisions (invoices) before approve
MAX_CALIBRATION_GAP = 5.0  # points between predicted and observed recovery
MIN_REVIEWED = 100  # actions a person approved, edited or rejected before auto
MIN_AGREEMENT = 90.0  # % of those approved unchanged
EVIDENCE_DAYS = 90
NOTE_LIMIT = 300


@dataclass(frozen=True)
class Recommendation:
    ready: bool
    to_mode: str | None  # the next step when ready
    text: str


@dataclass(frozen=True)
class RolloutRow:
    segment: str
    label: str
    mode: str
    from_default: bool  # the segment has no mode of its own: the default applies
    shadow: ShadowSegment | None
    approvals: AutomationFigures | None  # actions in approve mode
    automation: AutomationFigures | None  # actions in any mode but shadow
    recommendation: Recommendation

    @property
    def next_mode(self) -> str | None:
        index = ORDER.index(self.mode)
        return ORDER[index + 1] if index + 1 < len(ORDER) else None


def _pts(value: float) -> str:
    return f"{value:g}"


def _stay(text: str) -> Recommendation:
    return Recommendation(ready=False, to_mode=None, text=text)


def rollout_recommendation(
    *, mode: str, shadow: ShadowSegment | None, approvals: AutomationFigures | None
) -> Recommendation:
    """Move on, or stay and why (pure: the figures in, one plain sentence out)."""
    if mode == M.SHADOW:
        settled = shadow.settled if shadow else 0
        if settled < MIN_SHADOW_SETTLED:
            return _stay(
                f"stay in shadow: {settled} settled shadow decisions < {MIN_SHADOW_SETTLED}"
            )
        gap = shadow.calibration_gap
        if gap is None:
            return _stay("stay in shadow: no recovery scores to check (train the model first)")
        observed, predicted = _pts(shadow.observed_rate_scored), _pts(shadow.predicted_rate)
        limit = _pts(MAX_CALIBRATION_GAP)
        if abs(gap) > MAX_CALIBRATION_GAP:
            return _stay(
                f"stay in shadow: predicted recovery {predicted}% vs observed {observed}%, "
                f"{_pts(abs(gap))} pts apart > {limit}"
            )
        return Recommendation(
            ready=True,
            to_mode=M.APPROVE,
            text=f"ready for approve: {settled} settled shadow decisions, predicted recovery "
            f"{predicted}% within {limit} pts of observed {observed}%",
        )
    if mode == M.APPROVE:
        reviewed = approvals.reviewed if approvals else 0
        if reviewed < MIN_REVIEWED:
            return _stay(
                f"stay in approve: {reviewed} actions reviewed by a person < {MIN_REVIEWED}"
            )
        agreement, floor = _pts(approvals.agreement_rate), _pts(MIN_AGREEMENT)
        if approvals.agreement_rate < MIN_AGREEMENT:
            return _stay(f"stay in approve: agreement {agreement}% < {floor}%")
        return Recommendation(
            ready=True,
            to_mode=M.AUTO,
            text=f"ready for auto: agreement {agreement}% ≥ {floor}% over {reviewed} reviewed",
        )
    return _stay("in auto: the last step; high-risk actions still wait for a person")


def rollout_rows(*, days: int = EVIDENCE_DAYS, now: datetime | None = None):
    """(guardrails in force, one row per segment, the evidence period's since/until)."""
    until = now or timezone.now()
    since = until - timedelta(days=days)
    policy = guardrails_active()
    evidence = _evidence(since=since, until=until, window_days=policy.dunning_window_days)
    shadow, approvals, automation = (
        evidence["shadow"],
        evidence["approvals"],
        evidence["automation"],
    )
    rows = []
    for segment in SEGMENTS:
        mode = policy.mode_for(segment)
        rows.append(
            RolloutRow(
                segment=segment,
                label=SEGMENT_LABELS[segment],
                mode=mode,
                from_default=segment not in policy.segment_modes,
                shadow=shadow.get(segment),
                approvals=approvals.get(segment),
                automation=automation.get(segment),
                recommendation=rollout_recommendation(
                    mode=mode, shadow=shadow.get(segment), approvals=approvals.get(segment)
                ),
            )
        )
    return policy, rows, since, until


def _evidence(*, since: datetime, until: datetime, window_days: int) -> dict:
    """The period's shadow comparison and actions per segment, cached briefly like the
    dashboards' figures: the page asked them again at every request. The modes in force are
    not cached (read from the guardrails each time), so a switch shows at once."""

    def compute() -> dict:
        return {
            "shadow": shadow_by_segment(
                since=since, until=until, window_days=window_days, now=until
            ),
            "approvals": automation_by_segment(since=since, until=until, mode=M.APPROVE),
            "automation": automation_by_segment(since=since, until=until),
        }

    # By the minute: the period ends now, which moves at every request.
    key = f"{window_days}:{since:%Y%m%d%H%M}:{until:%Y%m%d%H%M}"
    return cached(name="rollout_evidence", key=key, compute=compute)


def rollout_switch(*, user, segment: str, mode: str, reason: str, based_on: int) -> GuardrailPolicy:
    """Set ``segment``'s mode as a new guardrails version. One step needs no reason (the
    note says what moved); a jump of two steps does. Raises PermissionDenied,
    GuardrailEditRefused or GuardrailsChangedMeanwhile (the page was stale)."""
    if user is None or not user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("Only admins may change a segment's automation mode.")
    if segment not in SEGMENTS:
        raise GuardrailEditRefused(f"There is no segment {segment!r}.")
    if mode not in ORDER:
        raise GuardrailEditRefused(f"The mode is one of {', '.join(ORDER)}.")
    current = guardrails_active()
    if current.version != based_on:
        who = current.created_by.get_username() if current.created_by else "the system"
        raise GuardrailsChangedMeanwhile(
            f"{who} saved guardrails version {current.version} after this page showed version "
            f"{based_on}; the page now shows the modes in force: check them and switch again."
        )
    before = current.mode_for(segment)
    if before == mode:
        raise GuardrailEditRefused(f"{segment} is already in {mode} mode.")
    reason = reason.strip()
    if abs(ORDER.index(mode) - ORDER.index(before)) > 1 and not reason:
        raise GuardrailEditRefused(
            f"Moving {segment} from {before} straight to {mode} skips a step: say why."
        )
    note = f"Rollout: {segment} from {before} to {mode}." + (f" {reason}" if reason else "")
    return guardrails_edit(
        user=user,
        changes={"segment_modes": {**current.segment_modes, segment: mode}},
        note=note[:NOTE_LIMIT],
        based_on=based_on,
    )
