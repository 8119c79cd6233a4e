"""Forms for the prompt-template editor."""

from __future__ import annotations

from django import forms

from dunning.actions.channels.prompts import MAX_TEMPLATE_CHARS
from dunning.models import Channel, Purpose


class PromptChoiceForm(forms.Form):
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.RETRY_SCHEDULED)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)


class PromptTemplateForm(PromptChoiceForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false"}),
        max_length=MAX_TEMPLATE_CHARS,
        strip=False,
    )
    note = forms.CharField(max_length=300, label="Why this change", required=True)
    based_on = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
