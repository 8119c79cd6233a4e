"""The recent decisions list's filters: by mode, segment and trigger, or one invoice or
customer by its id."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import CharFilter, ChoiceFilter, FilterSet

from dunning.decisions.forms import MODE_CHOICES
from dunning.decisions.policy_settings.segments import SEGMENT_NAMES, SEGMENTS
from dunning.models import Decision


class DecisionFilter(FilterSet):
    mode = ChoiceFilter(choices=MODE_CHOICES, empty_label="Any mode")
    segment = ChoiceFilter(
        choices=[(s, SEGMENT_NAMES[s]) for s in SEGMENTS], empty_label="Any segment"
    )
    trigger = ChoiceFilter(choices=Decision.Trigger.choices, empty_label="Any trigger")
    q = CharFilter(method="invoice_or_customer", max_length=100, label="Invoice or customer id")

    def invoice_or_customer(
        self, decisions: QuerySet[Decision], name: str, value: str
    ) -> QuerySet[Decision]:
        # One box for both ids: people paste whichever Chargebee showed them.
        return decisions.filter(Q(invoice_id=value) | Q(customer_id=value))
