"""The rollout page's switch: one segment, the mode it moves to, why, and the version shown."""

from __future__ import annotations

from django import forms

from analytics.rollout import NOTE_LIMIT
from dunning.decisions.policy_settings.segments import SEGMENTS
from dunning.models import AutomationMode


class RolloutSwitchForm(forms.Form):
    segment = forms.ChoiceField(choices=[(s, s) for s in SEGMENTS])
    mode = forms.ChoiceField(choices=AutomationMode.choices)
    reason = forms.CharField(required=False, max_length=NOTE_LIMIT - 60, strip=True)
    based_on = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
