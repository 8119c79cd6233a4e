"""The experiment design form: the design figures, and one row per variant."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from analytics.experiments.service import VariantSpec
from analytics.experiments.stats import sample_size_per_variant
from analytics.models import Experiment
from dunning.decisions.labels import label
from dunning.decisions.policy_settings.segments import SEGMENTS
from dunning.decisions.policy_settings.sequence import CHANNELS, OFFERS, TIMINGS, TONES

KEEP = ("", "as the default sequence")


def _choices(values, kind: str) -> list[tuple[str, str]]:
    """Each value with its label: what people pick from, the code what is stored."""
    return [(value, label(value, kind)) for value in values]


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=120)
    hypothesis = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you expect, and why: e.g. an SMS first reaches people who miss email.",
    )
    segment = forms.ChoiceField(
        choices=[("", "every segment"), *[(s, label(s, "segment")) for s in SEGMENTS]],
        required=False,
    )
    baseline_rate = forms.FloatField(
        min_value=1,
        max_value=99,
        initial=40,
        label="Baseline recovery rate (%)",
        help_text="Today's recovery rate within the window, from the Recovery page.",
    )
    minimum_effect = forms.FloatField(
        min_value=0.5,
        max_value=50,
        initial=10,
        label="Smallest effect worth finding (points)",
    )
    alpha = forms.FloatField(
        min_value=0.001, max_value=0.2, initial=0.05, label="Significance level (alpha)"
    )
    power = forms.FloatField(min_value=0.5, max_value=0.99, initial=0.8)
    window_days = forms.IntegerField(
        min_value=1, max_value=120, initial=28, label="Dunning window (days)"
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Experiment.objects.filter(name=name).exists():
            raise forms.ValidationError("An experiment with this name exists already.")
        return name

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        baseline, effect = data["baseline_rate"] / 100, data["minimum_effect"] / 100
        try:
            sample_size_per_variant(
                baseline=baseline, effect=effect, alpha=data["alpha"], power=data["power"]
            )
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None
        data["baseline_rate"], data["minimum_effect"] = baseline, effect
        return data


class VariantForm(forms.Form):
    key = forms.SlugField(max_length=30, required=False)
    label = forms.CharField(max_length=120, required=False)
    channel = forms.ChoiceField(choices=[KEEP, *_choices(CHANNELS, "channel")], required=False)
    tone = forms.ChoiceField(choices=[KEEP, *_choices(TONES, "tone")], required=False)
    timing = forms.ChoiceField(choices=[KEEP, *_choices(TIMINGS, "timing")], required=False)
    delay_hours = forms.IntegerField(
        min_value=1, max_value=24 * 14, required=False, help_text="for a fixed delay"
    )
    offer = forms.ChoiceField(choices=[KEEP, *OFFERS.items()], required=False)
    weight = forms.IntegerField(min_value=1, max_value=100, initial=1, required=False)
    is_control = forms.BooleanField(required=False, label="control")

    def clean(self):
        data = super().clean()
        if data.get("key") and not data.get("label"):
            self.add_error("label", "Give the variant a label.")
        if data.get("timing") == "fixed_delay" and not data.get("delay_hours"):
            self.add_error("delay_hours", "A fixed delay needs its hours.")
        return data

    def spec(self) -> VariantSpec:
        data = self.cleaned_data
        params = {name: data[name] for name in ("channel", "tone", "timing", "offer") if data[name]}
        if data.get("delay_hours"):
            params["delay_hours"] = data["delay_hours"]
        return VariantSpec(
            key=data["key"],
            label=data["label"],
            params=params,
            weight=data.get("weight") or 1,
            is_control=data["is_control"],
        )


class BaseVariantFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        used = [f for f in self.forms if f.cleaned_data.get("key")]
        keys = [f.cleaned_data["key"] for f in used]
        if len(used) < 2:
            raise forms.ValidationError("An experiment needs a control and at least one variant.")
        if len(set(keys)) != len(keys):
            raise forms.ValidationError("Each variant needs its own key.")
        if sum(1 for f in used if f.cleaned_data["is_control"]) != 1:
            raise forms.ValidationError("Mark exactly one variant as the control.")

    def specs(self) -> list[VariantSpec]:
        return [f.spec() for f in self.forms if f.cleaned_data.get("key")]


VariantFormSet = formset_factory(
    VariantForm, formset=BaseVariantFormSet, extra=0, max_num=6, absolute_max=6, validate_max=True
)
VARIANT_INITIAL = [
    {"key": "control", "label": "Today's sequence", "is_control": True, "weight": 1},
    {"key": "variant-b", "label": "Variant B", "weight": 1},
    {"key": "", "label": "", "weight": 1},
]


class PromoteForm(forms.Form):
    variant = forms.SlugField(max_length=30)
    note = forms.CharField(max_length=500, required=False)
