"""Who may see and act on which case and action: the one home of django-guardian calls.

Agents work the cases of their teams: each team's auth group holds the object permission
``work_team_cases`` on its Team. Managers and admins hold ``work_all_cases`` (a model
permission) and work every case. A case no team's routing matches (``team`` empty) is in
the shared pool that every agent works. Anything outside a person's reach is a 404, so its
existence is not revealed. Views fetch through these helpers, and the approval rules in
``dunning.actions.state_machine`` ask ``user_may_work_action`` (so the executor checks it too).
"""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user

from collections_desk.models import OPEN_STATES, Case, Team
from dunning.models import Action, Invoice

VIEW_CASES = "collections_desk.view_case"
WORK_ALL = "collections_desk.work_all_cases"
WORK_TEAM = "collections_desk.work_team_cases"
ASSIGN = "collections_desk.assign_case"


def team_grant(*, team: Team) -> None:
    """Give the team's members (its group) the right to work the team's cases."""
    assign_perm(WORK_TEAM, team.group, team)


def teams_of(user) -> QuerySet[Team]:
    """The teams whose cases ``user`` works by membership (not by a manager's global right)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return get_objects_for_user(user, WORK_TEAM, klass=Team, accept_global_perms=False)


def user_works_all_cases(user) -> bool:
    return user.is_authenticated and user.has_perm(WORK_ALL)


def user_may_work_team(*, user, team: Team | None) -> bool:
    if not user.is_authenticated or not user.has_perm(VIEW_CASES):
        return False
    if user.has_perm(WORK_ALL) or team is None:
        return True
    return ObjectPermissionChecker(user).has_perm("work_team_cases", team)


def cases_visible_to(user) -> QuerySet[Case]:
    if not user.is_authenticated or not user.has_perm(VIEW_CASES):
        return Case.objects.none()
    if user.has_perm(WORK_ALL):
        return Case.objects.all()
    return Case.objects.filter(Q(team__isnull=True) | Q(team__in=teams_of(user)))


def case_for_user(*, user, pk: int, queryset: QuerySet[Case] | None = None) -> Case:
    """The case if ``user`` may work it; otherwise 404 (whether or not it exists)."""
    visible = cases_visible_to(user)
    if queryset is not None:
        visible = queryset.filter(pk__in=visible.values("pk"))
    try:
        return visible.get(pk=pk)
    except Case.DoesNotExist:
        raise Http404("No such case.") from None


def case_of_action(action: Action) -> Case | None:
    """The customer's open case, or else their latest one; an action has no case of its own."""
    return (
        Case.objects.filter(customer_id=action.customer_id)
        .order_by(F("resolved_at").asc(nulls_first=True), "-opened_at")
        .select_related("team")
        .first()
    )


def user_may_work_action(*, user, action: Action) -> tuple[bool, str]:
    if user_works_all_cases(user):
        return True, ""
    case = case_of_action(action)
    if case is None:
        return False, "this action is on no case; a manager decides about it"
    if not user_may_work_team(user=user, team=case.team):
        return False, "this case belongs to another team"
    return True, ""


def _governing_cases(customer_id) -> QuerySet[Case]:
    """A customer's cases, the one that decides who reaches them first: open, else latest."""
    return Case.objects.filter(customer_id=customer_id).order_by(
        F("resolved_at").asc(nulls_first=True), "-opened_at"
    )


def governing_case_ids(*, customer_ids: list[str]) -> dict[str, int]:
    """Each customer's governing case (open, else latest), by customer id: one query."""
    cases = (
        Case.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", F("resolved_at").asc(nulls_first=True), "-opened_at")
        .values_list("customer_id", "pk")
    )
    governing: dict[str, int] = {}
    for customer_id, pk in cases:
        governing.setdefault(customer_id, pk)
    return governing


def invoice_in_reach(*, user, invoice: Invoice) -> bool:
    """May ``user`` work the customer's case (open, else latest; none: anyone who may ask
    for actions, as the request then opens one and the team rules apply)?"""
    if user_works_all_cases(user):
        return True
    case = _governing_cases(invoice.customer_id).select_related("team").first()
    return case is None or user_may_work_team(user=user, team=case.team)


def rows_in_reach(*, user, rows: QuerySet, customer_field: str = "customer_id") -> QuerySet:
    """The rows (decisions, messages, ...) whose customer ``user`` reaches, by the rule of
    ``invoice_check_reach``: the customer's open (else latest) case is in one of the user's
    teams or in the shared pool, or the customer has no case yet. One SQL query."""
    if user_works_all_cases(user):
        return rows
    if not user.is_authenticated or not user.has_perm(VIEW_CASES):
        return rows.none()
    # One correlated subquery per row, asked once: "is the governing case in another team?"
    # (a boolean). Testing the governing team for "none or mine" instead made the SQL ask
    # the subquery twice per row. Kept per row rather than set-based: a page of rows under
    # a LIMIT then asks it of its few rows only, where ranking every customer's cases (a
    # window over 50,000 cases) cost ~100 ms before the first row.
    other_teams_case = Q(team__isnull=False) & ~Q(team__in=teams_of(user).values("pk"))
    governed_elsewhere = (
        _governing_cases(OuterRef(customer_field))
        .annotate(elsewhere=ExpressionWrapper(other_teams_case, output_field=BooleanField()))
        .values("elsewhere")[:1]
    )
    return rows.alias(
        _governed_elsewhere=Coalesce(Subquery(governed_elsewhere), Value(False))
    ).filter(_governed_elsewhere=False)


def actions_visible_to(user) -> QuerySet[Action]:
    if user_works_all_cases(user):
        return Action.objects.all()
    reachable = cases_visible_to(user).filter(state__in=OPEN_STATES).values("customer_id")
    return Action.objects.filter(customer_id__in=reachable)


def action_for_user(*, user, pk: int) -> Action:
    try:
        return actions_visible_to(user).select_related("invoice", "customer").get(pk=pk)
    except Action.DoesNotExist:
        raise Http404("No such action.") from None
