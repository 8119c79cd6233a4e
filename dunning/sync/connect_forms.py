from __future__ import annotations

from django import forms


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="Webhook URL",
        max_length=512,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 60}),
    )


class BackfillForm(forms.Form):
    since = forms.DateField(
        label="Replay events since (UTC)", widget=forms.DateInput(attrs={"type": "date"})
    )
