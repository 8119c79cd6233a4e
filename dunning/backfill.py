"""Replay Chargebee's event history (``Event.list``) into the same path webhooks take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chargebee import Filters

from dunning.chargebee_calls import call_with_backoff
from dunning.chargebee_client import chargebee_client
from dunning.ingest import WebhookRejected, event_store, webhook_validate
from dunning.models.events import ReceivedVia

PAGE_SIZE = 100


@dataclass
class BackfillResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0


def events_backfill(
    *,
    since: datetime,
    on_page: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> BackfillResult:
    """Fetch every event after ``since`` (oldest first) and store the ones not yet seen."""
    client = chargebee_client()
    result = BackfillResult()
    offset: str | None = None
    backoff = {"sleep": sleep} if sleep else {}
    while True:
        params = client.Event.ListParams(
            limit=PAGE_SIZE,
            occurred_at=Filters.TimestampFilter(AFTER=int(since.timestamp()) - 1),
            sort_by=Filters.SortFilter(ASC="occurred_at"),
        )
        if offset:
            params["offset"] = offset
        page = call_with_backoff(lambda p=params: client.Event.list(p), **backoff)
        for entry in page.list:
            result.fetched += 1
            try:
                payload = webhook_validate(payload=entry.event.raw_data)
            except WebhookRejected:
                result.invalid += 1
                continue
            stored = event_store(payload=payload, via=ReceivedVia.BACKFILL)
            if stored.duplicate:
                result.duplicates += 1
            else:
                result.stored += 1
        if on_page:
            on_page(len(page.list))
        offset = page.next_offset
        if not offset:
            return result
