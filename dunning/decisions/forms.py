"""Forms for the guardrails page and the decision list's filters."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from dunning.decisions.policy_settings.guardrail_edits import FIELD_LABELS
from dunning.decisions.policy_settings.segments import SEGMENT_LABELS, SEGMENTS
from dunning.decisions.timing.exploration import MAX_EXPLORATION_SHARE
from dunning.models import AutomationMode, GuardrailPolicy

MODE_CHOICES = [(value, label.split(":")[0]) for value, label in AutomationMode.choices]
PERCENT = {"min_value": 0, "max_value": 100, "max_digits": 5, "decimal_places": 2}
MONEY = {"min_value": 0, "max_digits": 14, "decimal_places": 2}
LIMIT_FIELDS = (
    "review_threshold",
    "review_amount",
    "review_ltv",
    "contacts_per_week",
    "confidence_floor",
    "max_retries",
    "dunning_window_days",
    "exploration_share",
)


def mode_field_name(segment: str) -> str:
    return f"mode_{segment}"


class GuardrailForm(forms.Form):
    """The editable guardrails in the units people think in (percent, currency units)."""

    default_mode = forms.ChoiceField(choices=MODE_CHOICES, label=FIELD_LABELS["default_mode"])
    review_threshold = forms.DecimalField(
        label=f"{FIELD_LABELS['review_threshold']} (%)",
        **PERCENT,
        help_text="A human looks at decisions less likely than this to recover.",
    )
    review_amount = forms.DecimalField(
        label=f"{FIELD_LABELS['review_amount']} (amount)",
        **MONEY,
        help_text="In the main currency, e.g. 1,000.00. Invoices at or above always need review.",
    )
    review_ltv = forms.DecimalField(
        label=f"{FIELD_LABELS['review_ltv']} (amount)",
        **MONEY,
        help_text="In the main currency. Customers worth this much or more always get a human.",
    )
    contacts_per_week = forms.IntegerField(
        label=FIELD_LABELS["contacts_per_week"], min_value=0, max_value=21
    )
    confidence_floor = forms.DecimalField(
        label=f"{FIELD_LABELS['confidence_floor']} (%)",
        help_text="When the best retry slot is less likely than this, "
        "Chargebee's own schedule is kept.",
        **PERCENT,
    )
    # Visa allows 20 reattempts in 30 days; Dunwell never plans more than that.
    max_retries = forms.IntegerField(label=FIELD_LABELS["max_retries"], min_value=0, max_value=20)
    dunning_window_days = forms.IntegerField(
        label=f"{FIELD_LABELS['dunning_window_days']} (days)", min_value=1, max_value=120
    )
    exploration_share = forms.DecimalField(
        label=f"{FIELD_LABELS['exploration_share']} (%)",
        min_value=0,
        max_value=MAX_EXPLORATION_SHARE * 100,
        max_digits=5,
        decimal_places=2,
        help_text="In auto mode only (shadow and approve never explore): this share of "
        "retries goes to a random slot the rules allow, so a new retry model can be judged "
        "on Dunwell's own retries before anyone activates it.",
    )
    note = forms.CharField(
        label="Why are you changing this?",
        max_length=300,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. growth moves to approve after the pilot"}
        ),
        error_messages={
            "required": "Say why you are changing the guardrails (it goes in history)."
        },
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, policy: GuardrailPolicy, read_only: bool = False, **kwargs):
        super().__init__(*args, initial=self.initial_of(policy), **kwargs)
        modes = [("", "Same as other segments"), *MODE_CHOICES]
        for segment in reversed(SEGMENTS):
            field = forms.ChoiceField(choices=modes, required=False, label=SEGMENT_LABELS[segment])
            self.fields = {mode_field_name(segment): field, **self.fields}
        for name in self.fields:
            self.fields[name].disabled = read_only
        self.read_only = read_only

    @staticmethod
    def initial_of(policy: GuardrailPolicy) -> dict:
        initial = {
            "default_mode": policy.default_mode,
            "review_threshold": _percent(policy.review_threshold),
            "review_amount": Decimal(policy.review_amount) / 100,
            "review_ltv": Decimal(policy.review_ltv) / 100,
            "contacts_per_week": policy.contacts_per_week,
            "confidence_floor": _percent(policy.confidence_floor),
            "max_retries": policy.max_retries,
            "dunning_window_days": policy.dunning_window_days,
            "exploration_share": _percent(policy.exploration_share),
            "based_on": policy.version,
        }
        for segment in SEGMENTS:
            initial[mode_field_name(segment)] = policy.segment_modes.get(segment, "")
        return initial

    def segment_fields(self):
        return [self[mode_field_name(segment)] for segment in SEGMENTS]

    def limit_fields(self):
        return [self[name] for name in LIMIT_FIELDS]

    def changes(self) -> dict:
        """Cleaned values as GuardrailPolicy stores them (fractions, minor units)."""
        data = self.cleaned_data
        return {
            "segment_modes": {
                segment: data[mode_field_name(segment)]
                for segment in SEGMENTS
                if data[mode_field_name(segment)]
            },
            "default_mode": data["default_mode"],
            "review_threshold": float(data["review_threshold"] / 100),
            "review_amount": int(data["review_amount"] * 100),
            "review_ltv": int(data["review_ltv"] * 100),
            "contacts_per_week": data["contacts_per_week"],
            "confidence_floor": float(data["confidence_floor"] / 100),
            "max_retries": data["max_retries"],
            "dunning_window_days": data["dunning_window_days"],
            "exploration_share": float(data["exploration_share"] / 100),
        }


def _percent(fraction: float) -> Decimal:
    return Decimal(str(round(fraction * 100, 2)))
