"""Forms for the desk: the queue's filters and bulk actions, notes, assignment, approvals."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User

from collections_desk.ageing import BUCKET_CHOICES
from collections_desk.models import QUEUE_STATES, Case, CaseState, Team
from dunning.actions.state_machine import CHANNELS, MESSAGE_MAX_CHARS
from dunning.decisions.labels import CATEGORIES, label
from dunning.decisions.policy_settings.segments import SEGMENTS

MAX_BULK = 100
# A bulk approval binds every id it covers: more than this is refused, never cut short.
MAX_BULK_APPROVALS = 500


class QueueFilterForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="All my teams"
    )
    assignee = forms.CharField(required=False, max_length=150, widget=forms.Select(choices=[]))
    decline_category = forms.ChoiceField(required=False, label="Decline category")
    segment = forms.ChoiceField(
        required=False, choices=[("", "All"), *[(s, label(s, "segment")) for s in SEGMENTS]]
    )
    state = forms.ChoiceField(
        required=False, choices=[("", "Open, in progress or escalated"), *CaseState.choices]
    )
    age = forms.ChoiceField(
        required=False, label="Overdue", choices=[("", "Any age"), *BUCKET_CHOICES]
    )
    chargebee = forms.ChoiceField(
        required=False,
        label="Chargebee dunning",
        choices=[
            ("", "Any"),
            ("gave_up", "Exhausted: Chargebee gave up"),
            ("retrying", "Not exhausted"),
        ],
    )
    # Offline payers (auto_collection off): reminders instead of retries.
    collection = forms.ChoiceField(
        required=False,
        label="Collection",
        choices=[("", "Any"), ("offline", "Offline payers"), ("automatic", "Card / automatic")],
    )

    def __init__(self, *args, teams, assignees: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        # The categories the cases carry, and the usual ones: a category is never typed.
        seen = set(
            Case.objects.exclude(decline_category="")
            .values_list("decline_category", flat=True)
            .distinct()
        )
        self.fields["decline_category"].choices = [
            ("", "Any"),
            *[(c, label(c, "category")) for c in sorted(seen | set(CATEGORIES))],
        ]
        self.fields["assignee"].widget.choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *[(name, name) for name in assignees],
        ]

    def clean_assignee(self) -> str:
        value = self.cleaned_data["assignee"]
        if value and value not in dict(self.fields["assignee"].widget.choices):
            raise forms.ValidationError("Choose someone from the list.")
        return value

    def clean_state(self) -> list[str]:
        state = self.cleaned_data["state"]
        return [state] if state else list(QUEUE_STATES)


class QueueBulkForm(forms.Form):
    cases = forms.TypedMultipleChoiceField(
        coerce=int, choices=[], error_messages={"required": "Tick at least one case."}
    )
    operation = forms.ChoiceField(choices=[("claim", "Claim"), ("assign", "Assign to")])
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, to_field_name="username"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here: access to each case is checked one by one in the service.
        self.fields["cases"].valid_value = lambda value: str(value).isdigit()

    def clean_cases(self) -> list[int]:
        cases = self.cleaned_data["cases"]
        if len(cases) > MAX_BULK:
            raise forms.ValidationError(f"At most {MAX_BULK} cases at once.")
        return cases

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("operation") == "assign" and not cleaned.get("assignee"):
            self.add_error("assignee", "Choose whom to assign the cases to.")
        return cleaned


class NoteForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "aria-label": "Note"}),
        max_length=5000,
        label="Add a note",
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        to_field_name="username",
        empty_label="Nobody (back to the queue)",
    )


class ApproveForm(forms.Form):
    fingerprint = forms.CharField(max_length=64, min_length=64)


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, widget=forms.TextInput(attrs={"placeholder": "Why not?"})
    )


class EditActionForm(ApproveForm):
    text = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX_CHARS,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    channel = forms.ChoiceField(choices=[(c, c.replace("_", "-")) for c in CHANNELS])
    scheduled_for = forms.DateTimeField(
        required=False,
        label="Send at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class BulkApproveForm(forms.Form):
    """``approve`` carries "<action id>:<fingerprint shown>" for every ticked action."""

    approve = forms.MultipleChoiceField(
        choices=[], error_messages={"required": "Tick at least one action."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approve"].valid_value = lambda value: True

    def clean_approve(self) -> dict[int, str]:
        shown = {}
        if len(self.cleaned_data["approve"]) > MAX_BULK_APPROVALS:
            raise forms.ValidationError(f"At most {MAX_BULK_APPROVALS} actions at once.")
        for value in self.cleaned_data["approve"]:
            pk, _, fingerprint = value.partition(":")
            if not pk.isdigit() or len(fingerprint) != 64:
                raise forms.ValidationError(f"{value!r} is not an action and its fingerprint.")
            shown[int(pk)] = fingerprint
        return shown


class BulkApproveConfirmForm(BulkApproveForm):
    """The confirmation: the count the person read, why, and that they mean it."""

    count = forms.IntegerField(
        min_value=1, error_messages={"required": "Confirm how many actions you approve."}
    )
    reason = forms.CharField(
        max_length=300,
        strip=True,
        error_messages={"required": "Say why these are approved together."},
    )
    confirm = forms.BooleanField(
        error_messages={"required": "Tick the box to confirm the count and the total."}
    )

    def clean(self):
        data = super().clean()
        shown, count = data.get("approve"), data.get("count")
        if shown is not None and count is not None and count != len(shown):
            raise forms.ValidationError(
                f"You confirmed {count} actions but {len(shown)} were sent: look again."
            )
        return data
