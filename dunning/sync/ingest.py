"""Accept a Chargebee webhook body: check it, store it, and hand it to the outbox.

Nothing here talks to Chargebee or to a model: the endpoint must answer in milliseconds.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Field
from django.utils import timezone

from dunning.helpers.pci import mask_card_numbers, scrub_card_data, text_may_hold_card_data
from dunning.models import ChargebeeEvent, EventState, RejectedWebhook
from dunning.models.events import ReceivedVia
from dunning.sync.outbox import events_nudge_on_commit

logger = logging.getLogger("dunwell.ingest")

MAX_EVENT_ID_LENGTH = 100
REJECTED_BODY_EXCERPT_CHARS = 2000


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class IngestResult:
    event: ChargebeeEvent
    duplicate: bool


# Chargebee's payloads nest six levels deep; PostgreSQL's jsonb and Python's own recursion
# give up somewhere in the thousands, with a server error rather than an answer.
MAX_JSON_DEPTH = 64
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        # 1e999 is valid JSON but no database column (nor jsonb) holds an infinite number.
        raise ValueError(f"{text[:40]} is not a finite number")
    return number


def _refuse_unstorable(payload: object) -> None:
    """Walk the parsed value without recursion; refuse what no database stores."""
    pending: list[tuple[object, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            children = [value]
            depth -= 1  # a scalar adds no level
        if depth > MAX_JSON_DEPTH:
            raise WebhookRejected(400, f"body nests deeper than {MAX_JSON_DEPTH} levels")
        for child in children:
            if isinstance(child, str):
                if "\x00" in child:
                    raise WebhookRejected(400, "body contains NUL characters (\\u0000)")
                if _UNPAIRED_SURROGATE.search(child):
                    # A lone \ud800: Python accepts it, UTF-8 and jsonb cannot hold it.
                    raise WebhookRejected(400, "body contains an unpaired UTF-16 surrogate")
            elif isinstance(child, dict | list):
                pending.append((child, depth + 1))


def webhook_parse(*, body: bytes) -> dict:
    """Parse a webhook body and validate its envelope, or raise ``WebhookRejected`` (400)."""
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookRejected(400, f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise WebhookRejected(400, f"body nests deeper than {MAX_JSON_DEPTH} levels") from None
    if _text_may_be_unstorable(text):
        _refuse_unstorable(payload)
    return webhook_validate(payload=payload)


def _text_may_be_unstorable(text: str) -> bool:
    """False only when the walk of ``_refuse_unstorable`` certainly finds nothing.

    json.loads refuses raw control characters and UTF-8 cannot encode a surrogate, so a NUL
    or a lone surrogate can only come from a backslash-u escape; and a value cannot nest
    deeper than the brackets the text opens. Chargebee's payloads open a few dozen.
    """
    return "\\u" in text or text.count("{") + text.count("[") > MAX_JSON_DEPTH


def webhook_validate(*, payload: object) -> dict:
    """Check the event envelope Chargebee documents, or raise ``WebhookRejected`` (400)."""
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "body must be a JSON object")
    missing = [key for key in ("id", "event_type", "content") if key not in payload]
    if missing:
        raise WebhookRejected(400, f"missing required field(s): {', '.join(missing)}")
    event_id, event_type = payload["id"], payload["event_type"]
    if not isinstance(event_id, str) or not event_id or len(event_id) > MAX_EVENT_ID_LENGTH:
        raise WebhookRejected(400, f"id must be a string of 1-{MAX_EVENT_ID_LENGTH} characters")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 80:
        raise WebhookRejected(400, "event_type must be a non-empty string")
    if not isinstance(payload["content"], dict):
        raise WebhookRejected(400, "content must be a JSON object")
    occurred_at = payload.get("occurred_at")
    if occurred_at is not None and (
        isinstance(occurred_at, bool)
        or not isinstance(occurred_at, int)
        or not 0 <= occurred_at < 2**33
    ):
        raise WebhookRejected(400, "occurred_at must be a Unix timestamp in seconds")
    return payload


def _occurred_at(payload: dict) -> datetime:
    seconds = payload.get("occurred_at")
    if seconds is None:
        return timezone.now()
    return datetime.fromtimestamp(seconds, tz=UTC)


def _event_row(
    payload: dict, via: str, body: bytes | None = None
) -> tuple[ChargebeeEvent, str | None]:
    """The row to store, and the body's own text when it can be stored as it came.

    The raw body rules most payloads clean in one pass over the text; a clean body is then
    the stored JSON itself, with no second serialisation of what was just parsed.
    """
    text = None if body is None else body.decode("utf-8")
    if text is None or text_may_hold_card_data(text):
        payload, text = scrub_card_data(payload), None
    event = ChargebeeEvent(
        event_id=payload["id"],
        event_type=payload["event_type"],
        occurred_at=_occurred_at(payload),
        source=str(payload.get("source") or "")[:40],
        api_version=str(payload.get("api_version") or "")[:10],
        payload=payload,
        received_via=via,
    )
    return event, text


@functools.cache
def _insert_statement(vendor: str) -> tuple[str, tuple[Field, ...]]:
    meta = ChargebeeEvent._meta
    fields = tuple(field for field in meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    payload_placeholder = "%s::jsonb" if vendor == "postgresql" else "%s"
    placeholders = [payload_placeholder if field.name == "payload" else "%s" for field in fields]
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"  # noqa: S608
        f" VALUES ({', '.join(placeholders)})"
        f" ON CONFLICT ({quote(meta.get_field('event_id').column)}) DO NOTHING"
        f" RETURNING {quote(meta.pk.column)}"
    )
    return statement, fields


def _insert_unless_stored(event: ChargebeeEvent, payload_text: str | None) -> int | None:
    """INSERT the row in one statement; None when its event id is already stored.

    One statement in autocommit is its own transaction: durable when it returns, with no
    BEGIN/COMMIT round trips and no IntegrityError to unwind on a duplicate.
    """
    statement, fields = _insert_statement(connection.vendor)
    values = [
        payload_text
        if payload_text is not None and field.name == "payload"
        else field.get_db_prep_save(field.pre_save(event, True), connection)
        for field in fields
    ]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
            row = cursor.fetchone()
        return row[0] if row else None
    connection.ensure_connection()
    # Bound on the server and prepared once per connection: Django's client-side binding
    # would quote the 4 kB body into the statement text, a third of the webhook's own CPU.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, values, prepare=True)
        row = cursor.fetchone()
    return row[0] if row else None


def event_store(
    *, payload: dict, via: str = ReceivedVia.WEBHOOK, body: bytes | None = None
) -> IngestResult:
    """Store an event once; a second delivery of the same id returns the stored row.

    Only storage happens here. After the commit one cheap nudge wakes the ingest queue's
    drain (dunning.sync.outbox); if Redis is down the row simply waits for the relay.
    """
    event, payload_text = _event_row(payload, via, body)
    pk = _insert_unless_stored(event, payload_text)
    if pk is None:
        event = ChargebeeEvent.objects.filter(event_id=payload["id"]).first()
        if event is None:  # deleted between the INSERT and this read: store it again
            return event_store(payload=payload, via=via, body=body)
        logger.info("duplicate delivery of %s (%s)", event.event_id, event.event_type)
        return IngestResult(event=event, duplicate=True)
    event.pk = pk
    events_nudge_on_commit()
    return IngestResult(event=event, duplicate=False)


def events_store_bulk(*, payloads: list[dict], via: str) -> list[ChargebeeEvent]:
    """Store a page of validated events (backfill); returns the rows that are new, oldest first.

    Nothing is enqueued here: the caller processes the page as one batch.
    """
    ids = [payload["id"] for payload in payloads]
    seen = set(ChargebeeEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    rows: dict[str, ChargebeeEvent] = {}
    for payload in payloads:
        if payload["id"] not in seen and payload["id"] not in rows:
            rows[payload["id"]] = _event_row(payload, via)[0]
    try:
        with transaction.atomic():
            created = ChargebeeEvent.objects.bulk_create(list(rows.values()))
    except IntegrityError:
        # Some arrived by webhook meanwhile: keep the rest, then find out which are ours.
        with transaction.atomic():
            ChargebeeEvent.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
        created = list(
            ChargebeeEvent.objects.filter(event_id__in=list(rows), state=EventState.RECEIVED)
        )
    return sorted(created, key=lambda event: (event.occurred_at, event.pk))


# SQLSTATE classes of a database that cannot answer now but will: connection exceptions,
# insufficient resources, operator intervention (shutdown), transaction rollback (deadlock).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "40"})
LARGEST_STORED_LENGTH = 2**63 - 1


def database_error_is_transient(error: DatabaseError) -> bool:
    """True when the database is unreachable or busy, so delivering again will succeed.

    Anything else (a value the database refuses, a constraint) fails the same way on every
    delivery and is the body's problem, not the database's.
    """
    if isinstance(error, InterfaceError):
        return True  # the connection is closed or broken
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
    # No SQLSTATE: the driver never reached a server (PostgreSQL), or SQLite's file is
    # locked or unreadable.
    return True


def webhook_reject_record(
    *,
    status: int,
    reason: str,
    body: bytes,
    content_length: int | None,
    remote_addr: str | None,
    content_length_header: str = "",
) -> None:
    """Keep a refused (but authenticated) request for inspection; never fail the response.

    The whole body read (at most the 1 MiB bound) is kept, card numbers masked, so an
    event refused by mistake can be delivered again by hand.
    """
    logger.warning("webhook rejected with %s: %s", status, reason)
    text = mask_card_numbers(body.decode("utf-8", errors="backslashreplace")).replace("\x00", "")
    if content_length is not None and content_length > LARGEST_STORED_LENGTH:
        content_length = None  # the header itself is kept as text
    try:
        RejectedWebhook.objects.create(
            status_code=status,
            reason=reason[:300],
            content_length=content_length,
            content_length_header=content_length_header[:40],
            body_excerpt=text[:REJECTED_BODY_EXCERPT_CHARS],
            body=text,
            remote_addr=remote_addr,
        )
    except Exception:
        logger.exception("could not record a rejected webhook")
