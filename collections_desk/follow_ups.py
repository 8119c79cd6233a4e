"""Follow-up tasks on a case ("call back on Tuesday") and each person's list for today."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from collections_desk.access import cases_visible_to, user_may_work_team
from collections_desk.cases import case_require_work
from collections_desk.models import Case, FollowUpTask
from dunning.governance.audit import audit_record

TITLE_MAX_CHARS = 200


def task_add(*, case: Case, user, title: str, due_on: date, assignee=None) -> FollowUpTask:
    """A task on the case for ``assignee`` (default: the person adding it)."""
    case_require_work(user=user, case=case)
    assignee = assignee or user
    if not user_may_work_team(user=assignee, team=case.team):
        raise ValueError(f"{assignee.get_username()} does not work this case's team")
    title = title.strip()
    if not title:
        raise ValueError("say what is to be done")
    if len(title) > TITLE_MAX_CHARS:
        raise ValueError(f"a task has at most {TITLE_MAX_CHARS} characters")
    if due_on < timezone.now().date():
        raise ValueError("the due date is in the past")
    with transaction.atomic():
        task = FollowUpTask.objects.create(
            case=case, title=title, due_on=due_on, assignee=assignee, created_by=user
        )
        audit_record(
            action="case.task_added",
            actor=user,
            target=case,
            data={
                "case": case.pk,
                "task": task.pk,
                "title": title,
                "due_on": due_on.isoformat(),
                "assignee": assignee.get_username(),
            },
        )
    return task


def task_complete(*, task: FollowUpTask, user) -> FollowUpTask:
    """Mark it done (done twice: nothing changes the second time)."""
    if not user_may_work_team(user=user, team=task.case.team):
        raise PermissionDenied("this case belongs to another team")
    now = timezone.now()
    with transaction.atomic():
        if FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(
            done_at=now, done_by=user
        ):
            audit_record(
                action="case.task_done",
                actor=user,
                target=task.case,
                data={"case": task.case_id, "task": task.pk, "title": task.title},
            )
    task.refresh_from_db()
    return task


def tasks_due(*, user, today: date | None = None) -> QuerySet[FollowUpTask]:
    """``user``'s open tasks due today or earlier (overdue first), on cases they may see."""
    today = today or timezone.now().date()
    return (
        FollowUpTask.objects.filter(assignee=user, done_at__isnull=True, due_on__lte=today)
        .filter(case__in=cases_visible_to(user))
        .select_related("case", "case__customer")
        .order_by("due_on", "id")
    )


def task_for_user(*, user, pk: int) -> FollowUpTask:
    """The task if it is on a case ``user`` may see; otherwise 404."""
    task = (
        FollowUpTask.objects.select_related("case")
        .filter(pk=pk, case__in=cases_visible_to(user))
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task
