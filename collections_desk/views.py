"""The collections queue and the case page. Every object comes through ``access`` (404 if
outside the person's teams); every change goes through a service that checks again."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from collections_desk import queries
from collections_desk.access import (
    ASSIGN,
    VIEW_CASES,
    case_for_user,
    teams_of,
    user_works_all_cases,
)
from collections_desk.ageing import ageing_counts
from collections_desk.bulk import BulkReport, cases_bulk
from collections_desk.case_commitments import case_commitments
from collections_desk.cases import CaseConflict, case_assign, case_claim, case_note_add
from collections_desk.escalation import EscalationFailed, case_escalate
from collections_desk.forms import AssignForm, NoteForm, QueueBulkForm, QueueFilterForm
from collections_desk.models import Case, EscalationTicket, Team
from collections_desk.payment_forms import record_payment_form
from dunning.governance.roles import Role
from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.helpers.paging import page_of

PAGE_SIZE = 50


def report_messages(request: HttpRequest, report: BulkReport, *, verb: str) -> None:
    if report.done:
        messages.success(request, f"{verb}: {', '.join(f'#{pk}' for pk in report.done)}.")
    if report.waiting:
        ids = ", ".join(f"#{pk}" for pk in report.waiting)
        messages.info(request, f"Approved by you, waiting for a second approver: {ids}.")
    for pk, why in report.refused:
        messages.error(request, f"#{pk} refused: {why}")


def _teams_for(user):
    return Team.objects.all() if user_works_all_cases(user) else teams_of(user)


def _desk_people():
    """Who can be filtered by or assigned: the agents and managers."""
    return (
        User.objects.filter(is_active=True, groups__name__in=[Role.AGENT.value, Role.MANAGER.value])
        .distinct()
        .order_by("username")
    )


@login_required
@permission_required(VIEW_CASES, raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    people = _desk_people()
    form = QueueFilterForm(
        request.GET or None,
        teams=_teams_for(request.user),
        assignees=list(people.values_list("username", flat=True)),
    )
    filters = form.cleaned_data if form.is_valid() else {}
    now = timezone.now()
    ranked = queries.queue_cases(user=request.user, filters=filters, now=now)
    page, query = page_of(request, ranked.values_list("pk", flat=True), size=PAGE_SIZE)
    unaged = {**filters, "age": ""}  # the buckets count the queue as filtered, all ages
    context = {
        "form": form,
        "ageing": ageing_counts(
            cases=queries.queue_cases(user=request.user, filters=unaged, now=now), now=now
        ),
        "age_query": _without(request, "age", "page"),
        "page": page,
        "rows": queries.queue_rows(case_ids=list(page), now=now),
        "query": query,
        "now": now,
        "due_soon": now + timedelta(hours=24),
        "can_assign": request.user.has_perm(ASSIGN),
        "people": people,
    }
    return htmx_render(
        request,
        "collections_desk/queue.html",
        context,
        status=400 if form.errors else 200,
        fragment="collections_desk/_queue_table.html",
    )


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def queue_bulk(request: HttpRequest) -> HttpResponse:
    form = QueueBulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(map(str, errors)))
        return redirect("collections_desk:queue")
    data = form.cleaned_data
    report = cases_bulk(
        user=request.user,
        case_ids=data["cases"],
        operation=data["operation"],
        assignee=data.get("assignee"),
    )
    report_messages(request, report, verb="Claimed" if data["operation"] == "claim" else "Assigned")
    return redirect(request.POST.get("back") or reverse("collections_desk:queue"))


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _case(request: HttpRequest, pk: int) -> Case:
    related = Case.objects.select_related("customer", "team", "assignee", "latest_decision")
    return case_for_user(user=request.user, pk=pk, queryset=related)


@login_required
@permission_required(VIEW_CASES, raise_exception=True)
def case_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if request.htmx and request.GET.get("part") == "timeline":
        return htmx_render(
            request,
            "collections_desk/_timeline.html",
            {"timeline": queries.case_timeline(case=case)},
        )
    return htmx_render(request, "collections_desk/case_detail.html", _case_context(request, case))


def _case_context(request: HttpRequest, case: Case, **extra) -> dict:
    decision = case.latest_decision
    now = timezone.now()
    return {
        "case": case,
        "decision": decision,
        "recommended": list(decision.actions.exclude(kind="escalate")) if decision else [],
        "timeline": queries.case_timeline(case=case),
        "invoices": queries.case_invoices(case=case),
        "payment_methods": queries.case_payment_methods(case=case),
        "notes": case.notes.select_related("author")[:50],
        "note_form": extra.pop("note_form", None) or NoteForm(),
        "escalations": case.escalations.select_related("created_by")[:5],
        "waiting": queries.awaiting_approval().filter(customer_id=case.customer_id).count(),
        "can_assign": request.user.has_perm(ASSIGN),
        "assign_form": AssignForm(initial={"assignee": case.assignee}),
        "people": _desk_people(),
        "now": now,
        "due_soon": now + timedelta(hours=24),
        "record_form": record_payment_form(case=case, user=request.user),
        "offline": case.customer.auto_collection == "off",
        **case_commitments(case=case, user=request.user, people=_desk_people()),
        **extra,
    }


def _case_change(request: HttpRequest, pk: int, change) -> HttpResponse:
    """Run ``change(case)`` for a POST on the case page; refusals are 403/409 with a reason."""
    case = _case(request, pk)
    try:
        done = change(case)
    except PermissionDenied as refused:
        return _case_refused(request, case, str(refused), status=403)
    except (CaseConflict, EscalationFailed, ValueError) as refused:
        return _case_refused(request, case, str(refused), status=409)
    messages.success(request, done)
    return redirect("collections_desk:case_detail", pk=case.pk)


def _case_refused(request: HttpRequest, case: Case, why: str, *, status: int) -> HttpResponse:
    messages.error(request, why)
    return htmx_render(
        request, "collections_desk/case_detail.html", _case_context(request, case), status=status
    )


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    def claim(case: Case) -> str:
        case_claim(case=case, user=request.user)
        return "Claimed: the case is yours."

    return _case_change(request, pk, claim)


@login_required
@require_POST
@permission_required(ASSIGN, raise_exception=True)
def case_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _case_refused(
            request, _case(request, pk), "Choose someone from the list.", status=400
        )
    assignee = form.cleaned_data["assignee"]

    def assign(case: Case) -> str:
        case_assign(case=case, user=request.user, assignee=assignee)
        return f"Assigned to {assignee.get_username()}." if assignee else "Back in the queue."

    return _case_change(request, pk, assign)


@login_required
@require_POST
@permission_required("collections_desk.add_casenote", raise_exception=True)
def case_note_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = NoteForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            case_note_add(case=case, user=request.user, text=form.cleaned_data["text"])
        except ValueError as refused:
            form.add_error("text", str(refused))
        else:
            status, form = 200, NoteForm()
            if not request.htmx:
                messages.success(request, "Note added.")
                return redirect("collections_desk:case_detail", pk=case.pk)
    context = {"case": case, "notes": case.notes.select_related("author")[:50], "note_form": form}
    if request.htmx:
        return htmx_render(request, "collections_desk/_notes.html", context, status=status)
    return htmx_render(
        request,
        "collections_desk/case_detail.html",
        _case_context(request, case, note_form=form),
        status=status,
    )


@login_required
@require_POST
@permission_required(VIEW_CASES, raise_exception=True)
def case_escalate_view(request: HttpRequest, pk: int) -> HttpResponse:
    def escalate(case: Case) -> str:
        ticket = case_escalate(case=case, user=request.user)
        if ticket.delivery != EscalationTicket.Delivery.SENT:
            return (
                f"Escalation recorded, but the tool did not take it yet: {ticket.last_error}. "
                "Dunwell sends it again; the case timeline shows each try."
            )
        where = f"ticket {ticket.external_id}" if ticket.external_id else "a local ticket"
        return f"Escalated to the CRM/task tool ({where}) with the case summary."

    return _case_change(request, pk, escalate)
