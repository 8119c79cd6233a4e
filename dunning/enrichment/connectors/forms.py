"""The Connections form: one field per non-secret setting (credentials never appear here)."""

from __future__ import annotations

from django import forms
from django.utils.safestring import mark_safe

from dunning.enrichment.connectors.config import (
    CARD_UPDATER_CHOICES,
    ESCALATION_CHOICES,
    MAX_ROW_LIMIT,
    MAX_TIMEOUT_SECONDS,
    SMS_CHOICES,
    SUPPORT_SIGNAL_CHOICES,
    USAGE_SIGNAL_CHOICES,
)
from dunning.governance.versioned_pages import VersionedForm

# A flat field "salesforce__instance_url" is data["salesforce"]["instance_url"].
SEPARATOR = "__"


# What each stored choice means, in the words of the page.
CHOICE_WORDS = {
    "local": "A ticket in Dunwell only",
    "http": "A JSON POST to ESCALATION_WEBHOOK_URL",
    "salesforce": "Salesforce (a Case)",
    "hubspot": "HubSpot (a ticket)",
    "zendesk": "Zendesk (a ticket)",
    "none": "Nowhere (off)",
    "sql": "A read-only SQL query",
    "default": "CARD_UPDATER_URL (in the demo: the sandbox's updater)",
    "stripe": "Stripe",
    "webhook": "SMS_WEBHOOK_URL, else the local outbox",
    "twilio": "Twilio",
}


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, CHOICE_WORDS.get(value, value.replace("_", " "))) for value in values]


class ConnectionsForm(VersionedForm):
    escalation = forms.ChoiceField(choices=_choices(ESCALATION_CHOICES), label="Escalations go to")
    support_signals = forms.ChoiceField(
        choices=_choices(SUPPORT_SIGNAL_CHOICES), label="Support tickets and sentiment from"
    )
    usage_signals = forms.ChoiceField(
        choices=_choices(USAGE_SIGNAL_CHOICES), label="Product usage from"
    )
    card_updater = forms.ChoiceField(choices=_choices(CARD_UPDATER_CHOICES), label="Card updater")
    sms = forms.ChoiceField(
        choices=_choices(SMS_CHOICES),
        label="SMS go through",
        help_text="webhook: SMS_WEBHOOK_URL, or the local outbox when it is unset",
    )
    salesforce__instance_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Salesforce instance URL",
        help_text="https://yourcompany.my.salesforce.com",
    )
    salesforce__api_version = forms.RegexField(
        regex=r"^v\d{2,3}\.\d$", label="Salesforce API version"
    )
    salesforce__case_origin = forms.CharField(max_length=40, label="Salesforce Case origin")
    hubspot__base_url = forms.URLField(assume_scheme="https", label="HubSpot API URL")
    hubspot__pipeline = forms.CharField(max_length=40, label="HubSpot ticket pipeline id")
    hubspot__stage = forms.CharField(max_length=40, label="HubSpot pipeline stage id")
    zendesk__base_url = forms.URLField(
        assume_scheme="https",
        required=False,
        label="Zendesk URL",
        help_text="https://yourcompany.zendesk.com",
    )
    zendesk__email = forms.EmailField(
        required=False, label="Zendesk agent email (for the API token)"
    )
    usage_sql__query = forms.CharField(
        required=False,
        label="Usage query",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=mark_safe(  # a constant: the names people type, shown as code
            "Named parameters <code>:customer_id</code> (and <code>:at</code>); returns the "
            "columns <code>month_start</code> and <code>sessions</code>."
        ),
    )
    usage_sql__timeout_seconds = forms.IntegerField(
        min_value=1, max_value=MAX_TIMEOUT_SECONDS, label="Usage query timeout (s)"
    )
    usage_sql__row_limit = forms.IntegerField(
        min_value=1, max_value=MAX_ROW_LIMIT, label="Usage query row limit"
    )
    stripe__base_url = forms.URLField(assume_scheme="https", label="Stripe API URL")
    twilio__base_url = forms.URLField(assume_scheme="https", label="Twilio API URL")
    twilio__account_sid = forms.RegexField(
        regex=r"^(AC[0-9a-fA-F]{32})?$",
        required=False,
        label="Twilio Account SID",
        error_messages={"invalid": "The Account SID is AC followed by 32 hexadecimal digits."},
    )
    twilio__from_number = forms.RegexField(
        regex=r"^(\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11})?$",
        required=False,
        label="Twilio From number",
        help_text="E.164 (+15005550006) or an alphanumeric sender ID",
    )
    twilio__messaging_service_sid = forms.RegexField(
        regex=r"^(MG[0-9a-fA-F]{32})?$",
        required=False,
        label="Twilio Messaging Service SID (instead of a From number)",
    )

    @classmethod
    def initial_from(cls, data: dict, *, version: int) -> dict:
        initial = {"based_on": version}
        for name in cls.base_fields:
            section, sep, key = name.partition(SEPARATOR)
            if sep:
                initial[name] = (data.get(section) or {}).get(key)
            elif name in data:
                initial[name] = data[name]
        return initial

    def document(self) -> dict:
        data: dict = {}
        for name, value in self.cleaned_data.items():
            if name in ("note", "based_on"):
                continue
            section, sep, key = name.partition(SEPARATOR)
            if sep:
                data.setdefault(section, {})[key] = (
                    value.strip() if isinstance(value, str) else value
                )
            else:
                data[name] = value
        return data
