"""The event log's filters: by type, state, the day it occurred, or the start of its id."""

from __future__ import annotations

from typing import Any

from django import forms
from django_filters import CharFilter, ChoiceFilter, DateFilter, FilterSet

from dunning.models import EventState


class OccurredRangeForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class EventFilter(FilterSet):
    event_type = CharFilter(max_length=80)
    state = ChoiceFilter(choices=EventState.choices, empty_label="Any state")
    # Whole days as the admin picks them, in the site's time zone.
    occurred_from = DateFilter(
        field_name="occurred_at",
        lookup_expr="date__gte",
        label="Occurred from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    occurred_to = DateFilter(
        field_name="occurred_at",
        lookup_expr="date__lte",
        label="Occurred to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    # A prefix: the admin pastes the part of the id a log line or Chargebee showed.
    q = CharFilter(
        field_name="event_id", lookup_expr="startswith", max_length=100, label="Event id"
    )

    class Meta:
        form = OccurredRangeForm
