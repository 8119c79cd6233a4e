"""A statement compiled once answers every later call as the queryset itself would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, Exists, OuterRef, Subquery

from dunning.helpers.compiled_queries import CompiledQuery
from dunning.models import ChargebeeEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=UTC)


def _events():
    for n in range(30):
        ChargebeeEvent.objects.create(
            event_id=f"ev_{n}",
            event_type=("payment_failed", "payment_succeeded")[n % 2],
            occurred_at=START + timedelta(hours=7 * n),
            attempts=n % 4,
            payload={"n": n},
        )


def _window(*, event_type: str, since: datetime, until: datetime, attempts: int):
    same_type = ChargebeeEvent.objects.filter(event_type=OuterRef("event_type"))
    return (
        ChargebeeEvent.objects.filter(
            event_type=event_type, occurred_at__gte=since, occurred_at__lt=until
        )
        .exclude(attempts=attempts)
        .annotate(
            earlier=Subquery(
                same_type.filter(occurred_at__lt=OuterRef("occurred_at"))
                .order_by()
                .values("event_type")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            )
        )
        .order_by("occurred_at")
        .values("event_id", "occurred_at", "earlier")
    )


@pytest.mark.parametrize("calls", [[0, 40, 100], [100, 0, 13]])
def test_later_calls_answer_what_the_queryset_answers(calls):
    _events()
    compiled = CompiledQuery(_window)
    for hours in calls:
        arguments = {
            "event_type": "payment_failed",
            "since": START + timedelta(hours=hours),
            "until": START + timedelta(hours=hours + 60, microseconds=1),
            "attempts": hours % 4,
        }
        expected = list(_window(**arguments))
        assert compiled.rows(**arguments) == expected
        assert expected, "each window holds events"


def test_a_shape_is_compiled_once_then_only_bound():
    _events()
    built = []

    def build(**arguments):
        built.append(arguments)
        return _window(**arguments)

    compiled = CompiledQuery(build)
    for day in range(5):
        compiled.rows(
            event_type="payment_succeeded",
            since=START + timedelta(days=day),
            until=START + timedelta(days=day + 3),
            attempts=1,
        )

    assert len(built) == 5, "once as asked, once per argument changed, then never again"


def test_values_come_back_as_django_gives_them():
    _events()
    ChargebeeEvent.objects.filter(event_id="ev_3").update(processed_at=START)

    def processed(*, event_id: str):
        return ChargebeeEvent.objects.filter(event_id=event_id).values(
            "processed_at",
            "attempts",
            done=Exists(
                ChargebeeEvent.objects.filter(pk=OuterRef("pk"), processed_at__isnull=False)
            ),
        )

    compiled = CompiledQuery(processed)
    assert compiled.rows(event_id="ev_3") == [{"processed_at": START, "attempts": 3, "done": True}]
    assert compiled.rows(event_id="ev_4") == [{"processed_at": None, "attempts": 0, "done": False}]


def test_a_value_the_sql_transforms_is_compiled_every_time_and_still_right():
    _events()

    def prefixed(*, start: str):
        return ChargebeeEvent.objects.filter(event_id__startswith=start).values("event_id")

    compiled = CompiledQuery(prefixed)
    for start in ("ev_1", "ev_2", "ev_29"):
        assert compiled.rows(start=start) == list(prefixed(start=start))
