"""The approval inbox: approve exactly what was shown, reject with a reason, edit a draft.

Each approval posts the fingerprint of the action as the page showed it; the service
refuses it if the action changed since (409), or if the person may not approve it (403).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from collections_desk import queries
from collections_desk.access import action_for_user
from collections_desk.bulk import actions_bulk_approve
from collections_desk.forms import (
    MAX_BULK_APPROVALS,
    ApproveForm,
    BulkApproveConfirmForm,
    BulkApproveForm,
    EditActionForm,
    RejectForm,
)
from collections_desk.inbox import (
    SHOW,
    InboxFilterForm,
    bulk_selection,
    inbox_actions_filtered,
    inbox_view,
)
from collections_desk.views import report_messages
from dunning.actions.channels.preview import (
    DRAFTS_ON_BULK_VIEW,
    message_drafts_bounded,
    message_previews,
)
from dunning.actions.state_machine import (
    EDITABLE_KINDS,
    ActionConflict,
    ApprovalOutdated,
    action_approve,
    action_edit,
    action_fingerprint,
    action_reject,
)
from dunning.actions.words import action_words
from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.helpers.paging import page_of
from dunning.models import ALWAYS_NEEDS_APPROVAL, Action

APPROVE = "dunning.approve_action"
HIGH_RISK = "dunning.approve_high_risk_action"
PAGE_SIZE = 50


def _decorated(actions: list[Action], user) -> list[Action]:
    """The page's cards with their messages, read for the page at once."""
    # Drafted with the sending code when proposed and kept for approval (the fingerprint
    # binds it); a card whose draft is missing is drafted here, a few per page.
    previews = message_previews(actions=actions)
    return [_decorate(action, user, preview=previews[action.pk]) for action in actions]


def _decorate(action: Action, user, *, preview) -> Action:
    """What the page shows beside each action (hints only: the services decide)."""
    action.preview = preview
    action.awaiting_draft = bool(preview and preview.drafting)
    action.fingerprint = action_fingerprint(action)
    action.words = action_words(action)
    action.needs_manager = action.risk == "high" or action.kind in ALWAYS_NEEDS_APPROVAL
    action.own_edit = action.edited_by_id == user.pk
    action.manager_needed_here = action.needs_manager and not user.has_perm(HIGH_RISK)
    action.editable = action.kind in EDITABLE_KINDS
    action.current_approvers = [
        a.user.get_username() for a in action.approvals.all() if a.fingerprint == action.fingerprint
    ]
    action.two_approvers = action.invoice.amount_due >= settings.TWO_APPROVERS_FROM_AMOUNT
    action.edit_form = EditActionForm(
        initial={
            "text": action.preview.text if action.preview else "",
            "channel": action.channel or "email",
            "scheduled_for": action.scheduled_for,
            "fingerprint": action.fingerprint,
        }
    )
    return action


@login_required
@permission_required(APPROVE, raise_exception=True)
def inbox(request: HttpRequest) -> HttpResponse:
    """By default what this person can decide now; filters narrow it, with counts."""
    form = InboxFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    view = inbox_view(user=request.user, data=data)
    actions = view.actions.order_by("risk", "scheduled_for", "id")
    page, query = page_of(request, actions, size=PAGE_SIZE, count=view.counts[view.show])
    context = {
        "form": form,
        "view": view,
        "page": page,
        "query": query,
        "filter_query": _filter_query(request),
        "filter_pairs": [
            (k, v) for k, values in request.GET.lists() if k not in ("page", "ids") for v in values
        ],
        "show_choices": SHOW,
        "actions": _decorated(list(page), request.user),
        "risk_labels": dict(queries.RISK_GROUPS),
    }
    status = 200 if form.is_valid() or not request.GET else 400
    return htmx_render(
        request,
        "collections_desk/inbox.html",
        context,
        status=status,
        fragment="collections_desk/_inbox_groups.html",
    )


def _filter_query(request: HttpRequest) -> str:
    kept = request.GET.copy()
    kept.pop("page", None)
    return kept.urlencode()


def _answer(request: HtmxHttpRequest, pk: int, outcome: str, *, status: int = 200) -> HttpResponse:
    """The action's card again (htmx) or the inbox with a message (a plain form post)."""
    if not request.htmx:
        (messages.success if status == 200 else messages.error)(request, outcome)
        return redirect("collections_desk:inbox")
    try:
        action = queries.inbox_actions(user=request.user).get(pk=pk)
    except Action.DoesNotExist:
        action = None  # approved, rejected or gone: the card shows the outcome only
    context = {
        "action": _decorated([action], request.user)[0] if action else None,
        "pk": pk,
        "outcome": outcome,
        "failed": status != 200,
    }
    return htmx_render(request, "collections_desk/_inbox_action.html", context, status=status)


def _decide(request: HttpRequest, pk: int, decide) -> HttpResponse:
    action = action_for_user(user=request.user, pk=pk)
    try:
        outcome = decide(action)
    except PermissionDenied as refused:
        return _answer(request, pk, f"Refused: {refused}", status=403)
    except ApprovalOutdated as outdated:
        return _answer(request, pk, f"Not approved: {outdated}", status=409)
    except ActionConflict as conflict:
        return _answer(request, pk, f"Someone else was first: {conflict}", status=409)
    except ValueError as invalid:
        return _answer(request, pk, str(invalid), status=400)
    return _answer(request, pk, outcome)


def _invalid(request: HttpRequest, pk: int, form) -> HttpResponse:
    reasons = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
    return _answer(request, pk, f"Not saved: {reasons}", status=400)


@login_required
@require_POST
@permission_required(APPROVE, raise_exception=True)
def action_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)

    def approve(action: Action) -> str:
        action_approve(
            action=action, user=request.user, fingerprint=form.cleaned_data["fingerprint"]
        )
        if action.state == "proposed":
            return f"#{pk}: your approval is recorded; a second person must approve it too."
        return f"#{pk} approved and scheduled."

    return _decide(request, pk, approve)


@login_required
@require_POST
@permission_required(APPROVE, raise_exception=True)
def action_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)

    def reject(action: Action) -> str:
        action_reject(action=action, user=request.user, reason=form.cleaned_data["reason"])
        return f"#{pk} rejected."

    return _decide(request, pk, reject)


@login_required
@require_POST
@permission_required(APPROVE, raise_exception=True)
def action_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = EditActionForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    data = form.cleaned_data

    def edit(action: Action) -> str:
        action_edit(
            action=action,
            user=request.user,
            fingerprint=data["fingerprint"],
            text=data["text"],
            channel=data["channel"],
            scheduled_for=data["scheduled_for"] or action.scheduled_for,
        )
        return f"#{pk} saved; someone else approves it now."

    return _decide(request, pk, edit)


def _bulk_candidates(request: HttpRequest):
    """Ticked ids (``ids``), else every low-risk action the filters show that I can decide."""
    form = InboxFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    actions = inbox_actions_filtered(user=request.user, data={**data, "show": "mine"})
    ids = [int(pk) for pk in request.GET.getlist("ids") if pk.isdigit()]
    if ids:
        actions = actions.filter(pk__in=ids)
    return actions.filter(risk=Action.Risk.LOW).order_by("scheduled_for", "id")


def _bulk_confirmation(
    request: HttpRequest,
    *,
    form: BulkApproveConfirmForm | None,
    selection,
    status: int = 200,
    undrafted: int = 0,
) -> HttpResponse:
    actions = list(
        Action.objects.filter(pk__in=selection.pairs)
        .select_related("invoice", "customer")
        .order_by("scheduled_for", "id")
    )
    for action in actions:
        action.words = action_words(action)
    context = {
        "form": form,
        "selection": selection,
        "actions": actions,
        "filter_query": _filter_query(request),
        "limit": MAX_BULK_APPROVALS,
        "undrafted": undrafted,
    }
    return htmx_render(request, "collections_desk/inbox_bulk.html", context, status=status)


@login_required
@permission_required(APPROVE, raise_exception=True)
def inbox_bulk_approve(request: HttpRequest) -> HttpResponse:
    """GET: how many actions, and how much, a bulk approval would cover; POST: approve
    exactly those (ids and fingerprints as counted), with a reason and a confirmation."""
    if request.method == "GET":
        candidates = list(_bulk_candidates(request)[:MAX_BULK_APPROVALS])
        # The text sent is the text now recorded: a message still without one is left out.
        undrafted = message_drafts_bounded(actions=candidates, drafts_on_view=DRAFTS_ON_BULK_VIEW)
        selection = bulk_selection([a for a in candidates if a.pk not in undrafted])
        return _bulk_confirmation(request, form=None, selection=selection, undrafted=len(undrafted))
    if request.method != "POST":
        return HttpResponse("GET shows the count; POST approves.", status=405)
    form = BulkApproveConfirmForm(request.POST)
    if not form.is_valid():
        shown = BulkApproveForm(request.POST)
        pairs = shown.cleaned_data["approve"] if shown.is_valid() else {}
        selection = bulk_selection(_bulk_candidates(request).filter(pk__in=pairs))
        return _bulk_confirmation(request, form=form, selection=selection, status=400)
    data = form.cleaned_data
    report = actions_bulk_approve(
        user=request.user,
        shown=data["approve"],
        reason=data["reason"],
        total=request.POST.get("total", "")[:100],
    )
    report_messages(request, report, verb="Approved and scheduled")
    return redirect("collections_desk:inbox")
