"""How much of the work ran by itself: actions without a person, and cases nobody touched.

Over the actions of decisions made outside shadow mode in a period (a person's own requests,
trigger "manual", are not Dunwell's proposals and are left out), each settled one is:

- *without a person*: executed, and nobody approved it (auto mode let a low-risk action run);
- *approved unchanged*: a person approved exactly what Dunwell proposed;
- *edited*: a person changed the text, channel or time, then it was approved;
- *rejected*: a person refused it.

Automation rate = without a person / (all four + those still waiting for a person): an
action waiting in the inbox did not run by itself, so leaving it out would call a segment
whose work piles up unread fully automatic. Agreement (the evidence for moving a segment
from approve to auto) = approved unchanged / (approved unchanged + edited + rejected).
Actions cancelled or failed before anyone looked are counted apart. Manual work saved =
cases resolved in the period that needed nobody (``collections_desk.ResolutionType``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from collections_desk.models import Case, CaseState, ResolutionType
from dunning.models import Action, ActionState, AutomationMode, Decision

S = ActionState
REJECTED = Q(state=S.REJECTED)
BY_A_PERSON = Q(decided_by__isnull=False) & ~REJECTED
AUTOMATIC = Q(state=S.EXECUTED, decided_by__isnull=True, needs_approval=False)
APPROVED_UNCHANGED = BY_A_PERSON & Q(edited_by__isnull=True)
EDITED = BY_A_PERSON & Q(edited_by__isnull=False)
WAITING = Q(state=S.PROPOSED, needs_approval=True)


@dataclass(frozen=True)
class AutomationFigures:
    segment: str
    automatic: int
    approved: int
    edited: int
    rejected: int
    waiting: int

    @property
    def settled(self) -> int:
        return self.automatic + self.approved + self.edited + self.rejected

    @property
    def counted(self) -> int:
        """The actions the automation rate is over: settled ones and those still waiting."""
        return self.settled + self.waiting

    @property
    def reviewed(self) -> int:
        return self.approved + self.edited + self.rejected

    @property
    def automation_rate(self) -> float | None:
        return _pct(self.automatic, self.counted)

    @property
    def agreement_rate(self) -> float | None:
        return _pct(self.approved, self.reviewed)


@dataclass(frozen=True)
class CaseFigures:
    segment: str
    automatic: int
    agent: int
    escalated: int

    @property
    def resolved(self) -> int:
        return self.automatic + self.agent + self.escalated

    @property
    def work_saved(self) -> float | None:
        return _pct(self.automatic, self.resolved)


def _pct(part, whole) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


def dunwell_actions(*, since: datetime, until: datetime, mode: str | None = None):
    actions = (
        Action.objects.filter(decision__as_of__gte=since, decision__as_of__lt=until)
        .exclude(mode=AutomationMode.SHADOW)
        .exclude(decision__trigger=Decision.Trigger.MANUAL)
    )
    if mode:
        actions = actions.filter(mode=mode)
    return actions.order_by()


def automation_by_segment(
    *, since: datetime, until: datetime, mode: str | None = None
) -> dict[str, AutomationFigures]:
    """Per segment of the decision, and "" for all of them."""
    aggregates = dict(
        automatic=Count("pk", filter=AUTOMATIC),
        approved=Count("pk", filter=APPROVED_UNCHANGED),
        edited=Count("pk", filter=EDITED),
        rejected=Count("pk", filter=REJECTED),
        waiting=Count("pk", filter=WAITING),
    )
    actions = dunwell_actions(since=since, until=until, mode=mode)
    rows = {
        r.pop("decision__segment"): r
        for r in actions.values("decision__segment").annotate(**aggregates)
    }
    # The total adds up the segments' counts (a second query would read every action again).
    rows[""] = {name: sum(r[name] for r in rows.values()) for name in aggregates}
    return {segment: AutomationFigures(segment=segment, **r) for segment, r in rows.items()}


def cases_by_segment(*, since: datetime, until: datetime) -> dict[str, CaseFigures]:
    """Cases resolved in the period, by who resolved them, per segment and "" for all."""
    aggregates = dict(
        automatic=Count("pk", filter=Q(resolution_type=ResolutionType.AUTOMATIC)),
        agent=Count("pk", filter=Q(resolution_type=ResolutionType.AGENT)),
        escalated=Count("pk", filter=Q(resolution_type=ResolutionType.ESCALATED)),
    )
    cases = Case.objects.filter(
        state=CaseState.RESOLVED, resolved_at__gte=since, resolved_at__lt=until
    ).order_by()
    rows: dict[str, dict[str, Any]] = {
        r.pop("segment"): dict(r) for r in cases.values("segment").annotate(**aggregates)
    }
    # The total adds up the segments' counts (a second query would read every case again).
    rows[""] = {name: sum(r[name] for r in rows.values()) for name in aggregates}
    return {segment: CaseFigures(segment=segment, **r) for segment, r in rows.items()}
