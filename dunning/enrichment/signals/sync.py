"""Copying helpdesk tickets and product usage into the tables the default provider reads.

The source is the HTTP interface in docs/signals.md (served by the sandbox at the Chargebee
base URL, the API key as the Basic-auth username). Rows are upserted in bulk, so running
the sync twice changes nothing. It stops at a deadline and reports what it did not reach;
an error is logged and reported, never raised into the caller (a decision, a cron job).

Ticket text is customer-written: it is stored as data, never interpreted, never sent on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from dunning.models import Invoice, SupportTicket, Transaction, UsageMonth

logger = logging.getLogger("dunwell.signals")

PAGE_SIZE = 100
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Tickets are fetched again from a little before the newest one stored: a helpdesk can
# index a ticket late, and upserts make the overlap free.
TICKET_OVERLAP = timedelta(days=1)
# Usage is synced for customers a decision may be about: in dunning, or failed lately.
RECENT_FAILURE = timedelta(days=35)
MAX_CONSECUTIVE_ERRORS = 3
TICKET_FIELDS = ("customer_cb_id", "created_at", "topic", "subject", "body", "sentiment", "channel")
USAGE_FIELDS = ("active_users", "sessions", "seats")


class SignalsSourceError(Exception):
    """The signals source answered something other than a page of results."""


@dataclass
class SyncReport:
    tickets: int = 0
    usage_months: int = 0
    customers: int = 0
    skipped: int = 0  # rows that could not be read (named in errors)
    customers_left: int = 0  # not reached before the deadline
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.customers_left

    def summary(self) -> str:
        text = (
            f"{self.tickets} tickets, {self.usage_months} usage months for "
            f"{self.customers} customers"
        )
        if self.customers_left:
            text += f"; stopped at the deadline with {self.customers_left} customers left"
        if self.skipped:
            text += f"; {self.skipped} rows skipped"
        if self.errors:
            text += f"; {len(self.errors)} errors: " + "; ".join(self.errors[:3])
        return text


def signals_source() -> tuple[str, str] | None:
    """(base URL, API key) of the signals source, or None when none is configured."""
    base = getattr(settings, "SIGNALS_SYNC_URL", "") or settings.CHARGEBEE_API_BASE
    if not base:
        return None
    key = getattr(settings, "SIGNALS_SYNC_KEY", "") or settings.CHARGEBEE_API_KEY
    return base.rstrip("/"), key


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _when(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**33:
        raise ValueError(f"not a timestamp: {value!r}")
    return datetime.fromtimestamp(value, tz=UTC)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError(f"not a count: {value!r}")
    return value


def _sentiment(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise ValueError(f"sentiment out of [-1, 1]: {value!r}")
    return float(value)


def _text(obj: dict, key: str, limit: int) -> str:
    value = obj.get(key)
    return "" if value is None else str(value)[:limit]


def ticket_row(obj: dict) -> SupportTicket:
    if not isinstance(obj.get("id"), str) or not isinstance(obj.get("customer_id"), str):
        raise ValueError("a ticket needs a string id and customer_id")
    return SupportTicket(
        ticket_id=obj["id"][:100],
        customer_cb_id=obj["customer_id"][:100],
        created_at=_when(obj.get("created_at")),
        topic=_text(obj, "topic", 40),
        subject=_text(obj, "subject", 300),
        body=_text(obj, "body", 20_000),
        sentiment=_sentiment(obj.get("sentiment")),
        channel=_text(obj, "channel", 20),
    )


def usage_row(customer_id: str, obj: dict) -> UsageMonth:
    return UsageMonth(
        customer_cb_id=customer_id,
        month_start=_when(obj.get("month_start")),
        **{name: _count(obj.get(name, 0)) for name in USAGE_FIELDS},
    )


class _Source:
    def __init__(self, base: str, key: str, client: httpx.Client):
        self.base, self.key, self.client = base, key, client

    def pages(self, path: str, params: dict, item_key: str):
        """Yield each page's items, following ``next_offset`` until the list ends."""
        offset = None
        while True:
            query = {**params, "limit": PAGE_SIZE, **({"offset": offset} if offset else {})}
            response = self.client.get(f"{self.base}{path}", params=query, auth=(self.key, ""))
            if response.status_code != 200:
                raise SignalsSourceError(f"{path} answered {response.status_code}")
            try:
                body = response.json()
                items = [entry[item_key] for entry in body["list"]]
            except (ValueError, KeyError, TypeError) as error:
                raise SignalsSourceError(f"{path} answered an unreadable page: {error}") from None
            yield items
            offset = body.get("next_offset")
            if not offset:
                return


def _bulk_upsert(rows: list, *, unique: list[str], update: tuple[str, ...]) -> None:
    if rows:
        type(rows[0]).objects.bulk_create(
            rows, update_conflicts=True, unique_fields=unique, update_fields=list(update)
        )


def tickets_sync(
    source: _Source, *, since: datetime | None, deadline: float, report: SyncReport
) -> None:
    if since is None:
        newest = SupportTicket.objects.aggregate(newest=Max("created_at"))["newest"]
        since = newest - TICKET_OVERLAP if newest else None
    params = {"created_at[after]": _epoch(since)} if since else {}
    for items in source.pages("/signals/v1/tickets", params, "ticket"):
        rows = {}
        for obj in items:
            try:
                row = ticket_row(obj)
            except (ValueError, AttributeError) as error:
                report.skipped += 1
                report.errors.append(f"ticket skipped: {error}")
                continue
            rows[row.ticket_id] = row
        _bulk_upsert(list(rows.values()), unique=["ticket_id"], update=TICKET_FIELDS)
        report.tickets += len(rows)
        if time.monotonic() > deadline:
            # The next run starts from the newest ticket stored, so it continues from here.
            report.errors.append("tickets: stopped at the deadline; the next run continues")
            return


def customers_to_sync(*, at: datetime, everyone: bool) -> list[str]:
    if everyone:
        ids = Invoice.objects.values_list("customer_id", flat=True)
    else:
        ids = Invoice.objects.filter(
            Q(status__in=("payment_due", "not_paid"))
            | Q(
                cb_id__in=Transaction.objects.filter(
                    status="failure", date__gte=at - RECENT_FAILURE
                ).values("invoice_id")
            )
        ).values_list("customer_id", flat=True)
    return sorted(set(ids))


def _usage_since(customers: list[str], since: datetime | None) -> dict[str, datetime]:
    """Where each customer's usage is read from: ``since``, else its newest stored month
    (read again: the current month is still counting), else its whole history."""
    if since is not None:
        return dict.fromkeys(customers, since)
    newest = (
        UsageMonth.objects.filter(customer_cb_id__in=customers)
        .values("customer_cb_id")
        .annotate(newest=Max("month_start"))
        .values_list("customer_cb_id", "newest")
    )
    return {customer: month - timedelta(seconds=1) for customer, month in newest}


def usage_sync(
    source: _Source,
    *,
    customers: list[str],
    since: datetime | None,
    deadline: float,
    report: SyncReport,
) -> None:
    consecutive_errors = 0
    starts = _usage_since(customers, since)
    for position, customer_id in enumerate(customers):
        if time.monotonic() > deadline:
            report.customers_left = len(customers) - position
            return
        params = {"customer_id[is]": customer_id}
        if customer_id in starts:
            params["month_start[after]"] = _epoch(starts[customer_id])
        try:
            rows = [
                usage_row(customer_id, obj)
                for items in source.pages("/signals/v1/usage", params, "usage")
                for obj in items
            ]
        except (SignalsSourceError, ValueError, AttributeError, httpx.HTTPError) as error:
            report.errors.append(f"usage for {customer_id}: {error}")
            consecutive_errors += 1
            if consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                report.customers_left = len(customers) - position - 1
                report.errors.append("usage sync stopped: the source keeps failing")
                return
            continue
        consecutive_errors = 0
        _bulk_upsert(rows, unique=["customer_cb_id", "month_start"], update=USAGE_FIELDS)
        report.usage_months += len(rows)
        report.customers += 1


def signals_sync(
    *,
    since: datetime | None = None,
    all_customers: bool = False,
    time_budget: float = 120.0,
) -> SyncReport:
    """Fill SupportTicket and UsageMonth from the signals source; never raises on its errors.

    ``since``: tickets created and usage months starting after it (default: tickets from a
    day before the newest stored; each customer's usage from its newest stored month, or
    its whole history the first time).
    """
    report = SyncReport()
    configured = signals_source()
    if configured is None:
        report.errors.append("no signals source configured (SIGNALS_SYNC_URL)")
        logger.info("signals sync skipped: no signals source configured")
        return report
    deadline = time.monotonic() + time_budget
    now = timezone.now()
    with httpx.Client(timeout=TIMEOUT) as client:
        source = _Source(*configured, client)
        try:
            tickets_sync(source, since=since, deadline=deadline, report=report)
        except (SignalsSourceError, httpx.HTTPError) as error:
            report.errors.append(f"tickets: {error}")
        usage_sync(
            source,
            customers=customers_to_sync(at=now, everyone=all_customers),
            since=since,
            deadline=deadline,
            report=report,
        )
    log = logger.info if report.ok else logger.warning
    log("signals sync: %s", report.summary())
    return report


# A periodic sync stops here and reports what it did not reach (the next run goes on).
SIGNALS_SYNC_BUDGET = 240.0


def sync_signals_job() -> str:
    return signals_sync(time_budget=SIGNALS_SYNC_BUDGET).summary()
