"""Every write Dunwell makes to Chargebee: one function per call, all through the SDK.

Each call carries a ``chargebee-idempotency-key`` its caller derives from the action, so a
re-run (a second job, a worker that died after Chargebee answered) gets Chargebee's first
answer back instead of a second charge. 429 and 5xx wait and retry inside
``call_with_backoff`` (``Retry-After`` honoured) and end in ``ChargebeeUnavailable``; any
other API error (a 4xx) is raised as the SDK's ``APIError`` with Chargebee's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dunning.sync.chargebee_budget import Priority
from dunning.sync.chargebee_calls import call_with_backoff
from dunning.sync.chargebee_client import chargebee_client

# Chargebee's limits (chargebee-node src/schema/*.schema.ts, transcribed with their source
# in sandbox/spec/chargebee_constraints.json; tests/sandbox checks these against it):
COMMENT_LIMIT = 300  # the ``comment`` of an invoice operation (pause, stop, write off …)
NOTES_LIMIT = 1000  # the ``notes`` of Comment.create
REASON_CODE_LIMIT = 100  # a subscription's ``cancel_reason_code``

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class WriteResult:
    """The Chargebee objects a write answered with (JSON as the API sends it)."""

    objects: dict[str, dict] = field(default_factory=dict)
    replayed: bool = False  # Chargebee answered from its idempotency store: nothing new done

    def get(self, key: str) -> dict:
        return self.objects.get(key) or {}


def _send(call: Callable, *, sleep: Sleep, keys: tuple[str, ...]) -> WriteResult:
    response = call_with_backoff(call, priority=Priority.EXECUTE, sleep=sleep)
    objects = {}
    for key in keys:
        obj = getattr(response, key, None)
        if obj is not None:
            objects[key] = obj.raw_data
    return WriteResult(objects=objects, replayed=bool(response.is_idempotency_replayed))


def _key(key: str) -> dict[str, str]:
    return {"chargebee-idempotency-key": key}


def within_limit(text: str, *, limit: int, link: str = "") -> str:
    """``text`` as Chargebee will take it: cut to ``limit`` characters, and when cut, ending
    with ``link`` to where Dunwell keeps all of it."""
    if len(text) <= limit:
        return text
    tail = f"… Full reasoning: {link}" if link else "…"
    if len(tail) >= limit:
        tail = "…"
    return text[: limit - len(tail)].rstrip() + tail


def _short(text: str, link: str = "") -> str:
    return within_limit(text, limit=COMMENT_LIMIT, link=link)


def invoice_pause_dunning(
    *,
    invoice_id: str,
    until: datetime,
    comment: str,
    key: str,
    link: str = "",
    sleep: Sleep = time.sleep,
) -> WriteResult:
    """Chargebee stops retrying and mailing until ``until``; if Dunwell stopped working,
    Chargebee would try again on that date and its own dunning would carry on."""
    client = chargebee_client()
    params = {"expected_payment_date": int(until.timestamp()), "comment": _short(comment, link)}
    return _send(
        lambda: client.Invoice.pause_dunning(invoice_id, params, headers=_key(key)),
        sleep=sleep,
        keys=("invoice",),
    )


def invoice_stop_dunning(
    *, invoice_id: str, comment: str, key: str, link: str = "", sleep: Sleep = time.sleep
) -> WriteResult:
    """The invoice stays unpaid (``not_paid``) and Chargebee's own final action never runs."""
    client = chargebee_client()
    return _send(
        lambda: client.Invoice.stop_dunning(
            invoice_id, {"comment": _short(comment, link)}, headers=_key(key)
        ),
        sleep=sleep,
        keys=("invoice",),
    )


def invoice_collect_payment(
    *, invoice_id: str, amount: int | None, key: str, sleep: Sleep = time.sleep
) -> WriteResult:
    """Charge the invoice's payment method now (``amount`` None: what is left to collect).

    A declined charge raises the SDK's ``PaymentError`` (``payment_processing_failed``).
    """
    client = chargebee_client()
    params = {"amount": amount} if amount else {}
    return _send(
        lambda: client.Invoice.collect_payment(invoice_id, params, headers=_key(key)),
        sleep=sleep,
        keys=("invoice", "transaction"),
    )


def invoice_comment_add(
    *, invoice_id: str, notes: str, key: str, link: str = "", sleep: Sleep = time.sleep
) -> WriteResult:
    """A comment on the invoice; notes over Chargebee's 1,000 characters end in ``link``."""
    client = chargebee_client()
    params = {
        "entity_type": "invoice",
        "entity_id": invoice_id,
        "added_by": "Dunwell",
        "notes": within_limit(notes, limit=NOTES_LIMIT, link=link),
    }
    return _send(
        lambda: client.Comment.create(params, headers=_key(key)), sleep=sleep, keys=("comment",)
    )


def hosted_page_link(*, kind: str, customer_id: str, key: str, sleep: Sleep = time.sleep) -> str:
    """A hosted-page URL for the customer (valid 5 days): ``collect_now`` pays the
    outstanding invoices and can change the card; ``update_payment_method`` only the card."""
    client = chargebee_client()
    params = {"customer": {"id": customer_id}}
    if kind == "collect_now":
        call = lambda: client.HostedPage.collect_now(params, headers=_key(key))  # noqa: E731
    elif kind == "update_payment_method":
        call = lambda: client.HostedPage.update_payment_method(params, headers=_key(key))  # noqa: E731
    else:
        raise ValueError(f"no hosted page of kind {kind!r}")
    result = _send(call, sleep=sleep, keys=("hosted_page",))
    return result.get("hosted_page")["url"]


def invoice_record_payment(
    *,
    invoice_id: str,
    amount: int,
    paid_at: datetime,
    method: str,
    reference: str,
    comment: str,
    key: str,
    link: str = "",
    sleep: Sleep = time.sleep,
) -> WriteResult:
    client = chargebee_client()
    params = {
        "transaction": {
            "amount": amount,
            "payment_method": method,
            "reference_number": reference,
            "date": int(paid_at.timestamp()),
        },
        "comment": _short(comment, link),
    }
    return _send(
        lambda: client.Invoice.record_payment(invoice_id, params, headers=_key(key)),
        sleep=sleep,
        keys=("invoice", "transaction"),
    )


def invoice_write_off(
    *, invoice_id: str, comment: str, key: str, link: str = "", sleep: Sleep = time.sleep
) -> WriteResult:
    client = chargebee_client()
    return _send(
        lambda: client.Invoice.write_off(
            invoice_id, {"comment": _short(comment, link)}, headers=_key(key)
        ),
        sleep=sleep,
        keys=("invoice", "credit_note"),
    )


def invoice_void(
    *, invoice_id: str, comment: str, key: str, link: str = "", sleep: Sleep = time.sleep
) -> WriteResult:
    client = chargebee_client()
    return _send(
        lambda: client.Invoice.void_invoice(
            invoice_id, {"comment": _short(comment, link)}, headers=_key(key)
        ),
        sleep=sleep,
        keys=("invoice", "credit_note"),
    )


def subscription_cancel(
    *, subscription_id: str, key: str, reason_code: str = "", sleep: Sleep = time.sleep
) -> WriteResult:
    """Cancel now (not at the term's end): the end-of-dunning "cancel" final action.

    ``reason_code`` must be one the site has configured (Chargebee's API cannot list them:
    ``CHARGEBEE_CANCEL_REASON_CODE``, checked at start); blank sends none.
    """
    client = chargebee_client()
    params: dict = {"end_of_term": False}
    if reason_code:
        params["cancel_reason_code"] = reason_code
    return _send(
        lambda: client.Subscription.cancel_for_items(subscription_id, params, headers=_key(key)),
        sleep=sleep,
        keys=("subscription", "customer"),
    )


def payment_schedule_scheme_create(
    *,
    name: str,
    number_of_schedules: int,
    period_unit: str,
    period: int,
    key: str,
    sleep: Sleep = time.sleep,
) -> WriteResult:
    """A scheme: ``number_of_schedules`` parts, one every ``period`` ``period_unit``s."""
    client = chargebee_client()
    params = {
        "name": name[:100],
        "number_of_schedules": number_of_schedules,
        "period_unit": period_unit,
        "period": period,
    }
    return _send(
        lambda: client.PaymentScheduleScheme.create(params, headers=_key(key)),
        sleep=sleep,
        keys=("payment_schedule_scheme",),
    )


def invoice_apply_payment_schedule_scheme(
    *, invoice_id: str, scheme_id: str, amount: int, key: str, sleep: Sleep = time.sleep
) -> WriteResult:
    """Chargebee splits ``amount`` of the invoice (payment due) by the scheme and collects
    each part on its date."""
    client = chargebee_client()
    params = {"scheme_id": scheme_id, "amount": amount}
    return _send(
        lambda: client.Invoice.apply_payment_schedule_scheme(invoice_id, params, headers=_key(key)),
        sleep=sleep,
        keys=("invoice",),
    )


def invoice_payment_schedules(
    *, invoice_id: str, priority: Priority = Priority.BACKFILL, sleep: Sleep = time.sleep
) -> list[dict]:
    """The invoice's payment schedules as Chargebee reports them now (a read)."""
    client = chargebee_client()
    response = call_with_backoff(
        lambda: client.Invoice.payment_schedules(invoice_id), priority=priority, sleep=sleep
    )
    return [schedule.raw_data for schedule in response.payment_schedules or []]
