"""Forms for the settings pages: channel settings, people and roles, the history filter."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from collections_desk.models import Team
from dunning.governance.exchange_rates import exchange_rates_problems, rates_parse
from dunning.governance.roles import Role
from dunning.governance.versioned_pages import VersionedForm
from dunning.models import Channel


class ChannelSettingsForm(VersionedForm):
    quiet_hours = forms.CharField(
        max_length=11,
        required=False,
        label="Quiet hours",
        help_text="Customer's local time, e.g. 21:00-08:00. Empty: no quiet hours.",
    )
    email = forms.BooleanField(required=False, label="Email on")
    sms = forms.BooleanField(required=False, label="SMS on")
    in_app = forms.BooleanField(required=False, label="In-app on")
    sender_name = forms.CharField(max_length=80, required=False, label="Sender name")
    sender_address = forms.EmailField(max_length=200, label="From address")
    csat_survey = forms.BooleanField(
        required=False, label="Satisfaction survey after a resolved case"
    )

    field_order = [
        "quiet_hours",
        "email",
        "sms",
        "in_app",
        "sender_name",
        "sender_address",
        "csat_survey",
        "note",
        "based_on",
    ]

    @classmethod
    def initial_from(cls, data: dict) -> dict:
        enabled = data.get("enabled", {})
        return {
            "quiet_hours": data.get("quiet_hours", ""),
            **{channel: enabled.get(channel, True) for channel in Channel.values},
            "sender_name": data.get("sender_name", ""),
            "sender_address": data.get("sender_address", ""),
            "csat_survey": data.get("csat_survey", True),
        }

    def document(self) -> dict:
        data = self.cleaned_data
        return {
            "quiet_hours": data["quiet_hours"].strip(),
            "enabled": {channel: data[channel] for channel in Channel.values},
            "sender_name": data["sender_name"].strip(),
            "sender_address": data["sender_address"],
            "csat_survey": data["csat_survey"],
        }


class PersonForm(VersionedForm):
    username = forms.CharField(max_length=150, label="Person (username)")
    roles = forms.MultipleChoiceField(
        choices=[(role.value, role.value) for role in Role],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    teams = forms.MultipleChoiceField(
        choices=[], widget=forms.CheckboxSelectMultiple, required=False
    )

    field_order = ["username", "roles", "teams", "note", "based_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].choices = [
            (name, name) for name in Team.objects.values_list("name", flat=True)
        ]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if not get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError(f"There is nobody called “{username}”.")
        return username


class ExchangeRatesForm(VersionedForm):
    reporting_currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        label="Reporting currency",
        help_text="The one currency dashboard headlines are shown in, e.g. EUR.",
    )
    rates = forms.CharField(
        required=False,
        label="Rates",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One a line: a currency and what one unit of it is worth in the reporting "
        "currency, e.g. “USD 0.92” or “JPY 0.0061”.",
    )
    field_order = ["reporting_currency", "rates", "note", "based_on"]

    def clean_rates(self) -> dict[str, str]:
        rates, problems = rates_parse(self.cleaned_data["rates"])
        problems += exchange_rates_problems({"reporting_currency": "EUR", "rates": rates})
        if problems:
            raise forms.ValidationError(problems)
        return rates

    def document(self) -> dict:
        return {
            "reporting_currency": self.cleaned_data["reporting_currency"].upper(),
            "rates": self.cleaned_data["rates"],
        }
