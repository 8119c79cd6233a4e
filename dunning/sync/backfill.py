"""Replay Chargebee's event history (``Event.list``) into the same mirror webhooks fill.

Each page of up to 100 events is stored in one statement and processed as one batch:
inline (the embedded default, and ``--inline``) or as a job on the low-priority
``backfill`` queue, so a backfill never holds up live webhooks.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from chargebee import Filters
from django.db import transaction

from dunning.governance.audit import audit_record
from dunning.helpers.queueing import get_queue
from dunning.models.events import ReceivedVia
from dunning.sync.chargebee_budget import Priority
from dunning.sync.chargebee_calls import call_with_backoff
from dunning.sync.chargebee_client import chargebee_client
from dunning.sync.ingest import WebhookRejected, events_store_bulk, webhook_validate
from dunning.sync.outbox import PROCESS_EVENT_BATCH_JOB
from dunning.sync.processing import events_process_batch

PAGE_SIZE = 100


@dataclass
class BackfillResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    processed: Counter = field(default_factory=Counter)


def events_backfill(
    *,
    since: datetime,
    inline: bool,
    on_page: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> BackfillResult:
    """Fetch every event after ``since`` (oldest first) and store the ones not yet seen."""
    result = BackfillResult()
    for page in _pages(since=since, sleep=sleep):
        payloads = []
        for entry in page.list:
            try:
                payloads.append(webhook_validate(payload=entry.event.raw_data))
            except WebhookRejected:
                result.invalid += 1
        result.fetched += len(page.list)
        new = events_store_bulk(payloads=payloads, via=ReceivedVia.BACKFILL)
        result.stored += len(new)
        result.duplicates += len(payloads) - len(new)
        pks = [event.pk for event in new]
        if new and inline:
            result.processed.update(events_process_batch(event_pks=pks, loaded=new))
        elif new:
            transaction.on_commit(
                lambda pks=pks: get_queue("backfill").enqueue(PROCESS_EVENT_BATCH_JOB, pks)
            )
        if on_page:
            on_page(len(page.list))
    summary = {k: getattr(result, k) for k in ("fetched", "stored", "duplicates", "invalid")}
    audit_record(
        action="chargebee.backfill",
        actor_label="chargebee backfill",
        data={"since": since.isoformat(), **summary},
    )
    return result


_DONE = object()


def _pages(*, since: datetime, sleep: Callable[[float], None] | None) -> Iterator:
    """Event.list pages, oldest first, fetched one page ahead on a thread.

    Waiting for Chargebee overlaps storing and processing the page before; the thread only
    speaks HTTP (and Redis for the request budget), never to the database.
    """
    client = chargebee_client()
    backoff = {"sleep": sleep} if sleep else {}
    pages: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        offset: str | None = None
        try:
            while True:
                params = client.Event.ListParams(
                    limit=PAGE_SIZE,
                    occurred_at=Filters.TimestampFilter(AFTER=int(since.timestamp()) - 1),
                    sort_by=Filters.SortFilter(ASC="occurred_at"),
                )
                if offset:
                    params["offset"] = offset
                page = call_with_backoff(
                    lambda p=params: client.Event.list(p), priority=Priority.BACKFILL, **backoff
                )
                offset = page.next_offset
                if not hand_over(page) or not offset:
                    break
        except Exception as error:  # handed to the consumer, which raises it
            hand_over(error)
        hand_over(_DONE)

    threading.Thread(target=fetch, name="backfill-fetch", daemon=True).start()
    try:
        while (item := pages.get()) is not _DONE:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped early: let the fetcher end too
