"""Calling a vendor's REST API: one timeout, its error answers in words, and health.

Every call records on ``ConnectorHealth`` whether it worked (and why not), which System
status shows. A refusal becomes ``ConnectorError`` with a sentence an admin can act on
(401: the credential; 403: its permissions; 404: the URL or id; 429: when to retry), the
vendor's own detail appended when its error body says more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dunning.models import ConnectorHealth

logger = logging.getLogger("dunwell.connectors")

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LABELS = {
    "salesforce": "Salesforce",
    "hubspot": "HubSpot",
    "zendesk": "Zendesk",
    "stripe": "Stripe",
    "usage_sql": "Usage database",
    "twilio": "Twilio",
    "email": "Email provider",
}


class ConnectorError(Exception):
    """The vendor could not be asked or refused; ``retry_after`` in seconds when it said."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: int | None = None):
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


def health_record(*, connector: str, error: str = "") -> None:
    now = timezone.now()
    try:
        with transaction.atomic():
            row, _ = ConnectorHealth.objects.get_or_create(connector=connector)
    except IntegrityError:  # another worker created the row at the same moment
        row = ConnectorHealth.objects.get(connector=connector)
    if error:
        ConnectorHealth.objects.filter(pk=row.pk).update(
            last_failure_at=now, last_failure_reason=error[:500], failures=F("failures") + 1
        )
    else:
        ConnectorHealth.objects.filter(pk=row.pk).update(
            last_success_at=now, successes=F("successes") + 1
        )


def retry_after_seconds(headers: httpx.Headers) -> int | None:
    """``Retry-After`` as seconds or an HTTP date; HubSpot's interval header otherwise."""
    value = headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return int(value.strip())
        try:
            return max(0, int((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()))
        except (TypeError, ValueError):
            return None
    interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    if interval and interval.isdigit():
        return max(1, int(interval) // 1000)
    return None


def _refusal(label: str, response: httpx.Response, detail: str, credential: str) -> ConnectorError:
    status = response.status_code
    said = f": {detail}" if detail else ""
    if status == 401:
        reason = f"{label} refused the credentials (401): check {credential}{said}"
    elif status == 403:
        reason = f"{label} accepted the credentials but refused this request (403){said}"
    elif status == 404:
        reason = f"{label} has no such resource (404): check the URL and the id{said}"
    elif status == 429:
        wait = retry_after_seconds(response.headers)
        when = f"; retry after {wait} s" if wait is not None else ""
        return ConnectorError(
            f"{label} is rate-limiting Dunwell (429){when}{said}", status=429, retry_after=wait
        )
    elif status >= 500:
        reason = f"{label} had a server error ({status}){said}"
    else:
        reason = f"{label} refused the request ({status}){said}"
    return ConnectorError(reason, status=status, retry_after=retry_after_seconds(response.headers))


def vendor_call(
    *,
    connector: str,
    method: str,
    url: str,
    credential: str,
    detail: Callable[[object], str] = lambda body: "",
    record: bool = True,
    **request,
) -> dict | list:
    """One request; the JSON answer of a 2xx, else ``ConnectorError`` (health recorded).

    ``credential`` names the environment variable to check when the vendor answers 401.
    """
    label = LABELS.get(connector, connector)
    try:
        try:
            response = httpx.request(
                method, url, timeout=request.pop("timeout", TIMEOUT), **request
            )
        except httpx.TimeoutException as error:
            raise ConnectorError(
                f"{label} did not answer in time ({type(error).__name__})"
            ) from None
        except httpx.HTTPError as error:
            raise ConnectorError(f"{label} could not be reached: {error}") from None
        if response.status_code >= 300:
            try:
                said = detail(response.json())
            except (ValueError, AttributeError, LookupError, TypeError):
                said = ""
            raise _refusal(label, response, said[:200], credential)
        try:
            body = response.json() if response.content else {}
        except ValueError:
            raise ConnectorError(f"{label} answered something that is not JSON") from None
    except ConnectorError as error:
        if record:
            health_record(connector=connector, error=str(error))
        logger.warning("%s call failed: %s", connector, error)
        raise
    if record:
        health_record(connector=connector)
    return body


def bearer_call(
    *,
    connector: str,
    token: str,
    credential: str,
    method: str,
    url: str,
    detail: Callable[[object], str],
    **request,
) -> dict | list:
    """``vendor_call`` with an OAuth/API bearer token (refused before any call when unset)."""
    if not token:
        raise ConnectorError(f"{LABELS.get(connector, connector)} has no token: set {credential}")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return vendor_call(
        connector=connector,
        method=method,
        url=url,
        credential=credential,
        detail=detail,
        headers=headers,
        **request,
    )
