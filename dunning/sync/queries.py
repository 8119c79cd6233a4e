"""Read-side queries for the dunning pages."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from dunning.models import ChargebeeEvent


def events_newest_first() -> QuerySet[ChargebeeEvent]:
    return ChargebeeEvent.objects.defer("payload", "outcome").order_by("-occurred_at", "-id")


def event_type_choices() -> list[str]:
    return list(
        ChargebeeEvent.objects.order_by("event_type")
        .values_list("event_type", flat=True)
        .distinct()
    )


def event_state_counts() -> dict[str, int]:
    rows = ChargebeeEvent.objects.values("state").annotate(n=Count("id")).order_by()
    return {row["state"]: row["n"] for row in rows}
