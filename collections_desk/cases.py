"""Cases: opened and kept up to date by decisions, claimed, assigned and annotated by people.

A decision outside shadow mode that escalates, or that leaves an action waiting for a
person, opens the customer's case (or updates their open one). The case gathers every
unpaid invoice of the customer, takes its scores from the latest decision, and is resolved
when none of its invoices is unpaid any more (as soon as a payment is known, through
``dunning.actions.offline.settle``; at the next decision about the customer; or by
``cases_refresh``, every few minutes).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, F, Min, OuterRef, Subquery, Sum, Value, When
from django.db.models import Case as SqlCase
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone

from collections_desk.access import ASSIGN, user_may_work_team
from collections_desk.csat import case_resolution_type, csat_survey_propose
from collections_desk.models import OPEN_STATES, Case, CaseNote, CaseState, RecoveryBasis
from collections_desk.priority import (
    cases_priority_refresh,
    expected_recovery,
    sla_due,
)
from collections_desk.recovery_rates import recovery_rates
from collections_desk.teams import team_route
from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationConflict
from dunning.models import ActionKind, ActionState, AutomationMode, Decision, Invoice

UNPAID_STATUSES = ("payment_due", "not_paid")
NOTE_MAX_CHARS = 5000


class CaseConflict(ApplicationConflict):
    """Someone else changed the case first (claimed it, resolved it)."""


def _why_a_person(decision: Decision) -> str:
    """Why this decision needs a person, or "" if it does not."""
    if decision.mode == AutomationMode.SHADOW:
        return ""  # shadow mode only logs: the desk keeps working as before Dunwell
    actions = list(
        decision.actions.values("kind", "state", "needs_approval", "reasoning", "approval_reason")
    )
    for action in actions:
        if action["kind"] == ActionKind.ESCALATE:
            return action["reasoning"]
    waiting = [a for a in actions if a["needs_approval"] and a["state"] == ActionState.PROPOSED]
    if waiting:
        noun = "action waits" if len(waiting) == 1 else "actions wait"
        return f"{len(waiting)} {noun} for approval: {waiting[0]['approval_reason']}"
    return ""


def cases_sync_for_decision(*, decision: Decision) -> Case | None:
    """Open or update the customer's case after ``decision`` was recorded."""
    why = _why_a_person(decision)
    now = timezone.now()
    # Part of the decision's transaction when there is one: no savepoint of its own.
    with transaction.atomic(savepoint=False):
        case = _open_case(customer_id=decision.customer_id, lock=True)
        if case is None and not why:
            return None
        if case is None:
            case = _case_open(decision=decision, why=why, now=now)
        elif why:
            case.reason = why[:300]
        case.latest_decision = decision
        case.segment = decision.segment
        case.recovery_score = decision.recovery_score
        case.lifetime_value = int(decision.features.get("lifetime_value") or 0)
        case.decline_category = (
            (decision.features.get("decline") or {}).get("error_category") or ""
        )[:100]
        case.save(
            update_fields=[
                "reason",
                "latest_decision",
                "segment",
                "recovery_score",
                "lifetime_value",
                "decline_category",
                "updated_at",
            ]
        )
        _case_refresh(case=case, now=now)
    return case


def _open_case(*, customer_id: str, lock: bool = False) -> Case | None:
    cases = Case.objects.filter(customer_id=customer_id, state__in=OPEN_STATES)
    return (cases.select_for_update() if lock else cases).first()


def _case_open(*, decision: Decision, why: str, now: datetime) -> Case:
    country = decision.customer.country if decision.customer_id else ""
    team = team_route(segment=decision.segment, country=country)
    try:
        with transaction.atomic():
            case = Case.objects.create(
                customer_id=decision.customer_id,
                team=team,
                reason=why[:300],
                segment=decision.segment,
                opened_at=now,
                sla_due_at=sla_due(segment=decision.segment, opened_at=now),
            )
    except IntegrityError:
        # Another worker opened the customer's case a moment ago: work on that one.
        return _open_case(customer_id=decision.customer_id, lock=True)
    audit_record(
        action="case.opened",
        actor_label="dunwell",
        target=case,
        data={
            "customer": case.customer_id,
            "team": team.name if team else None,
            "decision": decision.pk,
            "reason": case.reason,
        },
    )
    return case


def _case_refresh(*, case: Case, now: datetime) -> None:
    """Attach the customer's unpaid invoices, total them, resolve if none is left, re-rank."""
    unpaid = Invoice.objects.filter(customer_id=case.customer_id, status__in=UNPAID_STATUSES)
    case.invoices.add(*unpaid.values_list("pk", flat=True))
    still_due = case.invoices.filter(status__in=UNPAID_STATUSES)
    totals = still_due.aggregate(amount=Sum("amount_due"), oldest=Min(Coalesce("due_date", "date")))
    if totals["amount"] is None:
        _case_resolve(case=case, why="every invoice on the case is paid or closed", now=now)
        return
    currency = still_due.values_list("currency_code", flat=True).first() or ""
    rate, basis = recovery_rates(now=now).for_case(
        recovery_score=case.recovery_score,
        decline_category=case.decline_category,
        segment=case.segment,
    )
    Case.objects.filter(pk=case.pk).update(
        amount_due=totals["amount"],
        currency=currency,
        oldest_due_at=totals["oldest"],
        recovery_rate=rate,
        recovery_basis=basis,
        expected_recovery=expected_recovery(amount_due=totals["amount"], recovery_rate=rate),
    )
    cases_priority_refresh(cases=Case.objects.filter(pk=case.pk), now=now)


def _case_resolve(*, case: Case, why: str, now: datetime, user=None) -> bool:
    how = case_resolution_type(case=case, by_person=user is not None)
    changed = Case.objects.filter(pk=case.pk, state__in=OPEN_STATES).update(
        state=CaseState.RESOLVED,
        resolved_at=now,
        resolution=why[:300],
        amount_due=0,
        expected_recovery=0,
        priority=0,
        resolution_type=how,
    )
    if changed:
        audit_record(
            action="case.resolved",
            actor=user,
            actor_label="" if user else "dunwell",
            target=case,
            data={"customer": case.customer_id, "why": why, "resolution_type": how},
        )
        case.state, case.resolved_at, case.resolution = CaseState.RESOLVED, now, why
        case.resolution_type = how
        csat_survey_propose(case=Case.objects.get(pk=case.pk), now=now)
    return bool(changed)


def cases_refresh(*, now: datetime | None = None) -> dict[str, int]:
    """Resolve cases whose invoices were all paid meanwhile, and re-rank the open ones."""
    now = now or timezone.now()
    paid_up = Case.objects.filter(state__in=OPEN_STATES).exclude(
        invoices__status__in=UNPAID_STATUSES
    )
    resolved = sum(
        _case_resolve(case=case, why="every invoice on the case is paid or closed", now=now)
        for case in paid_up.only("pk", "customer_id")
    )
    open_cases = Case.objects.filter(state__in=OPEN_STATES)
    _cases_rates_refresh(cases=open_cases, now=now)
    ranked = cases_priority_refresh(cases=open_cases, now=now)
    return {"resolved": resolved, "ranked": ranked}


def _cases_rates_refresh(*, cases, now: datetime) -> None:
    """The ageing date and the historical rates of every open case: one UPDATE per rate."""
    oldest = (
        Invoice.objects.filter(cases=OuterRef("pk"), status__in=UNPAID_STATUSES)
        .order_by()
        .values("cases")
        .annotate(oldest=Min(Coalesce("due_date", "date")))
        .values("oldest")
    )
    cases.update(oldest_due_at=Subquery(oldest[:1]))
    rates = recovery_rates(now=now, fresh=True)
    unscored = cases.filter(recovery_score__isnull=True)
    unscored.update(recovery_rate=None, recovery_basis=RecoveryBasis.NONE, expected_recovery=0)
    for segment, known in rates.by_segment.items():
        unscored.filter(segment=segment).update(
            recovery_rate=known.rate,
            recovery_basis=RecoveryBasis.SEGMENT_HISTORY,
            expected_recovery=_times(known.rate),
        )
    for category, known in rates.by_decline_category.items():  # more telling: it wins
        unscored.filter(decline_category=category).update(
            recovery_rate=known.rate,
            recovery_basis=RecoveryBasis.DECLINE_HISTORY,
            expected_recovery=_times(known.rate),
        )
    cases.filter(recovery_score__isnull=False).update(
        recovery_rate=F("recovery_score"),
        recovery_basis=RecoveryBasis.MODEL,
        expected_recovery=_times(F("recovery_score")),
    )


def _times(rate) -> Cast:
    """amount_due x rate, rounded to whole minor units."""
    return Cast(Round(F("amount_due") * rate), BigIntegerField())


def _state_when_worked(state: str):
    """A promised case stays promised when someone takes it; any other takes ``state``."""
    return SqlCase(
        When(state=CaseState.PROMISED, then=Value(CaseState.PROMISED)), default=Value(state)
    )


def cases_refresh_for_customer(*, customer_id: str, now: datetime | None = None) -> bool:
    """Bring the customer's open case up to date now (after a payment); True if it resolved."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _open_case(customer_id=customer_id, lock=True)
        if case is None:
            return False
        _case_refresh(case=case, now=now)
    return case.state == CaseState.RESOLVED


def case_require_work(*, user, case: Case) -> None:
    """Raise unless ``user`` may change ``case`` now (their team's, and not resolved)."""
    if not user_may_work_team(user=user, team=case.team):
        raise PermissionDenied("this case belongs to another team")
    if not case.is_open:
        raise CaseConflict("the case is resolved")


def case_claim(*, case: Case, user) -> Case:
    """Take an unassigned case (one's own claim again changes nothing)."""
    case_require_work(user=user, case=case)
    with transaction.atomic():
        taken = Case.objects.filter(
            pk=case.pk, assignee__isnull=True, state__in=OPEN_STATES
        ).update(assignee=user, state=_state_when_worked(CaseState.IN_PROGRESS))
        if not taken:
            current = Case.objects.select_related("assignee").get(pk=case.pk)
            if current.assignee_id == user.pk:
                return current
            owner = current.assignee.get_username() if current.assignee else "nobody"
            raise CaseConflict(f"case {case.pk} is already claimed by {owner}")
        audit_record(action="case.claimed", actor=user, target=case, data={"case": case.pk})
    case.refresh_from_db(fields=["assignee", "state"])
    return case


def case_assign(*, case: Case, user, assignee) -> Case:
    """A manager gives the case to someone who may work it (``assignee`` None: unassign)."""
    if not user.has_perm(ASSIGN):
        raise PermissionDenied("only managers assign cases to others")
    case_require_work(user=user, case=case)
    if assignee is not None and not user_may_work_team(user=assignee, team=case.team):
        team = case.team.name if case.team else "the shared pool"
        raise ValueError(f"{assignee.get_username()} does not work the cases of {team}")
    state = CaseState.IN_PROGRESS if assignee else CaseState.OPEN
    with transaction.atomic():
        if not Case.objects.filter(pk=case.pk, state__in=OPEN_STATES).update(
            assignee=assignee, state=_state_when_worked(state)
        ):
            raise CaseConflict("the case is resolved")
        audit_record(
            action="case.assigned",
            actor=user,
            target=case,
            data={
                "case": case.pk,
                "from": case.assignee_id,
                "to": assignee.get_username() if assignee else None,
            },
        )
    case.refresh_from_db(fields=["assignee", "state"])
    return case


def case_note_add(*, case: Case, user, text: str) -> CaseNote:
    if not user.has_perm("collections_desk.add_casenote"):
        raise PermissionDenied("you may not add notes")
    if not user_may_work_team(user=user, team=case.team):
        raise PermissionDenied("this case belongs to another team")
    text = text.strip()
    if not text:
        raise ValueError("write something in the note")
    if len(text) > NOTE_MAX_CHARS:
        raise ValueError(f"a note has at most {NOTE_MAX_CHARS} characters")
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=user, text=text)
        audit_record(
            action="case.note_added",
            actor=user,
            target=case,
            data={"case": case.pk, "note": note.pk},
        )
    return note
