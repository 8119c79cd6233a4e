"""The message providers' webhooks: Twilio's status callbacks and anymail's tracking events.

Both take the one path every vendor webhook takes (``connector_event_store``): checked,
stored once per event, acknowledged, then recorded on the message by a job
(``message_event_record``); a stored event whose job was lost is relayed every 5 minutes.

- Twilio calls ``POST /webhooks/twilio/status/`` (the ``StatusCallback`` each SMS names),
  signed with ``X-Twilio-Signature``. Its callbacks carry no event id: the message SID and
  the status are one (a status is reported once per message).
- anymail's own tracking views (``/webhooks/anymail/<esp>/tracking/``) check the basic auth
  and parse the ESP's shape; its ``tracking`` signal calls ``email_event_store``. The id is
  the ESP's event id, or, where the ESP gives none (Postmark's deliveries, opens, clicks),
  a digest of the event exactly as the ESP sent it, so a redelivery is the same event.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from functools import wraps

from anymail.exceptions import AnymailWebhookValidationFailure
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dunning.actions.channels.message_events import message_event_record
from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.twilio import twilio_signature_valid
from dunning.enrichment.connectors.webhooks import (
    connector_event_done,
    connector_event_store,
    connector_events_relay,
    webhook_size_refusal,
)
from dunning.models import ConnectorEvent

logger = logging.getLogger("dunwell.connectors")

MAX_BYTES = 64 * 1024
EMAIL_VENDORS = ("postmark", "sendgrid", "mailgun", "amazon_ses")
# Twilio's MessageStatus -> the message's delivery state (docs/connectors.md).
TWILIO_KINDS = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# anymail's normalized event types -> the message's (others are kept as they are).
EMAIL_KINDS = {"rejected": "failed"}


def message_webhook_process(*, event_id: int) -> str:
    event = ConnectorEvent.objects.get(pk=event_id)
    if event.processed_at:
        return event.outcome
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.vendor == "twilio":
        status = str(payload.get("MessageStatus", ""))
        kind, message_id, at = TWILIO_KINDS.get(status), payload.get("MessageSid"), None
        code = payload.get("ErrorCode")
        detail = f"Twilio error {code}" if code else ""
    else:
        kind = EMAIL_KINDS.get(payload.get("kind"), payload.get("kind"))
        message_id, detail = payload.get("message_id"), str(payload.get("detail") or "")
        at = _moment(payload.get("at"))
    if kind:
        outcome = message_event_record(
            source_id=event.pk,
            provider=event.vendor,
            provider_message_id=str(message_id or ""),
            kind=str(kind),
            at=at or event.received_at,
            detail=detail,
        )
    else:
        outcome = f"ignored: {event.event_type} says nothing about delivery"
    connector_event_done(event_id=event.pk, outcome=outcome)
    return outcome


def message_webhook_job(event_id: int) -> str:
    return message_webhook_process(event_id=event_id)


def message_webhooks_relay_job() -> int:
    """Enqueue again the providers' events whose job was lost; returns how many."""
    return connector_events_relay(vendors=("twilio", *EMAIL_VENDORS), job=message_webhook_job)


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if refusal := webhook_size_refusal(request, limit=MAX_BYTES):
        return refusal
    token = connector_secret("TWILIO_AUTH_TOKEN")
    if not token:
        return JsonResponse({"error": "no Twilio auth token is configured"}, status=403)
    params = {name: request.POST.get(name, "") for name in request.POST}
    # Twilio signs the URL it called: the public one, whatever proxy is in between.
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    signature = request.headers.get("X-Twilio-Signature", "")
    if not twilio_signature_valid(url=url, params=params, token=token, signature=signature):
        return JsonResponse({"error": "the X-Twilio-Signature does not match"}, status=400)
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not (sid and status):
        return JsonResponse(
            {"error": "a status callback has MessageSid and MessageStatus"}, status=400
        )
    stored = connector_event_store(
        vendor="twilio",
        event_id=f"{sid}:{status}",
        event_type=f"message.{status}",
        payload=params,
        job=message_webhook_job,
    )
    return JsonResponse({"received": True, **({} if stored else {"duplicate": True})})


def _jsonable(value: object) -> object:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def email_event_store(*, event, esp_name: str) -> bool:
    """Store one anymail tracking event (once per event id) for the job to record."""
    vendor = esp_name.lower().replace(" ", "_")  # "Amazon SES" -> "amazon_ses"
    raw = _jsonable(event.esp_event)
    event_id = (
        event.event_id or hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    )
    payload = {
        "kind": event.event_type,
        "message_id": str(event.message_id or ""),
        "at": event.timestamp.isoformat() if event.timestamp else "",
        "detail": str(event.description or event.reject_reason or "")[:300],
        "esp_event": raw,
    }
    return connector_event_store(
        vendor=vendor,
        event_id=str(event_id),
        event_type=str(event.event_type),
        payload=payload,
        job=message_webhook_job,
    )


def email_tracking_received(sender, event, esp_name, **kwargs) -> None:
    """anymail's ``tracking`` signal (connected in ``DunningConfig.ready``)."""
    email_event_store(event=event, esp_name=esp_name)


def _guarded(view):
    """anymail's view, refusing without a webhook secret and answering 4xx with a reason."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (getattr(settings, "ANYMAIL", None) or {}).get("WEBHOOK_SECRET"):
            return JsonResponse(
                {"error": "no email webhook secret is configured (DUNWELL_ANYMAIL_WEBHOOK_SECRET)"},
                status=403,
            )
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure:
            return JsonResponse({"error": "the webhook's credentials do not match"}, status=400)
        except ImproperlyConfigured as error:
            return JsonResponse(
                {"error": f"this provider is not configured: {error}"[:300]}, status=403
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("email webhook refused: %s", error)
            return JsonResponse(
                {"error": "the body is not this provider's tracking event"}, status=400
            )

    return csrf_exempt(guarded)


def anymail_webhook_urls() -> list[URLPattern]:
    """anymail's URL patterns (``anymail.urls``), each view guarded."""
    from anymail import urls

    patterns = []
    for pattern in urls.urlpatterns:
        patterns.append(
            URLPattern(
                pattern.pattern, _guarded(pattern.callback), pattern.default_args, pattern.name
            )
        )
    return patterns
