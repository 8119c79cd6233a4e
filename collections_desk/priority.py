"""A case's priority and SLA, in SQL so 50,000 open cases are refreshed by one UPDATE.

priority = (expected recovery + 10% of the amount due + 1% of lifetime value), in major
units, x (1 + age bonus + SLA bonus).

- Expected recovery is the amount due x the case's recovery rate: the latest decision's
  score, else the historical rate of its decline category or segment, labelled so
  (``collections_desk.recovery_rates``); 0 when neither is known. Money the desk can still
  bring back comes first.
- The amount share keeps a large, unlikely invoice from sinking to the bottom; the LTV
  share puts long-standing customers ahead of equal amounts.
- Age: +0.1 after 3 days open, +0.25 after 7, +0.5 after 14.
- SLA: +0.5 when the SLA is due within a day, +1 once it is breached.
- A broken promise to pay: +1 until a new promise is made (``collections_desk.promises``).

The SLA is the time by which a case should be resolved, per segment
(``COLLECTIONS_SLA_HOURS``). The stored value is refreshed at every sync of the case and by
the periodic ``cases_refresh_job``; between refreshes the age and SLA bonuses can be up to
one interval late, which moves a case by at most one bucket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case as SqlCase
from django.db.models import F, FloatField, QuerySet, Value, When
from django.db.models.functions import Cast

DEFAULT_SLA_HOURS = {"enterprise": 8, "growth": 24, "self_serve": 72}
DUE_SOON = timedelta(hours=24)


def sla_hours(segment: str) -> int:
    hours = {**DEFAULT_SLA_HOURS, **getattr(settings, "COLLECTIONS_SLA_HOURS", {})}
    return hours.get(segment, max(hours.values()))


def sla_due(*, segment: str, opened_at: datetime) -> datetime:
    return opened_at + timedelta(hours=sla_hours(segment))


BROKEN_PROMISE_BONUS = 1.0


def expected_recovery(*, amount_due: int, recovery_rate: float | None) -> int:
    return 0 if recovery_rate is None else round(amount_due * recovery_rate)


def _bonus(*steps: tuple[str, datetime, float]) -> SqlCase:
    return SqlCase(
        *[When(**{f"{field}__lte": moment}, then=Value(bonus)) for field, moment, bonus in steps],
        default=Value(0.0),
        output_field=FloatField(),
    )


def priority_expression(*, now: datetime):
    age = _bonus(
        ("opened_at", now - timedelta(days=14), 0.5),
        ("opened_at", now - timedelta(days=7), 0.25),
        ("opened_at", now - timedelta(days=3), 0.1),
    )
    sla = _bonus(("sla_due_at", now, 1.0), ("sla_due_at", now + DUE_SOON, 0.5))
    broken = SqlCase(
        When(promise_broken_at__isnull=False, then=Value(BROKEN_PROMISE_BONUS)),
        default=Value(0.0),
        output_field=FloatField(),
    )
    value = (
        Cast(F("expected_recovery"), FloatField())
        + Cast(F("amount_due"), FloatField()) * Value(0.1)
        + Cast(F("lifetime_value"), FloatField()) * Value(0.01)
    ) / Value(100.0)
    return value * (Value(1.0) + age + sla + broken)


def cases_priority_refresh(*, cases: QuerySet, now: datetime) -> int:
    return cases.update(priority=priority_expression(now=now))


def sla_status(*, sla_due_at: datetime, now: datetime) -> str:
    """ "breached", "due_soon" or "on_track": the badge the queue shows."""
    if sla_due_at <= now:
        return "breached"
    if sla_due_at <= now + DUE_SOON:
        return "due_soon"
    return "on_track"
