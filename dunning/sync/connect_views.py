"""The Chargebee connection page (admins): the site check, the webhook endpoint, backfills."""

from __future__ import annotations

from datetime import UTC, datetime

from chargebee import APIError
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from dunning.helpers.htmx import htmx_render
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.models import BackfillRun
from dunning.sync.chargebee_calls import ChargebeeUnavailable
from dunning.sync.connect_forms import BackfillForm, WebhookEndpointForm
from dunning.sync.site_connect import (
    WEBHOOK_EVENT_TYPES,
    backfill_start,
    site_check,
    webhook_endpoint_ensure,
    webhook_url_default,
)

PERMISSION = "dunning.connect_chargebee"
RUNS_SHOWN = 5


@login_required
@permission_required(PERMISSION, raise_exception=True)
def chargebee_connection(request: HtmxHttpRequest) -> HttpResponse:
    runs = list(BackfillRun.objects.select_related("started_by")[:RUNS_SHOWN])
    if request.htmx and request.GET.get("fragment") == "backfills":
        return htmx_render(request, "dunning/_backfill_runs.html", {"runs": runs})
    webhook_form = WebhookEndpointForm(initial={"url": webhook_url_default()})
    backfill_form = BackfillForm()
    status = 200
    if request.method == "POST" and request.POST.get("step") == "webhook":
        webhook_form = WebhookEndpointForm(request.POST)
        if webhook_form.is_valid() and _endpoint_saved(request, webhook_form.cleaned_data["url"]):
            return redirect("dunning:chargebee_connection")
        status = 400
    elif request.method == "POST" and request.POST.get("step") == "backfill":
        backfill_form = BackfillForm(request.POST)
        if backfill_form.is_valid():
            day = backfill_form.cleaned_data["since"]
            since = datetime(day.year, day.month, day.day, tzinfo=UTC)
            backfill_start(since=since, user=request.user)
            messages.success(request, f"Backfill of the events since {day:%Y-%m-%d} queued.")
            return redirect("dunning:chargebee_connection")
        status = 400
    context = {
        "check": site_check(),
        "webhook_form": webhook_form,
        "backfill_form": backfill_form,
        "event_types": WEBHOOK_EVENT_TYPES,
        "runs": runs,
    }
    return htmx_render(request, "dunning/chargebee_connection.html", context, status=status)


def _endpoint_saved(request: HttpRequest, url: str) -> bool:
    try:
        endpoint = webhook_endpoint_ensure(url=url, user=request.user)
    except (APIError, ChargebeeUnavailable) as error:
        messages.error(request, f"Chargebee refused the webhook endpoint: {error}")
        return False
    verb = "created" if endpoint.created else "updated"
    messages.success(
        request,
        f"Webhook endpoint {endpoint.endpoint_id} {verb}: {endpoint.url} with Basic auth and "
        f"{len(endpoint.enabled_events)} event types.",
    )
    return True
