"""The case page's commitments (promise to pay, follow-up tasks, payment plan) and the
"my tasks today" list. Thin: parse the form, call the service, redirect or refuse."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from collections_desk.access import VIEW_CASES
from collections_desk.commitment_forms import PaymentPlanForm, PromiseForm, TaskForm
from collections_desk.follow_ups import task_add, task_complete, task_for_user, tasks_due
from collections_desk.manual_collection import REQUEST_PERMISSION
from collections_desk.models import Case
from collections_desk.payment_plans import payment_plan_propose
from collections_desk.promises import promise_record
from collections_desk.views import _case, _case_change, _case_refused, _desk_people
from dunning.helpers.htmx import htmx_render
from dunning.helpers.money import amount_text


def _invalid(request: HttpRequest, case: Case, form, what: str) -> HttpResponse:
    errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
    return _case_refused(request, case, f"{what} not recorded: {errors}", status=400)


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_promise_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = PromiseForm(request.POST, case=case)
    if not form.is_valid():
        return _invalid(request, case, form, "Promise")
    data = form.cleaned_data

    def promise(case: Case) -> str:
        made = promise_record(
            case=case,
            user=request.user,
            invoice=data["invoice"],
            amount=form.amount_minor(),
            promised_for=data["promised_for"],
        )
        money = f"{amount_text(made.amount, made.currency)} {made.currency}"
        return (
            f"Promise recorded: {money} by {made.promised_for:%d %b %Y}. Dunwell sends no "
            f"retry or message on {made.invoice.cb_id} until the end of that day."
        )

    return _case_change(request, pk, promise)


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_task_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = TaskForm(request.POST, people=_desk_people())
    if not form.is_valid():
        return _invalid(request, case, form, "Task")
    data = form.cleaned_data

    def add(case: Case) -> str:
        task = task_add(
            case=case,
            user=request.user,
            title=data["title"],
            due_on=data["due_on"],
            assignee=data.get("assignee"),
        )
        return f"Task added for {task.assignee.get_username()}, due {task.due_on:%d %b %Y}."

    return _case_change(request, pk, add)


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_payment_plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if not request.user.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied("you may not propose payment plans")
    form = PaymentPlanForm(request.POST, case=case)
    if not form.is_valid():
        return _invalid(request, case, form, "Payment plan")
    data = form.cleaned_data

    def propose(case: Case) -> str:
        payment_plan_propose(
            case=case,
            user=request.user,
            invoice=data["invoice"],
            instalments=data["instalments"],
            period=data["period"],
            unit=data["unit"],
        )
        return (
            "Payment plan proposed: it waits for a manager's approval in the approval "
            "inbox; once approved Dunwell writes it to Chargebee."
        )

    return _case_change(request, pk, propose)


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def task_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_for_user(user=request.user, pk=pk)  # another team's: 404
    task_complete(task=task, user=request.user)
    messages.success(request, f"Done: {task.title}")
    return redirect(request.POST.get("back") or "collections_desk:my_tasks")


@login_required
@permission_required(VIEW_CASES, raise_exception=True)
def my_tasks(request: HttpRequest) -> HttpResponse:
    today = timezone.now().date()
    tasks = list(tasks_due(user=request.user, today=today)[:200])
    context = {
        "tasks": tasks,
        "today": today,
        "overdue": sum(1 for task in tasks if task.due_on < today),
    }
    return htmx_render(
        request,
        "collections_desk/my_tasks.html",
        context,
        fragment="collections_desk/_my_tasks.html",
    )
