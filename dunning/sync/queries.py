"""Read-side queries for the dunning pages."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from dunning.models import ChargebeeEvent


def event_list(*, filters: dict) -> QuerySet[ChargebeeEvent]:
    events = ChargebeeEvent.objects.defer("payload", "outcome")
    if filters.get("event_type"):
        events = events.filter(event_type=filters["event_type"])
    if filters.get("state"):
        events = events.filter(state=filters["state"])
    if filters.get("occurred_from"):
        events = events.filter(occurred_at__date__gte=filters["occurred_from"])
    if filters.get("occurred_to"):
        events = events.filter(occurred_at__date__lte=filters["occurred_to"])
    if filters.get("q"):
        events = events.filter(event_id__startswith=filters["q"].strip())
    return events.order_by("-occurred_at", "-id")


def event_type_choices() -> list[str]:
    return list(
        ChargebeeEvent.objects.order_by("event_type")
        .values_list("event_type", flat=True)
        .distinct()
    )


def event_state_counts() -> dict[str, int]:
    rows = ChargebeeEvent.objects.values("state").annotate(n=Count("id")).order_by()
    return {row["state"]: row["n"] for row in rows}
