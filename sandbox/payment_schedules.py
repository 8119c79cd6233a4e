"""Chargebee's payment schedules in the sandbox: schemes, applying one to an invoice, reading
the schedules back, in the shapes of Chargebee's API (payment_schedule_schemes, invoices'
apply_payment_schedule_scheme and payment_schedules, payment_schedules list).

Applying a scheme splits the amount into ``number_of_schedules`` entries, the first dated
now and each next one ``period`` ``period_unit``s later (the remainder of the division on
the last). An entry is ``paid`` once payments made on the invoice since the schedule cover
it and every earlier entry, ``payment_due`` once its date has come, else ``posted``.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from sandbox.store import Sandbox, SandboxError

MAX_SCHEDULES = {"day": 30, "week": 52, "month": 12}
MAX_PERIOD = {"day": 30, "week": 6, "month": 6}


def _one(params: dict, key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def _required_int(params: dict, key: str, *, low: int, high: int) -> int:
    raw = _one(params, key)
    try:
        value = int(raw) if raw not in (None, "") else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        why = f"{key} must be an integer between {low} and {high}"
        raise SandboxError(400, "param_wrong_value", why, param=key)
    return value


def _later(start: int, *, unit: str, steps: int) -> int:
    moment = datetime.fromtimestamp(start, tz=UTC)
    if unit == "day":
        return int((moment + timedelta(days=steps)).timestamp())
    if unit == "week":
        return int((moment + timedelta(weeks=steps)).timestamp())
    month = moment.month - 1 + steps
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def scheme_create(sb: Sandbox, params: dict) -> dict:
    unit = _one(params, "period_unit")
    if unit not in MAX_SCHEDULES:
        raise SandboxError(
            400, "param_wrong_value", "period_unit must be day, week or month", param="period_unit"
        )
    name = _one(params, "name")
    if not name:
        raise SandboxError(400, "param_wrong_value", "name cannot be blank", param="name")
    count = _required_int(params, "number_of_schedules", low=1, high=MAX_SCHEDULES[unit])
    period = 1
    if _one(params, "period") not in (None, ""):
        period = _required_int(params, "period", low=1, high=MAX_PERIOD[unit])
    with sb.lock:
        scheme = sb._touch(
            {
                "id": sb.new_id("pss"),
                "name": name[:100],
                "number_of_schedules": count,
                "period_unit": unit,
                "period": period,
                "created_at": sb.now(),
                "object": "payment_schedule_scheme",
            }
        )
        sb.payment_schedule_schemes[scheme["id"]] = scheme
    return {"payment_schedule_scheme": scheme}


def scheme_retrieve(sb: Sandbox, params: dict, scheme_id: str) -> dict:
    return {
        "payment_schedule_scheme": sb.get(
            sb.payment_schedule_schemes, scheme_id, "payment_schedule_scheme"
        )
    }


def scheme_delete(sb: Sandbox, params: dict, scheme_id: str) -> dict:
    with sb.lock:
        scheme = sb.get(sb.payment_schedule_schemes, scheme_id, "payment_schedule_scheme")
        if any(s["scheme_id"] == scheme_id for s in sb.payment_schedules.values()):
            raise SandboxError(
                409, "invalid_state_for_request", "The scheme is used by a payment schedule"
            )
        del sb.payment_schedule_schemes[scheme_id]
    return {"payment_schedule_scheme": scheme}


def invoice_apply(sb: Sandbox, params: dict, invoice_id: str) -> dict:
    with sb.lock:
        invoice = sb.get(sb.invoices, invoice_id, "invoice")
        if invoice["status"] != "payment_due":
            raise SandboxError(
                409,
                "invalid_state_for_request",
                f"Invoice {invoice_id} is {invoice['status']}: a payment schedule "
                "needs an invoice in payment_due",
            )
        scheme_id = _one(params, "scheme_id")
        if not scheme_id:
            raise SandboxError(
                400, "param_wrong_value", "scheme_id cannot be blank", param="scheme_id"
            )
        scheme = sb.get(sb.payment_schedule_schemes, scheme_id, "payment_schedule_scheme")
        amount = invoice["amount_due"]
        if _one(params, "amount") not in (None, ""):
            amount = _required_int(params, "amount", low=1, high=invoice["amount_due"])
        if any(
            s["entity_id"] == invoice_id
            for s in sb.payment_schedules.values()
            if _open_entries(sb, s)
        ):
            raise SandboxError(
                409, "invalid_state_for_request", "The invoice already has a payment schedule"
            )
        count, now = scheme["number_of_schedules"], sb.now()
        part, rest = divmod(amount, count)
        entries = [
            {
                "id": sb.new_id("se"),
                "date": _later(now, unit=scheme["period_unit"], steps=n * scheme["period"]),
                "amount": part + (rest if n == count - 1 else 0),
                "object": "schedule_entry",
            }
            for n in range(count)
        ]
        schedule = sb._touch(
            {
                "id": sb.new_id("ps"),
                "scheme_id": scheme_id,
                "entity_type": "invoice",
                "entity_id": invoice_id,
                "amount": amount,
                "created_at": now,
                "currency_code": invoice["currency_code"],
                "schedule_entries": entries,
                "object": "payment_schedule",
                # Not part of Chargebee's answer: what was paid before, to allocate what follows.
                "_paid_before": invoice["amount_paid"],
            }
        )
        sb.payment_schedules[schedule["id"]] = schedule
        sb._touch(invoice)
        sb.emit("invoice_updated", "api", invoice=invoice)
        return {"invoice": invoice}


def _open_entries(sb: Sandbox, schedule: dict) -> bool:
    return any(e["status"] != "paid" for e in shaped(sb, schedule)["schedule_entries"])


def shaped(sb: Sandbox, schedule: dict) -> dict:
    """The schedule as Chargebee answers it now: each entry's status from the payments."""
    invoice = sb.invoices[schedule["entity_id"]]
    paid = invoice["amount_paid"] - schedule["_paid_before"]
    if invoice["status"] == "paid":
        paid = schedule["amount"]
    covered, now, entries = 0, sb.now(), []
    for entry in schedule["schedule_entries"]:
        covered += entry["amount"]
        status = "paid" if paid >= covered else "payment_due" if entry["date"] <= now else "posted"
        entries.append({**entry, "status": status})
    body = {k: v for k, v in schedule.items() if not k.startswith("_")}
    return {**body, "schedule_entries": entries}


def invoice_schedules(sb: Sandbox, params: dict, invoice_id: str) -> dict:
    sb.get(sb.invoices, invoice_id, "invoice")
    schedules = [s for s in sb.payment_schedules.values() if s["entity_id"] == invoice_id]
    return {"payment_schedules": [shaped(sb, s) for s in schedules]}


def schedule_list(sb: Sandbox, params: dict) -> dict:
    invoice_id = _one(params, "invoice_id[is]")
    schedules = [
        s
        for s in sb.payment_schedules.values()
        if invoice_id is None or s["entity_id"] == invoice_id
    ]
    return {"list": [{"payment_schedule": shaped(sb, s)} for s in schedules]}


def routes(sb: Sandbox) -> list[tuple]:
    """The routes for ``SandboxAPI`` (registered in sandbox/server.py)."""
    r = re.compile
    return [
        ("POST", r(r"^/api/v2/payment_schedule_schemes$"), lambda p: scheme_create(sb, p)),
        (
            "GET",
            r(r"^/api/v2/payment_schedule_schemes/([^/]+)$"),
            lambda p, i: scheme_retrieve(sb, p, i),
        ),
        (
            "POST",
            r(r"^/api/v2/payment_schedule_schemes/([^/]+)/delete$"),
            lambda p, i: scheme_delete(sb, p, i),
        ),
        (
            "POST",
            r(r"^/api/v2/invoices/([^/]+)/apply_payment_schedule_scheme$"),
            lambda p, i: invoice_apply(sb, p, i),
        ),
        (
            "GET",
            r(r"^/api/v2/invoices/([^/]+)/payment_schedules$"),
            lambda p, i: invoice_schedules(sb, p, i),
        ),
        ("GET", r(r"^/api/v2/payment_schedules$"), lambda p: schedule_list(sb, p)),
    ]
