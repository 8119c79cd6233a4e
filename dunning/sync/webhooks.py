"""POST /webhooks/chargebee/ — authenticate, bound, parse, store, acknowledge."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dunning.sync.ingest import (
    WebhookRejected,
    database_error_is_transient,
    event_store,
    webhook_parse,
    webhook_reject_record,
)

logger = logging.getLogger("dunwell.ingest")


def basic_auth_matches(header: str, username: str, password: str) -> bool:
    """Constant-time check of an ``Authorization: Basic`` header."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, sep, given_password = decoded.partition(":")
    if not sep:
        return False
    user_ok = hmac.compare_digest(given_user.encode(), username.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok & password_ok


def _error(status: int, reason: str) -> JsonResponse:
    response = JsonResponse({"error": reason}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="chargebee-webhooks"'
    return response


@csrf_exempt
@require_POST
def chargebee_webhook(request: HttpRequest) -> JsonResponse:
    remote_addr = request.META.get("REMOTE_ADDR")
    if not basic_auth_matches(
        request.headers.get("Authorization", ""),
        settings.CHARGEBEE_WEBHOOK_USERNAME,
        settings.CHARGEBEE_WEBHOOK_PASSWORD,
    ):
        logger.warning("webhook refused: bad or missing credentials from %s", remote_addr)
        return _error(401, "authentication required")

    limit = settings.WEBHOOK_MAX_BODY_BYTES
    length_header = request.META.get("CONTENT_LENGTH") or ""
    content_type = request.content_type or ""
    body = b""
    declared: int | None = None
    try:
        declared = _declared_length(length_header)
        if declared is not None and declared > limit:
            raise WebhookRejected(413, f"body is larger than {limit} bytes")
        body = _body_read(request, declared=declared, limit=limit)
        if len(body) > limit:
            raise WebhookRejected(413, f"body is larger than {limit} bytes")
        if content_type and content_type not in ("application/json", "text/json"):
            raise WebhookRejected(415, f"content type must be application/json, not {content_type}")
        payload = webhook_parse(body=body)
        try:
            result = event_store(payload=payload, body=body)
        except DatabaseError as error:
            if not database_error_is_transient(error):
                # The database refuses this body itself (a value it cannot hold): asking
                # Chargebee to deliver it again would only fail again, forever.
                logger.exception("webhook %s refused by the database", payload["id"])
                raise WebhookRejected(
                    400, f"body cannot be stored: {type(error).__name__}: {error}"
                ) from None
            # Never acknowledge what was not stored: a 503 makes Chargebee deliver it again.
            logger.exception("webhook %s not stored: database unavailable", payload["id"])
            response = _error(503, "storage unavailable, deliver again later")
            response["Retry-After"] = "60"
            return response
    except WebhookRejected as rejected:
        webhook_reject_record(
            status=rejected.status,
            reason=rejected.reason,
            body=body,
            content_length=declared,
            content_length_header=length_header,
            remote_addr=remote_addr,
        )
        return _error(rejected.status, rejected.reason)
    return JsonResponse(
        {"status": "duplicate" if result.duplicate else "accepted", "event": result.event.event_id},
        status=200,
    )


def _declared_length(header: str) -> int | None:
    """The Content-Length as a number; None when absent (a chunked body)."""
    if not header:
        return None
    if not header.isdigit():  # "-5", "12abc", "1e3": HTTP allows digits only
        raise WebhookRejected(400, f"Content-Length must be a number of bytes, not {header[:40]!r}")
    return int(header)


def _body_read(request: HttpRequest, *, declared: int | None, limit: int) -> bytes:
    """Read at most ``limit + 1`` bytes, whatever Content-Length claims.

    Without a Content-Length (``Transfer-Encoding: chunked``) Django reads nothing; a
    server that de-chunks the body (gunicorn) says so with ``wsgi.input_terminated``, and
    the stream then ends where the body does.
    """
    if declared is not None or not request.META.get("wsgi.input_terminated"):
        return request.read(limit + 1)
    stream = request.META["wsgi.input"]
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
