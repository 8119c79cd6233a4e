"""The outbox's filters: by channel, status and purpose, or one customer or invoice by its id."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django_filters import CharFilter, ChoiceFilter, FilterSet

from dunning.models import Channel, OutboundMessage, Purpose


class OutboxFilter(FilterSet):
    channel = ChoiceFilter(choices=Channel.choices, empty_label="any")
    status = ChoiceFilter(choices=OutboundMessage.Status.choices, empty_label="any")
    purpose = ChoiceFilter(choices=Purpose.choices, empty_label="any")
    q = CharFilter(method="customer_or_invoice", max_length=100, label="Customer or invoice id")

    def customer_or_invoice(
        self, messages: QuerySet[OutboundMessage], name: str, value: str
    ) -> QuerySet[OutboundMessage]:
        # One box for both ids: people paste whichever Chargebee showed them.
        return messages.filter(Q(customer_id=value) | Q(invoice_id=value))
