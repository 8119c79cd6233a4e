"""Connect Dunwell to a Chargebee site: check the key, read the site, register the webhook.

Used by ``manage.py chargebee_connect`` and the connection page. The check only reads
(``Configuration.list``, ``Currency.list``, ``Invoice.list``, ``Subscription.list``); the
webhook endpoint is created, or updated when Dunwell's URL is already registered, through
Chargebee's ``WebhookEndpoint`` API; the backfill replays history as a job whose progress
is kept on a ``BackfillRun`` row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from chargebee import APIError
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from dunning.governance.audit import audit_record
from dunning.helpers.queueing import get_queue
from dunning.models import BackfillRun
from dunning.sync.backfill import events_backfill
from dunning.sync.chargebee_budget import Priority
from dunning.sync.chargebee_calls import ChargebeeUnavailable, call_with_backoff
from dunning.sync.chargebee_client import chargebee_client
from dunning.sync.outbox import BACKFILL_RUN_JOB
from dunning.sync.processing import HANDLED_EVENT_TYPES

# The event types Dunwell's webhook endpoint subscribes to: the ones it mirrors.
WEBHOOK_EVENT_TYPES = tuple(sorted(HANDLED_EVENT_TYPES))
ENDPOINT_NAME = "Dunwell"
READ_LIMIT = 100  # one page of each read: enough to show, never a crawl of the site


@dataclass
class SiteCheck:
    """What a read-only look at the site found, or why it could not look."""

    site: str
    ok: bool = False
    problem: str = ""
    domain: str = ""
    product_catalog_version: str = ""
    currencies: list[dict] = field(default_factory=list)
    invoices_in_dunning: int = 0
    more_in_dunning: bool = False
    reason_codes_seen: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def base_currency(self) -> str:
        return next((c["currency_code"] for c in self.currencies if c["is_base_currency"]), "")


def _refusal(site: str, error: APIError) -> str:
    code = getattr(error, "api_error_code", "") or ""
    status = getattr(error, "http_status_code", None)
    if status == 401 or code == "api_authentication_failed":
        return (
            f"Chargebee refused the API key for site {site!r} (401): use a full-access or "
            "read-only key created on this site (Settings > Configure Chargebee > API keys)."
        )
    if status == 404 or code == "site_not_found":
        return (
            f"Chargebee knows no site {site!r} (404 {code or 'not found'}): check "
            "CHARGEBEE_SITE, the part before .chargebee.com (a test site ends in -test)."
        )
    return f"Chargebee answered {status} {code}: {error}"


def site_check(*, site: str | None = None, api_key: str | None = None) -> SiteCheck:
    """Check the site and key with read-only calls and read what Dunwell can of the site."""
    site = site or settings.CHARGEBEE_SITE
    check = SiteCheck(site=site)
    client = chargebee_client(site=site, api_key=api_key)

    def read(call):
        return call_with_backoff(call, priority=Priority.ENRICH, max_attempts=3)

    try:
        [configuration] = read(lambda: client.Configuration.list()).configurations[:1]
        check.domain = configuration.domain or ""
        check.product_catalog_version = configuration.product_catalog_version or ""
        if check.domain and check.domain.split(".")[0] != site:
            check.problem = (
                f"This key belongs to site {check.domain!r}, not {site!r}: set CHARGEBEE_SITE "
                f"to {check.domain.split('.')[0]!r} or use a key of {site!r}."
            )
            return check
        currencies = read(lambda: client.Currency.list()).list
        check.currencies = [
            {
                "currency_code": c.currency.currency_code,
                "enabled": c.currency.enabled,
                "is_base_currency": bool(c.currency.is_base_currency),
            }
            for c in currencies
        ]
        in_dunning = read(
            lambda: client.Invoice.list(
                {"limit": READ_LIMIT, "dunning_status": {"is": "in_progress"}}
            )
        )
        check.invoices_in_dunning = len(in_dunning.list)
        check.more_in_dunning = bool(in_dunning.next_offset)
        cancelled = read(
            lambda: client.Subscription.list({"limit": READ_LIMIT, "status": {"is": "cancelled"}})
        )
        check.reason_codes_seen = sorted(
            {
                e.subscription.cancel_reason_code
                for e in cancelled.list
                if e.subscription.cancel_reason_code
            }
        )
    except APIError as error:
        check.problem = _refusal(site, error)
        return check
    except ChargebeeUnavailable as error:
        check.problem = f"Chargebee is not answering now: {error}"
        return check
    except httpx.HTTPError as error:
        check.problem = f"Could not reach Chargebee for site {site!r}: {error}"
        return check
    check.ok = True
    check.notes = _notes(check)
    return check


def _notes(check: SiteCheck) -> list[str]:
    notes = [
        "Chargebee's API does not show the site's dunning settings (retry schedule, final "
        "action): read them in Chargebee under Settings > Configure Chargebee > Retry settings."
    ]
    code = settings.CHARGEBEE_CANCEL_REASON_CODE
    if not code:
        notes.append(
            "Cancellations are sent without a reason code (CHARGEBEE_CANCEL_REASON_CODE is blank)."
        )
    elif check.reason_codes_seen and code not in check.reason_codes_seen:
        notes.append(
            f"CHARGEBEE_CANCEL_REASON_CODE is {code!r}, which none of the site's recent "
            f"cancellations used ({', '.join(check.reason_codes_seen)}): check it is one of the "
            "site's reason codes, or Chargebee will refuse Dunwell's cancellations."
        )
    else:
        notes.append(f"Cancellations are sent with the reason code {code!r}.")
    return notes


def webhook_url_default() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('chargebee_webhook')}"


@dataclass
class EndpointResult:
    endpoint_id: str
    url: str
    created: bool
    enabled_events: list[str]


def webhook_endpoint_ensure(*, url: str, user=None, actor_label: str = "") -> EndpointResult:
    """Create Dunwell's webhook endpoint on the site, or bring the one at ``url`` up to date
    (Basic-auth pair, API v2, the event types Dunwell mirrors)."""
    client = chargebee_client()
    params = {
        "url": url,
        "api_version": "v2",
        "basic_auth_username": settings.CHARGEBEE_WEBHOOK_USERNAME,
        "basic_auth_password": settings.CHARGEBEE_WEBHOOK_PASSWORD,
        "enabled_events": list(WEBHOOK_EVENT_TYPES),
    }
    existing = None
    offset = None
    while existing is None:
        page = call_with_backoff(
            lambda o=offset: client.WebhookEndpoint.list(
                {"limit": 100, **({"offset": o} if o else {})}
            )
        )
        existing = next(
            (e.webhook_endpoint for e in page.list if e.webhook_endpoint.url == url), None
        )
        offset = page.next_offset
        if not offset:
            break
    if existing is None:
        endpoint = call_with_backoff(
            lambda: client.WebhookEndpoint.create({"name": ENDPOINT_NAME, **params})
        ).webhook_endpoint
    else:
        endpoint = call_with_backoff(
            lambda: client.WebhookEndpoint.update(existing.id, params)
        ).webhook_endpoint
    result = EndpointResult(
        endpoint_id=endpoint.id,
        url=endpoint.url,
        created=existing is None,
        enabled_events=list(endpoint.enabled_events or []),
    )
    audit_record(
        action="chargebee.webhook_endpoint",
        actor=user,
        actor_label=actor_label,
        data={
            "endpoint_id": result.endpoint_id,
            "url": url,
            "created": result.created,
            "events": len(result.enabled_events),
        },
    )
    return result


def backfill_start(*, since: datetime, user=None) -> BackfillRun:
    """Queue a replay of the site's events since ``since``; the page follows its row."""
    run = BackfillRun.objects.create(since=since, started_by=user)
    audit_record(
        action="chargebee.backfill_start", actor=user, target=run, data={"since": since.isoformat()}
    )
    # Named by path: the job module imports this one.
    transaction.on_commit(lambda: get_queue("backfill").enqueue(BACKFILL_RUN_JOB, run.pk))
    return run


def backfill_run(*, run_id: int, on_page: Callable[[int], None] | None = None) -> BackfillRun:
    """Carry out a queued backfill (a second job for the same run finds nothing to claim)."""
    claimed = BackfillRun.objects.filter(pk=run_id, state=BackfillRun.State.QUEUED).update(
        state=BackfillRun.State.RUNNING, started_at=timezone.now()
    )
    run = BackfillRun.objects.get(pk=run_id)
    if not claimed:
        return run

    def page_done(fetched: int) -> None:
        BackfillRun.objects.filter(pk=run_id).update(fetched=F("fetched") + fetched)
        if on_page:
            on_page(fetched)

    try:
        result = events_backfill(since=run.since, inline=True, on_page=page_done)
    except (APIError, ChargebeeUnavailable, httpx.HTTPError) as error:
        BackfillRun.objects.filter(pk=run_id).update(
            state=BackfillRun.State.FAILED, finished_at=timezone.now(), error=str(error)[:2000]
        )
    else:
        BackfillRun.objects.filter(pk=run_id).update(
            state=BackfillRun.State.DONE,
            finished_at=timezone.now(),
            fetched=result.fetched,
            stored=result.stored,
            duplicates=result.duplicates,
            invalid=result.invalid,
        )
    run.refresh_from_db()
    return run
