"""The Connections page (admins change or roll back, managers read), its test buttons, and
the vendors' webhooks (stored before they are acknowledged)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dunning.enrichment.connectors.config import (
    CHANGE_PERMISSION,
    CONNECTIONS,
    VIEW_PERMISSION,
    connections_read,
    connector_secret,
)
from dunning.enrichment.connectors.email_provider import email_provider
from dunning.enrichment.connectors.forms import ConnectionsForm
from dunning.enrichment.connectors.registry import CONNECTORS, connector_check, secrets_present
from dunning.enrichment.connectors.stripe import stripe_signature_valid
from dunning.enrichment.connectors.vendor_http import LABELS, ConnectorError
from dunning.enrichment.connectors.webhooks import (
    connector_event_job,
    connector_event_store,
    webhook_size_refusal,
)
from dunning.governance.versioned_pages import config_rollback_view, versioned_settings_page
from dunning.helpers.htmx import vary_on_htmx
from dunning.helpers.htmx_types import HtmxHttpRequest
from dunning.models import ConnectorHealth

MAX_WEBHOOK_BYTES = 1024 * 1024


def connector_health_rows() -> list[dict]:
    """Each connector's last success and failure, for this page and System status."""
    rows = {row.connector: row for row in ConnectorHealth.objects.all()}
    return [
        {"connector": name, "label": LABELS[name], "health": rows.get(name)} for name in CONNECTORS
    ]


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def connections(request: HttpRequest) -> HttpResponse:
    secrets = secrets_present()
    rows = [{**row, "secrets": secrets[row["connector"]]} for row in connector_health_rows()]
    return versioned_settings_page(
        request,
        kind=CONNECTIONS,
        form_class=ConnectionsForm,
        initial=ConnectionsForm.initial_from(connections_read(), version=0),
        change_permission=CHANGE_PERMISSION,
        template="dunning/connections.html",
        page="dunning:connections",
        context={
            "connectors": rows,
            "public_base_url": settings.PUBLIC_BASE_URL,
            "public_scheme": urlsplit(settings.PUBLIC_BASE_URL).scheme,
            "public_host": urlsplit(settings.PUBLIC_BASE_URL).netloc,
            "email_provider": email_provider(),
            "email_backend": settings.EMAIL_BACKEND,
            "rollback_url": "dunning:connections_rollback",
        },
    )


connections_rollback = config_rollback_view(
    kind=CONNECTIONS, change_permission=CHANGE_PERMISSION, page="dunning:connections"
)


@login_required
@require_POST
@permission_required(CHANGE_PERMISSION, raise_exception=True)
def connection_test(request: HtmxHttpRequest, connector: str) -> HttpResponse:
    """One read-only call to the vendor; the answer in words (htmx: the result fragment)."""
    if connector not in CONNECTORS:
        return HttpResponse(f"No connector {connector!r}.", status=404)
    try:
        said, ok = connector_check(connector=connector), True
    except ConnectorError as error:
        said, ok = str(error), False
    if request.htmx:
        context = {"connector": connector, "said": said, "ok": ok}
        return vary_on_htmx(render(request, "dunning/_connection_test.html", context))
    (messages.success if ok else messages.error)(request, said)
    return redirect("dunning:connections")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: signature checked, stored, acknowledged; processed by a job."""
    if refusal := webhook_size_refusal(request, limit=MAX_WEBHOOK_BYTES):
        return refusal
    body = request.body
    secret = connector_secret("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return JsonResponse({"error": "no Stripe webhook secret is configured"}, status=403)
    if not stripe_signature_valid(
        payload=body, header=request.headers.get("Stripe-Signature", ""), secret=secret
    ):
        return JsonResponse({"error": "the Stripe-Signature does not match"}, status=400)
    try:
        event = json.loads(body)
        event_id, event_type = str(event["id"]), str(event.get("type", ""))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "the body is not a Stripe event"}, status=400)
    stored = connector_event_store(
        vendor="stripe",
        event_id=event_id,
        event_type=event_type,
        payload=event,
        job=connector_event_job,
    )
    if not stored:
        return JsonResponse({"received": True, "duplicate": True})
    return JsonResponse({"received": True})
