from __future__ import annotations

from django import forms

from dunning.models import EventState


class EventFilterForm(forms.Form):
    event_type = forms.CharField(required=False, max_length=80)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *EventState.choices])
    occurred_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    occurred_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(required=False, max_length=100, label="Event id")

    def clean(self):
        data = super().clean()
        start, end = data.get("occurred_from"), data.get("occurred_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return data
