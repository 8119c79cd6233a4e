"""The admin-only event log: find an event, read its payload and error, reprocess it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from redis.exceptions import RedisError

from dunning.decisions.rules.gateway_pauses import gateway_pauses_for_status
from dunning.enrichment.connectors.views import connector_health_rows
from dunning.governance.audit import audit_verify
from dunning.helpers.filtering import rows_filtered
from dunning.helpers.htmx import htmx_render
from dunning.helpers.paging import page_of
from dunning.helpers.queueing import QUEUE_NAMES, get_queue
from dunning.models import AuditEntry, ChargebeeEvent, RejectedWebhook
from dunning.operations.event_log_filters import EventFilter
from dunning.sync import queries
from dunning.sync.chargebee_budget import budget_status
from dunning.sync.processing import event_reprocess

PAGE_SIZE = 50


@login_required
@permission_required("dunning.view_chargebeeevent", raise_exception=True)
def event_list(request: HttpRequest) -> HttpResponse:
    filtered = rows_filtered(EventFilter, request=request, rows=queries.events_newest_first())
    page, query = page_of(request, filtered.rows, size=PAGE_SIZE)
    context = {
        "form": filtered.form,
        "page": page,
        "query": query,
        "event_types": queries.event_type_choices(),
        "state_counts": queries.event_state_counts(),
        "rejected": RejectedWebhook.objects.all()[:20],
    }
    return htmx_render(
        request,
        "dunning/event_list.html",
        context,
        status=filtered.status,
        fragment="dunning/_event_table.html",
    )


@login_required
@permission_required("dunning.view_chargebeeevent", raise_exception=True)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(ChargebeeEvent, pk=pk)
    can_reprocess = request.user.has_perm("dunning.reprocess_chargebeeevent")
    return render(
        request, "dunning/event_detail.html", {"event": event, "can_reprocess": can_reprocess}
    )


@login_required
@permission_required("dunning.view_chargebeeevent", raise_exception=True)
def system_status(request: HttpRequest) -> HttpResponse:
    """Queues, the outbox, the Chargebee request budget and gateway pauses, for the admin on
    call."""
    try:
        queues = [(name, get_queue(name).count) for name in QUEUE_NAMES]
        budget = budget_status()
    except RedisError as error:
        queues, budget = [], None
        messages.error(request, f"Redis is unreachable: {error}")
    context = {
        "queues": queues,
        "budget": budget,
        "event_states": queries.event_state_counts(),
        "gateway_pauses": gateway_pauses_for_status(),
        "connectors": connector_health_rows(),
    }
    return render(request, "dunning/system_status.html", context)


@login_required
@permission_required("dunning.view_auditentry", raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        AuditEntry.objects.select_related("actor").order_by("-seq"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    checked, problem = audit_verify() if request.GET.get("verify") else (None, None)
    return render(
        request, "dunning/audit_list.html", {"page": page, "checked": checked, "problem": problem}
    )


@login_required
@require_POST
@permission_required("dunning.reprocess_chargebeeevent", raise_exception=True)
def event_reprocess_view(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(ChargebeeEvent, pk=pk)
    try:
        result = event_reprocess(event=event, user=request.user)
    except Exception as error:  # shown to the admin; the event keeps its error for the relay
        messages.error(request, f"Reprocessing failed: {error}")
    else:
        messages.success(request, f"Event {event.event_id} reprocessed: {result.value}.")
    return redirect("dunning:event_detail", pk=event.pk)
